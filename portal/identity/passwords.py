"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

import functools

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong email costs as long as a
    wrong password and response times do not tell which addresses have accounts. Made on first
    use: hashing at import would cost every worker and CLI call a full argon2 round."""
    return _hasher.hash("not-a-real-password-at-all")


def hash_with(parameters: Parameters) -> None:
    """New hashes from now on use ``parameters``; those made before still verify, each carrying
    its own. For the test suite only, which takes argon2's ``profiles.CHEAPEST``: there a sign-in
    through the form would otherwise spend 0.1-0.3 s in argon2, and the suite signs in thousands
    of times. Nothing in the portal calls this."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

"""Sign-in limits that cannot be turned against an account's owner: wrong passwords are counted per
account and address (tight), per address (looser) and per account across addresses (high), in
Redis when it is set, so that every app process shares them, and in memory when Redis is away."""

from __future__ import annotations

import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from redis import Redis

from portal.app import create_app
from tests.conftest import free_port
from tests.factories import PASSWORD
from tests.integration.sign_in_support import portal_process

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER_ADDRESS = "198.51.100.7"  # where the owner usually signs in from
OTHER_ADDRESS = "203.0.113.66"  # someone else, guessing
REDIS_URL = "redis://127.0.0.1:6379/0"


def sign_in(client, email: str, password: str, address: str):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def assert_locked_out(response, *, at_most: timedelta) -> None:
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page
    assert "Try again in" in page and "or reset your password" in page
    # The window's end, rounded up to the whole second.
    assert 0 < int(response.headers["Retry-After"]) <= at_most.total_seconds() + 1


@pytest.fixture
def limits(app, monkeypatch):
    """``limits(NAME="n per period", ...)``: the app's sign-in limits for this test only."""

    def set_limits(**settings):
        for name, value in settings.items():
            assert name in app.config, name
            monkeypatch.setitem(app.config, name, value)

    return set_limits


@pytest.fixture
def owner(org_factory, user_factory):
    return user_factory(org_factory())


def test_the_defaults(app):
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"] == "5 per 15 minutes"
    assert app.config["LOGIN_LIMIT_PER_ADDRESS"] == "30 per 15 minutes"
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES"] == "100 per hour"


def test_the_owner_signs_in_from_their_address_after_another_address_failed_ten_times(app, owner):
    guesser, owners_browser = app.test_client(), app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        statuses = [
            sign_in(guesser, owner.email, f"guess-number-{n}", OTHER_ADDRESS).status_code
            for n in range(10)
        ]
        assert statuses == [422] * 5 + [429] * 5
        # From where the guesses came, even the right password waits out the window...
        assert_locked_out(
            sign_in(guesser, owner.email, PASSWORD, OTHER_ADDRESS), at_most=timedelta(minutes=15)
        )
        # ...but the owner, from their own address, is not locked out.
        response = sign_in(owners_browser, owner.email, PASSWORD, OWNER_ADDRESS)
        assert response.status_code == 302
        assert owners_browser.get("/home").status_code == 200

        clock.shift(timedelta(minutes=15, seconds=1))
        assert sign_in(guesser, owner.email, "guess-number-11", OTHER_ADDRESS).status_code == 422


def test_attempts_refused_by_a_limit_are_not_counted(app, owner, limits):
    # Were the refused attempts counted, 40 tries from one address would use up the limit across
    # addresses and lock the owner out everywhere.
    limits(LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES="6 per hour")
    guesser = app.test_client()
    with time_machine.travel(START, tick=False):
        statuses = [
            sign_in(guesser, owner.email, f"guess-{n}", OTHER_ADDRESS).status_code
            for n in range(40)
        ]
        assert statuses.count(422) == 5 and statuses.count(429) == 35
        assert sign_in(app.test_client(), owner.email, PASSWORD, OWNER_ADDRESS).status_code == 302


def test_one_address_is_limited_across_accounts(app, owner, limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="4 per 15 minutes")
    with time_machine.travel(START, tick=False) as clock:
        for n in range(4):  # four accounts, one guess each: under the tight limit of each
            response = sign_in(app.test_client(), f"person{n}@nowhere.test", "guess", OTHER_ADDRESS)
            assert response.status_code == 422
        assert_locked_out(
            sign_in(app.test_client(), owner.email, PASSWORD, OTHER_ADDRESS),
            at_most=timedelta(minutes=15),
        )
        assert sign_in(app.test_client(), owner.email, PASSWORD, OWNER_ADDRESS).status_code == 302

        clock.shift(timedelta(minutes=15, seconds=1))
        assert sign_in(app.test_client(), owner.email, PASSWORD, OTHER_ADDRESS).status_code == 302


def test_one_account_is_limited_across_many_addresses(app, owner, limits):
    """Guessing spread over many addresses, one guess each, meets the limit across addresses:
    then the account waits, its owner included (the price of stopping distributed guessing)."""
    limits(LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES="20 per hour")
    addresses = [f"192.0.2.{n}" for n in range(1, 21)]
    with time_machine.travel(START, tick=False) as clock:
        for n, address in enumerate(addresses):
            response = sign_in(app.test_client(), owner.email, f"guess-{n}", address)
            assert response.status_code == 422, address
        assert_locked_out(
            sign_in(app.test_client(), owner.email, PASSWORD, OWNER_ADDRESS),
            at_most=timedelta(hours=1),
        )
        other = sign_in(app.test_client(), "someone-else@nowhere.test", "guess", OWNER_ADDRESS)
        assert other.status_code == 422  # only this account waits

        clock.shift(timedelta(hours=1, seconds=1))
        assert sign_in(app.test_client(), owner.email, PASSWORD, OWNER_ADDRESS).status_code == 302


def test_a_wrong_setting_is_a_clear_startup_error():
    from portal.config import ConfigurationError, from_environment

    with pytest.raises(ConfigurationError, match="LOGIN_LIMIT_PER_ADDRESS must be a rate"):
        from_environment({"LOGIN_LIMIT_PER_ADDRESS": "thirty"})


def test_the_older_setting_name_still_sets_the_tight_limit():
    from portal.config import from_environment

    config = from_environment({"LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes"})
    assert config["LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"] == "3 per 10 minutes"
    both = from_environment(
        {
            "LOGIN_LIMIT_PER_ACCOUNT": "3 per 10 minutes",
            "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS": "4 per 10 minutes",
        }
    )
    assert both["LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"] == "4 per 10 minutes"  # the new name wins


# Behind a proxy.


@pytest.fixture
def behind_a_proxy(app, db):
    """A second instance of the app, behind one trusted proxy, sharing the test's database."""
    instance = create_app(
        {
            "PORTAL_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "DATABASE_ROLE": app.config["DATABASE_ROLE"],
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
            "REDIS_URL": None,
            "TRUSTED_PROXIES": "1",
        }
    )
    instance.extensions["db"].session_factory = app.extensions["db"].session_factory
    yield instance
    instance.extensions["db"].engine.dispose()


PROXY = "10.0.0.5"


def through_proxy(client, email: str, password: str, client_address: str, forged: str = ""):
    """A sign-in as the proxy passes it on: the client's address appended to X-Forwarded-For
    (after whatever the client sent itself)."""
    forwarded = f"{forged}, {client_address}" if forged else client_address
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": forwarded},
        environ_base={"REMOTE_ADDR": PROXY},
    )


def test_behind_a_proxy_each_client_is_counted_at_its_own_address(behind_a_proxy, owner, db):
    guesser, owners_browser = behind_a_proxy.test_client(), behind_a_proxy.test_client()
    with time_machine.travel(START, tick=False):
        for n in range(5):
            assert through_proxy(guesser, owner.email, f"g{n}", OTHER_ADDRESS).status_code == 422
        # Forging X-Forwarded-For does not help: the proxy's own entry, the last, is the one read.
        forged = through_proxy(guesser, owner.email, PASSWORD, OTHER_ADDRESS, forged=OWNER_ADDRESS)
        assert_locked_out(forged, at_most=timedelta(minutes=15))
        # Everyone comes from the proxy's address, but the owner is counted at theirs.
        assert (
            through_proxy(owners_browser, owner.email, PASSWORD, OWNER_ADDRESS).status_code == 302
        )


def test_without_a_trusted_proxy_a_forged_forwarded_address_is_ignored(app, owner):
    guesser = app.test_client()
    with time_machine.travel(START, tick=False):
        for n in range(5):
            response = guesser.post(
                "/login",
                data={"email": owner.email, "password": f"g{n}"},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},  # a new address each time, it says
                environ_base={"REMOTE_ADDR": OTHER_ADDRESS},
            )
            assert response.status_code == 422
        assert_locked_out(
            sign_in(guesser, owner.email, PASSWORD, OTHER_ADDRESS), at_most=timedelta(minutes=15)
        )


# Shared through Redis, and failing safe without it. Each app below is a process of its own (as
# app servers are), so the only thing they can share is Redis. Keys carry a prefix of the test's
# own, deleted afterwards.


def http_sign_in(base_url: str, email: str, password: str) -> requests.Response:
    return requests.post(
        base_url + "/login",
        data={"email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )


@pytest.fixture
def key_prefix():
    prefix = f"portal-test-limits-{uuid.uuid4().hex}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)
    redis.close()


def process_settings(app, redis_url: str, key_prefix: str) -> dict:
    return {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "DATABASE_ROLE": app.config["DATABASE_ROLE"],
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_OPTIONS": {
            "key_prefix": key_prefix,
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
        },
        "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS": "3 per 15 minutes",
    }


@pytest.mark.redis
def test_two_app_processes_share_the_limits_through_redis(app, key_prefix, tmp_path):
    settings = process_settings(app, REDIS_URL, key_prefix)
    account = f"target-{uuid.uuid4().hex[:8]}@nowhere.test"
    with (
        portal_process(settings, tmp_path / "first.log") as first,
        portal_process(settings, tmp_path / "second.log") as second,
    ):
        assert [http_sign_in(first, account, "guess").status_code for _ in range(2)] == [422] * 2
        assert http_sign_in(second, account, "guess").status_code == 422  # the third, counted
        for server in (first, second):
            response = http_sign_in(server, account, "guess")
            assert response.status_code == 429
            assert 0 < int(response.headers["Retry-After"]) <= 901
    assert any(Redis.from_url(REDIS_URL).scan_iter(f"{key_prefix}*"))  # counted in Redis


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own (so that it can be stopped), on a free port."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]

    def start() -> subprocess.Popen:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis(port=port).ping():
                    return server
            except Exception:  # noqa: S110 - not up yet
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    servers = [start()]
    yield f"redis://127.0.0.1:{port}/0", servers, start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.redis
def test_without_redis_the_portal_answers_and_limits_in_each_process(
    app, own_redis, key_prefix, tmp_path
):
    redis_url, servers, start = own_redis
    settings = process_settings(app, redis_url, key_prefix)
    account = f"target-{uuid.uuid4().hex[:8]}@nowhere.test"
    with portal_process(settings, tmp_path / "portal.log") as portal:
        assert http_sign_in(portal, account, "guess").status_code == 422  # counted in Redis
        servers[0].kill()
        servers[0].wait(timeout=10)

        # Redis is gone: the portal still answers, and counts in its own memory.
        assert requests.get(portal + "/login", timeout=30).status_code == 200
        statuses = [http_sign_in(portal, account, "guess").status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]
        fresh = http_sign_in(portal, "someone-else@nowhere.test", "guess")
        assert fresh.status_code == 422

        # Redis back (empty): the portal finds it again within seconds (it retries after 1, 2,
        # 4... s) and counts there again.
        servers.append(start())
        back = Redis.from_url(redis_url)
        deadline = time.monotonic() + 60
        while not any(back.scan_iter(f"{key_prefix}*")) and time.monotonic() < deadline:
            account = f"target-{uuid.uuid4().hex[:8]}@nowhere.test"
            assert http_sign_in(portal, account, "guess").status_code == 422
        assert any(back.scan_iter(f"{key_prefix}*"))
        back.close()
    log = (tmp_path / "portal.log").read_text()
    assert "falling back to in-memory storage" in log
    assert '" 500 ' not in log  # no request failed

"""Settings from environment variables, with safe defaults for the embedded mode.

The embedded mode (no environment at all) runs on a SQLite file in ``instance/``, delivers jobs
inline and writes emails to the log, signing with a development key that is in the source. That
key is used only where nothing else says the portal is more than a demo: production
(``PORTAL_ENV=production``), and any setting past the embedded defaults (another database, a
``BASE_URL`` that is not loopback, ``REDIS_URL`` or ``SMTP_URL``) without an explicit
``PORTAL_ENV=development``, need a ``SECRET_KEY``; without one the portal refuses to start, in one
line, rather than sign sessions and links with a key anyone can read.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "embedded-development-key-not-for-production"  # noqa: S105
MB = 1024 * 1024
# The largest request body the app reads at all (Werkzeug answers 413 before reading more): room
# for a reply with its attachments (5 files of at most CASES_ATTACHMENT_MAX_BYTES each).
MAX_REQUEST_BYTES = 60 * MB
MAX_ATTACHMENT_BYTES = 11 * MB
# Where emailed links point unless BASE_URL says otherwise: the embedded mode on this machine.
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


# The variables ``from_environment`` reads; ``create_app(config)`` treats these keys the same way.
ENVIRONMENT_KEYS = frozenset(
    {
        "PORTAL_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "DATABASE_ROLE",
        "DATABASE_REPLICA_URL",
        "REDIS_URL",
        "SMTP_URL",
        "MAIL_FROM",
        "BASE_URL",
        "VENDOR_NAME",
        "SESSION_HOURS",
        "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS",
        "LOGIN_LIMIT_PER_ADDRESS",
        "LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES",
        "LOGIN_LIMIT_PER_ACCOUNT",  # the older name of LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS
        "PASSWORD_RESET_HOURS",
        "INVITATION_DAYS",
        "API_RATE_LIMIT",
        "DEFAULT_LOCALE",
        "BUSINESS_TIMEZONE",
        "BUSINESS_HOURS",
        "BUSINESS_HOLIDAYS",
        "LEAD_RESPONSE_HOURS",
        "LEAD_REMINDER_HOURS",
        "CASES_AUTO_CLOSE_DAYS",
        "CASES_SLA_WARNING_MINUTES",
        "CASES_ATTACHMENT_MAX_BYTES",
        "TRUSTED_PROXIES",
        "SURVEY_LINK_DAYS",
        "LOG_FORMAT",
        "METRICS_TOKEN",
        "SQLITE_BUSY_TIMEOUT_MS",
        "OUTBOX_LEASE_SECONDS",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "SECOND_FACTOR_FOR_VENDOR_STAFF",
        "MAIL_REPLY_ADDRESS",
        "MAIL_REPLY_DAYS",
        "MAIL_IN_HOST",
        "MAIL_IN_PORT",
        "MAIL_IN_IMAP_URL",
        "MAIL_IN_MAX_BYTES",
    }
)


class ConfigurationError(RuntimeError):
    """The environment does not describe a configuration the portal can safely run with."""


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'portal.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` spellings hosts hand out; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def base_url_on_port(base_url: str, port: int) -> str:
    """BASE_URL for the portal served on ``port`` of this machine (``flask demo --port N``): a
    loopback BASE_URL, the default included, moves to that port so that emailed links reach the
    server that runs; another host (a proxy or tunnel in front of it) is kept as it is."""
    parts = urlsplit(base_url)
    if parts.hostname not in LOOPBACK_HOSTS:
        return base_url
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit(parts._replace(netloc=f"{host}:{port}")).rstrip("/")


def beyond_embedded(env) -> str | None:
    """The first setting that is not the embedded development default, or None: a database other
    than the local SQLite file, a BASE_URL off this machine, Redis or an SMTP server."""
    database_url = env.get("DATABASE_URL")
    if database_url and normalise_database_url(database_url) != default_database_url():
        return "DATABASE_URL"
    base_url = env.get("BASE_URL")
    if base_url and urlsplit(base_url).hostname not in LOOPBACK_HOSTS:
        return "BASE_URL"
    for name in ("REDIS_URL", "SMTP_URL"):
        if env.get(name):
            return name
    return None


def from_environment(environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ if environ is None else environ
    mode = env.get("PORTAL_ENV", "development")
    if mode not in {"development", "production", "testing"}:
        raise ConfigurationError(
            f"PORTAL_ENV must be development, production or testing, not {mode!r}"
        )
    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        beyond = None if env.get("PORTAL_ENV") == "development" else beyond_embedded(env)
        if mode == "production" or beyond:
            why = "PORTAL_ENV is production" if mode == "production" else f"{beyond} is set"
            raise ConfigurationError(
                f"SECRET_KEY is not set and {why}: set SECRET_KEY to a long random value (python "
                "-c 'import secrets; print(secrets.token_urlsafe(48))'), or PORTAL_ENV=development "
                "for a development setup."
            )
        secret_key = DEV_SECRET_KEY
    production = mode == "production"
    calendar = _business_calendar(env)
    base_url = env.get("BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    return {
        "PORTAL_ENV": mode,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": normalise_database_url(env.get("DATABASE_URL") or default_database_url()),
        # PostgreSQL: a role to SET after connecting (ordinary, so row-level security binds it).
        "DATABASE_ROLE": env.get("DATABASE_ROLE") or None,
        # PostgreSQL: a read replica that dashboards and exports read from (portal.replica).
        "DATABASE_REPLICA_URL": normalise_database_url(env["DATABASE_REPLICA_URL"])
        if env.get("DATABASE_REPLICA_URL")
        else None,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SMTP_URL": env.get("SMTP_URL") or None,
        **_mail(env, base_url),
        "BASE_URL": base_url,
        "VENDOR_NAME": env.get("VENDOR_NAME", "Partner Portal"),
        # Sessions: the cookie only carries a random session id that the server can revoke.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "__Host-portal" if production else "portal",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("SESSION_HOURS", "12"))),
        # The server-side session row expires at a fixed time; re-signing the cookie on every
        # response would only cost time and header bytes.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
        "HSTS": production,
        # Vendor staff signing in with a password must have a second factor: on in production
        # (portal.identity.security); 0 turns it off, for a deployment whose tests of its own
        # sign vendor staff in with a password alone.
        "SECOND_FACTOR_FOR_VENDOR_STAFF": env.get(
            "SECOND_FACTOR_FOR_VENDOR_STAFF", "1" if production else "0"
        )
        .strip()
        .lower()
        in {"1", "true", "yes"},
        # Sign-in limits, counting wrong passwords only (portal.identity.views.login): tight for
        # one account from one address, looser for one address across accounts, and high for
        # one account across addresses, so that another address's guesses do not lock the owner
        # out. LOGIN_LIMIT_PER_ACCOUNT, the older name, meant the tight one.
        **_sign_in_limits(env),
        "PASSWORD_RESET_HOURS": int(env.get("PASSWORD_RESET_HOURS", "2")),
        "INVITATION_DAYS": int(env.get("INVITATION_DAYS", "7")),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        # Sign-in providers must be https and public; tests run theirs on loopback over http.
        "SSO_ALLOW_INSECURE_LOOPBACK": mode == "testing",
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "en"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "TESTING": mode == "testing",
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES,
        # The vendor's business hours (portal.business_hours): deadlines such as a lead offer's
        # respond_by count only these hours. Holidays: an ISO country code with an optional
        # region (DE, DE-BY, US-CA) whose public holidays are days off; empty for none.
        **calendar,
        "LEAD_RESPONSE_HOURS": _positive_number(env, "LEAD_RESPONSE_HOURS", "16"),
        "LEAD_REMINDER_HOURS": _positive_number(env, "LEAD_REMINDER_HOURS", "4"),
        # Self-service: solved cases close after these days; agents are warned this many minutes
        # before an SLA target runs out.
        "CASES_AUTO_CLOSE_DAYS": _positive_number(env, "CASES_AUTO_CLOSE_DAYS", "4"),
        "CASES_SLA_WARNING_MINUTES": _positive_number(env, "CASES_SLA_WARNING_MINUTES", "60"),
        # The largest file a case reply accepts (bytes).
        "CASES_ATTACHMENT_MAX_BYTES": _attachment_bytes(env),
        # How many proxies (load balancer, ingress) stand in front of the app and append to
        # X-Forwarded-For / -Proto: their forwarded client address and scheme are trusted that
        # many hops deep. 0: the app faces clients directly and ignores those headers (which any
        # client can forge).
        "TRUSTED_PROXIES": _proxy_hops(env),
        # Feedback: how long a signed survey link stays valid (feedback.links).
        "SURVEY_LINK_DAYS": _positive_days(env, "SURVEY_LINK_DAYS", "14"),
        # Operations (portal.observability): one JSON object per log line for a log collector,
        # the default in production; plain text, for a person at a console, elsewhere. /metrics
        # answers only to a request bearing METRICS_TOKEN (unset: no /metrics at all).
        "LOG_FORMAT": log_format(env, production),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # SQLite: how long a writer waits for the one write lock before its request answers 503.
        "SQLITE_BUSY_TIMEOUT_MS": _whole_number(env, "SQLITE_BUSY_TIMEOUT_MS", "5000", 0, 600_000),
        # How long a delivery holds an outbox message before the tick frees it for a retry:
        # longer than an SMTP exchange (portal.notify.mail.TIMEOUT_SECONDS).
        "OUTBOX_LEASE_SECONDS": _whole_number(env, "OUTBOX_LEASE_SECONDS", "120", 1, 86_400),
        # Webhooks may POST to private, loopback and link-local addresses (a receiver inside the
        # network): off by default, outside development (portal.webhooks.transport).
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": (
            env.get("WEBHOOK_ALLOW_PRIVATE_TARGETS", "").strip().lower() in {"1", "true", "yes"}
        ),
    }


def log_format(env, production: bool) -> str:
    """json or text: as set, else JSON in production (for a log collector), text elsewhere."""
    value = env.get("LOG_FORMAT") or ("json" if production else "text")
    if value not in {"json", "text"}:
        raise ConfigurationError(f"LOG_FORMAT must be json or text, not {value!r}")
    return value


def _attachment_bytes(env) -> int:
    raw = env.get("CASES_ATTACHMENT_MAX_BYTES", str(10 * MB)).strip()
    if not raw.isdigit() or not 1024 <= int(raw) <= MAX_ATTACHMENT_BYTES:
        raise ConfigurationError(
            f"CASES_ATTACHMENT_MAX_BYTES must be a number of bytes from 1024 to "
            f"{MAX_ATTACHMENT_BYTES} (five such files fit in one request), not {raw!r}"
        )
    return int(raw)


def _proxy_hops(env) -> int:
    raw = env.get("TRUSTED_PROXIES", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigurationError(
            "TRUSTED_PROXIES must be the number of proxies in front of the app (0 to 10), "
            f"not {raw!r}"
        )
    return int(raw)


def _business_calendar(env) -> dict:
    from portal.business_hours import parse_calendar

    settings = {
        "BUSINESS_TIMEZONE": env.get("BUSINESS_TIMEZONE", "UTC"),
        "BUSINESS_HOURS": env.get("BUSINESS_HOURS", "09:00-17:00"),
        "BUSINESS_HOLIDAYS": env.get("BUSINESS_HOLIDAYS", ""),
    }
    try:
        parse_calendar(*settings.values())
    except ValueError as exc:
        raise ConfigurationError(f"business hours: {exc}") from None
    return settings


def _positive_number(env, name: str, default: str) -> float:
    try:
        value = float(env.get(name, default))
    except ValueError:
        value = -1.0
    if not 0 < value <= 10_000:
        raise ConfigurationError(f"{name} must be a number of hours above 0")
    return value


def _whole_number(env, name: str, default: str, low: int, high: int) -> int:
    raw = env.get(name, default).strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _positive_days(env, name: str, default: str) -> int:
    try:
        value = int(env.get(name, default))
    except ValueError:
        value = 0
    if not 1 <= value <= 365:
        raise ConfigurationError(f"{name} must be a whole number of days from 1 to 365")
    return value


def _sign_in_limits(env) -> dict:
    from limits import parse_many

    tight = env.get("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS") or env.get("LOGIN_LIMIT_PER_ACCOUNT")
    settings = {
        "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS": tight or "5 per 15 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": env.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES": env.get(
            "LOGIN_LIMIT_PER_ACCOUNT_ACROSS_ADDRESSES", "100 per hour"
        ),
    }
    for name, value in settings.items():
        try:
            parse_many(value)
        except ValueError:
            raise ConfigurationError(
                f"{name} must be a rate such as '5 per 15 minutes', not {value!r}"
            ) from None
    return settings


def _mail(env, base_url: str) -> dict:
    """Email both ways (portal.notify.mail, portal.mailin). Mail comes from ``MAIL_FROM``, by
    default the portal's own name at the host of ``BASE_URL`` (``localhost`` on loopback), so
    mail of a real deployment never claims ``localhost``. Replies go to ``MAIL_REPLY_ADDRESS``
    (default ``support@`` that domain) with a signed token that expires after
    ``MAIL_REPLY_DAYS``; ``flask mail-in`` receives them by SMTP on ``MAIL_IN_HOST``:
    ``MAIL_IN_PORT``, or polls ``MAIL_IN_IMAP_URL`` (``imaps://user:pass@host/INBOX``), and
    refuses mail larger than ``MAIL_IN_MAX_BYTES``."""
    from email.utils import formataddr, parseaddr

    host = urlsplit(base_url).hostname or "localhost"
    if host in LOOPBACK_HOSTS or not any(c.isalpha() for c in host):
        host = "localhost"
    sender = env.get("MAIL_FROM") or formataddr(
        (env.get("VENDOR_NAME", "Partner Portal"), f"portal@{host}")
    )
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise ConfigurationError(f"MAIL_FROM must hold an address (name <box@domain>): {sender!r}")
    domain = address.rpartition("@")[2].lower()
    reply = env.get("MAIL_REPLY_ADDRESS") or f"support@{domain}"
    if "@" not in reply or "+" in reply.partition("@")[0]:
        raise ConfigurationError(
            f"MAIL_REPLY_ADDRESS must be a plain address (box@domain, no +): {reply!r}"
        )
    imap_url = env.get("MAIL_IN_IMAP_URL") or None
    if imap_url and urlsplit(imap_url).scheme not in {"imap", "imaps"}:
        raise ConfigurationError("MAIL_IN_IMAP_URL must start with imaps:// (or imap://)")
    return {
        "MAIL_FROM": sender,
        "MAIL_DOMAIN": domain,
        "MAIL_REPLY_ADDRESS": reply.lower(),
        "MAIL_REPLY_DAYS": _positive_days(env, "MAIL_REPLY_DAYS", "90"),
        "MAIL_IN_HOST": env.get("MAIL_IN_HOST", "127.0.0.1"),
        "MAIL_IN_PORT": _whole_number(env, "MAIL_IN_PORT", "2525", 1, 65_535),
        "MAIL_IN_IMAP_URL": imap_url,
        "MAIL_IN_MAX_BYTES": _whole_number(env, "MAIL_IN_MAX_BYTES", str(40 * MB), 1024, 200 * MB),
    }

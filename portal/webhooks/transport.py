"""The HTTP side of webhooks: where a URL may point (the guard against server-side request
forgery), signing per the Standard Webhooks scheme, and one POST.

The guard resolves the host and refuses the URL if any address it resolves to is private,
loopback, link-local, multicast, reserved or unspecified. The POST then connects to the very
address that was checked (the URL's host goes in ``Host`` and, for https, in the TLS server
name and certificate check), so a DNS answer that changes between the check and the
connection (rebinding) cannot send it elsewhere. Redirects are not followed.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app
from standardwebhooks import Webhook

TIMEOUT_SECONDS = 10
EXCERPT_BYTES = 1024
SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
USER_AGENT = "PartnerPortal-Webhooks/1"


class TargetRefused(ValueError):
    """The URL may not be a webhook target; the message is safe to show."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def private_targets_allowed() -> bool:
    config = current_app.config
    return config.get("PORTAL_ENV") == "development" or bool(
        config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    )


def check_url(url: str) -> None:
    """The URL's form: http or https, a host, no credentials, no fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("The URL must start with https:// (or http://) and name a host.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not carry a user name or password.")
    if parts.fragment:
        raise TargetRefused("The URL must not have a fragment (#…).")
    if port == 0:
        raise TargetRefused("The URL's port is not valid.")


def refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str) -> list[str]:
    """The addresses the URL's host resolves to, every one allowed (else ``TargetRefused``)."""
    check_url(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused("The URL's host name does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise TargetRefused("The URL's host name does not resolve.")
    if not private_targets_allowed() and any(refused_address(a) for a in addresses):
        raise TargetRefused(
            "The URL points to a private, loopback or link-local address, which webhooks "
            "may not reach."
        )
    return addresses


def signature(secret: str, event_id: str, timestamp: datetime, body: str) -> str:
    return Webhook(secret).sign(event_id, timestamp, body)


def headers_for(
    secrets_: list[str], event_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers, one signature per valid secret (space-separated)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.replace(tzinfo=UTC).timestamp())),
        "webhook-signature": " ".join(signature(s, event_id, timestamp, body) for s in secrets_),
    }


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the URL's host name for SNI and the certificate."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


def post(url: str, body: str, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` (through the guard), never following a redirect."""
    started = time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        addresses = resolve(url)
    except TargetRefused as refused:
        return Answer(None, took(), "", str(refused))
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rsplit("@", 1)[-1]
    error = ""
    for address in addresses:  # each one checked; the first that answers is used
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(address, port, parts.hostname, TIMEOUT_SECONDS)
        else:
            connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
        try:
            connection.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", host_header)
            data = body.encode()
            for name, value in {**headers, "Content-Length": str(len(data))}.items():
                connection.putheader(name, value)
            connection.endheaders(data)
            response = connection.getresponse()
            excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
            return Answer(response.status, took(), excerpt)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            connection.close()
    return Answer(None, took(), "", error)

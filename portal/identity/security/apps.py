"""The apps a person has authorised (OAuth ``authorization_code`` grants): which, with which
scopes, since when. Revoking one is ``portal.oauth.services.revoke_consent``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from portal.clock import utcnow
from portal.db import db
from portal.oauth.models import OAuthClient, OAuthToken


@dataclass(frozen=True)
class AppLine:
    client_pk: int
    name: str
    scopes: tuple[str, ...]
    authorised_at: datetime
    last_issued_at: datetime


def _live(now: datetime):
    refresh_alive = and_(
        OAuthToken.refresh_token_hash.is_not(None),
        or_(OAuthToken.refresh_expires_at.is_(None), OAuthToken.refresh_expires_at > now),
    )
    return and_(OAuthToken.revoked_at.is_(None), or_(OAuthToken.expires_at > now, refresh_alive))


def apps_of(user_id: int) -> list[AppLine]:
    """The clients holding a live token (access, or refresh still usable) for the person,
    the most recently used first."""
    now = utcnow()
    tokens = db.session.scalars(
        select(OAuthToken)
        .where(OAuthToken.user_id == user_id, _live(now))
        .order_by(OAuthToken.issued_at)
    ).all()
    by_client: dict[int, list[OAuthToken]] = {}
    for token in tokens:
        by_client.setdefault(token.client_pk, []).append(token)
    lines = [
        AppLine(
            client_pk=pk,
            name=held[0].client.name,
            scopes=tuple(sorted({s for t in held for s in t.scope.split()})),
            authorised_at=held[0].issued_at,
            last_issued_at=held[-1].issued_at,
        )
        for pk, held in by_client.items()
    ]
    return sorted(lines, key=lambda line: line.last_issued_at, reverse=True)


def authorised_client(user_id: int, client_pk: int) -> OAuthClient | None:
    """The client, if it holds a live token for the person (else None: the page answers 404,
    as for another person's or organisation's client)."""
    now = utcnow()
    return db.session.scalar(
        select(OAuthClient).where(
            OAuthClient.id == client_pk,
            OAuthClient.id.in_(
                select(OAuthToken.client_pk).where(OAuthToken.user_id == user_id, _live(now))
            ),
        )
    )

"""Exports prepared by a job in the isolation matrix.

An export is its requester's alone (``Export.visible_to``): another user's, in any organisation
and whatever the role (vendor staff included), is a 404 for its page and its file. Each foreign
user and each home colleague has a ready export whose file name and content are private markers;
the "My exports" list and every page must never show them to anyone else.
"""

from __future__ import annotations

from portal.export_jobs import Export, ExportChunk, ExportStatus
from tests.isolation.world import World, record_kind


def add_export(db, user, marker: str) -> Export:
    record = Export(
        org_id=user.org_id,
        user_id=user.id,
        source_key="leads",
        args={},
        filename=f"{marker}.csv",
        status=ExportStatus.ready.value,
        rows_total=1,
        rows_written=1,
        size_bytes=len(marker),
    )
    db.add(record)
    db.flush()
    db.add(
        ExportChunk(
            org_id=user.org_id,
            export_id=record.id,
            position=1,
            content=f"\ufeffCompany\r\n{marker} content\r\n".encode(),
        )
    )
    db.flush()
    return record


def _seed(db, w: World) -> None:
    for user in [*w.foreign_users, *w.colleague.values()]:
        marker = f"private-export-zzqe-{user.id}"
        add_export(db, user, marker)
        w.private_markers.append(marker)


def _foreign(db, w: World, role) -> list[int]:
    me = w.users[role.name].id
    return [e.id for e in db.query(Export).filter(Export.user_id != me).order_by(Export.id)]


def _own(db, w: World, role) -> int:
    user = w.users[role.name]
    return add_export(db, user, f"own-export-{user.id}").id


record_kind("export_id", foreign=_foreign, own=_own, seed=_seed)

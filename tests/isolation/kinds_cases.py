"""Cases in the isolation matrix.

The home customer has two cases: one raised by its customer user, one by a colleague (which the
customer user must not see: the organisation does not share cases; its admin sees both). The
home partner manages the home customer, so it follows both read only. The foreign customer's
case, and an internal note on a home case, are markers: never on a partner's or customer's page.
"""

from __future__ import annotations

import itertools

from selfservice.cases.models import (
    Case,
    CaseAttachment,
    CaseComment,
    CaseWatcher,
    SlaPolicy,
)
from tests.factories import make_case, make_case_comment
from tests.isolation.world import World, record_kind

_numbers = itertools.count(1)


def add_file(db, case: Case, comment: CaseComment, name: str) -> CaseAttachment:
    att = CaseAttachment(
        org_id=case.org_id,
        case_id=case.id,
        comment_id=comment.id,
        filename=name,
        content_type="text/plain",
        size=5,
        sha256="0" * 64,
        internal=comment.internal,
        content=b"hello",
    )
    db.add(att)
    db.flush()
    return att


def _seed(db, w: World) -> None:
    customer = w.home["customer"]
    own = make_case(db, customer, w.users["customer_user"], "Home case of the customer user")
    note = make_case_comment(db, own, "Internal note ZZQI never for customers", internal=True)
    add_file(db, own, note, "internal-zzqf.txt")
    reply = make_case_comment(db, own, "Public reply visible to the customer", internal=False)
    add_file(db, own, reply, "public.txt")
    w.markers.append("Internal note ZZQI never for customers")
    make_case(db, customer, w.users["customer_admin"], "Admin case ZZQA of the customer admin")
    w.markers.append("internal-zzqf.txt")
    db.add(CaseWatcher(org_id=customer.id, case_id=own.id, user_id=w.users["customer_admin"].id))
    for org, user in zip(w.foreign, w.foreign_users, strict=True):
        foreign = make_case(db, org, user, f"Foreign case ZZQS {org.id}")
        db.add(CaseWatcher(org_id=org.id, case_id=foreign.id, user_id=user.id))
        add_file(
            db, foreign, make_case_comment(db, foreign, "Foreign reply", internal=False), "f.txt"
        )
        w.markers.append(f"Foreign case ZZQS {org.id}")


def _home_cases(db, w: World) -> list[Case]:
    return list(db.query(Case).filter(Case.org_id == w.home["customer"].id).order_by(Case.id))


def _foreign(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []  # vendor staff see every case (their role decides what they may do)
    foreign = [c.id for c in db.query(Case).filter(Case.org_id != w.home["customer"].id)]
    if role.name == "customer_user":  # a colleague's case in an organisation that does not share
        foreign.append(_home_cases(db, w)[1].id)
    return foreign


def _own(db, w: World, role) -> int | None:
    return _home_cases(db, w)[0].id  # the customer user's own: everyone at home may see it


record_kind("case_id", foreign=_foreign, own=_own, seed=_seed)


def _foreign_files(db, w: World, role) -> list[int]:
    if role.audience == "vendor":
        return []
    cases = set(_foreign(db, w, role))
    return [
        a.id
        for a in db.query(CaseAttachment)
        if a.case_id in cases or (a.internal and a.org_id == w.home["customer"].id)
    ]


def _own_file(db, w: World, role) -> int | None:
    return db.query(CaseAttachment).filter_by(filename="public.txt").one().id


record_kind("attachment_id", foreign=_foreign_files, own=_own_file)


def _foreign_watchers(db, w: World, role) -> list[int]:
    """Watchers are seen with their case: those of a case the role does not see are foreign
    (its own watcher rows aside)."""
    if role.audience == "vendor":
        return []
    cases = set(_foreign(db, w, role))
    return [
        x.id
        for x in db.query(CaseWatcher)
        if x.case_id in cases and x.user_id != w.users[role.name].id
    ]


def _own_watcher(db, w: World, role) -> int | None:
    # The home customer's case: its people and the partner that manages it see its watchers.
    return db.query(CaseWatcher).filter_by(org_id=w.home["customer"].id).one().id


record_kind("watcher_id", foreign=_foreign_watchers, own=_own_watcher)


# SLA policies are the vendor's configuration (a global table): nobody's foreign record; every
# role but a vendor admin is refused the pages outright (403 whatever the id).
record_kind(
    "policy_id",
    foreign=lambda db, w, role: [],
    own=lambda db, w, role: db.query(SlaPolicy).order_by(SlaPolicy.id).first().id,
)

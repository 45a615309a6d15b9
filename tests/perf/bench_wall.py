"""Micro-benchmark: what the tenant wall (``portal.db._apply_tenant_wall``) costs per statement.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_wall [--repeat 2000]

In a fresh SQLite database with the demo world, for a handful of ORM statements of the kind the
list pages issue, and for a vendor, a partner and a customer principal:

- ``hook``: the microseconds of one call of the ``do_orm_execute`` listener itself (what it does
  to the statement: choosing and building the loader criteria), called with a stand-in for
  SQLAlchemy's ``ORMExecuteState``;
- ``execute``: the microseconds of ``session.execute(statement).all()`` through the wall, and
  the same statement in an ``unscoped()`` session (no wall), and their difference: what the wall
  costs a statement in all (hook, cache key of the added options, the criteria in the SQL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from types import SimpleNamespace


def statements():
    from sqlalchemy import func, select

    from partners.deals.models import DealRegistration
    from partners.leads.models import Lead, LeadOffer
    from portal.identity.models import Organization, User
    from selfservice.cases.models import Case

    return {
        "leads, 25 newest": select(Lead).order_by(Lead.id.desc()).limit(25),
        "leads joined to offers": select(Lead)
        .join(LeadOffer, LeadOffer.lead_id == Lead.id)
        .order_by(Lead.id.desc())
        .limit(25),
        "cases, 25 newest": select(Case).order_by(Case.id.desc()).limit(25),
        "deal registrations": select(DealRegistration)
        .order_by(DealRegistration.id.desc())
        .limit(25),
        "user by id (joined org)": select(User).where(User.id == 1),
        "organisation by id": select(Organization).where(Organization.id == 1),
        "count of open cases": select(func.count()).select_from(Case).where(Case.status == "open"),
    }


def principals(session):
    from sqlalchemy import select

    from portal.db import unscoped
    from portal.identity.models import User
    from portal.tenancy import Principal

    chosen = {}
    with unscoped(session):
        for label, email in (
            ("vendor", "support@northwind.example"),
            ("partner", "admin@alpine.example"),
            ("customer", "lee@granite.example"),
        ):
            user = session.scalar(select(User).where(User.email == email))
            chosen[label] = Principal.for_user(user, ip_address="127.0.0.1")
    return chosen


def time_it(fn, repeat: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args(argv)
    from tests.perf import bench_authenticated_page as base
    from tests.perf.bench_leads import quiet

    with tempfile.TemporaryDirectory(prefix="portal-bench-wall-") as tmp:
        url = f"sqlite:///{tmp}/portal.sqlite3"
        os.environ.update(base.prepare_environment(url))
        from portal.app import create_app
        from portal.db import _apply_tenant_wall, db, scoped_models, set_principal, unscoped

        app = create_app()
        quiet()
        base.build_database(app)
        print(
            f"Python {sys.version.split()[0]}; {len(scoped_models())} models with a visibility "
            f"rule; {base.load_average()}; {args.repeat} repeats\n"
        )
        print(
            f"  {'statement':<26} {'as':<9} {'hook µs':>9} {'walled µs':>10} "
            f"{'unscoped µs':>12} {'wall µs':>9}"
        )
        hooks, walls = [], []
        with app.app_context():
            people = principals(db.session)
            db.session.rollback()  # SQLite: one writer; the measuring sessions begin their own
            for label, principal in people.items():
                session = db.new_session()
                set_principal(session, principal)
                for name, statement in statements().items():
                    state = SimpleNamespace(
                        session=session,
                        statement=statement,
                        is_select=True,
                        is_update=False,
                        is_delete=False,
                        is_column_load=False,
                        is_relationship_load=False,
                    )

                    def hook(state=state, statement=statement):
                        state.statement = statement
                        _apply_tenant_wall(state)

                    def walled(statement=statement, session=session):
                        session.execute(statement).all()
                        session.expunge_all()

                    def plain(statement=statement, session=session):
                        with unscoped(session):
                            session.execute(statement).all()
                        session.expunge_all()

                    hook_us = time_it(hook, args.repeat)
                    walled_us = time_it(walled, args.repeat // 4)
                    plain_us = time_it(plain, args.repeat // 4)
                    hooks.append(hook_us)
                    walls.append(walled_us - plain_us)
                    print(
                        f"  {name:<26} {label:<9} {hook_us:9.1f} {walled_us:10.1f} "
                        f"{plain_us:12.1f} {walled_us - plain_us:9.1f}"
                    )
                session.close()
        hooks.sort()
        walls.sort()
        print(
            f"\n  median per statement: hook {hooks[len(hooks) // 2]:.1f} µs, "
            f"wall in all {walls[len(walls) // 2]:.1f} µs"
        )
        app.extensions["db"].engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

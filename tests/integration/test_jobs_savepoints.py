"""Jobs and savepoints: SQLAlchemy fires its commit and rollback events for savepoints too. A
released savepoint is no commit (its jobs wait for the transaction), a rolled-back savepoint
drops only the jobs queued inside it."""

from __future__ import annotations

from portal import jobs

RAN: list[str] = []


def remember(what: str) -> None:
    RAN.append(what)


def test_jobs_wait_for_the_real_commit_and_a_rolled_back_savepoint_drops_only_its_own(app, db):
    RAN.clear()
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import unscoped

        with unscoped(portal_db.session) as session:
            jobs.enqueue(remember, "before", session=session)
            with session.begin_nested():
                jobs.enqueue(remember, "released", session=session)
                with session.begin_nested():
                    jobs.enqueue(remember, "inner released", session=session)
            assert RAN == []  # releasing a savepoint is not a commit
            try:
                with session.begin_nested():
                    jobs.enqueue(remember, "rolled back", session=session)
                    raise RuntimeError("undo this savepoint")
            except RuntimeError:
                pass
            assert RAN == []
            session.commit()
    assert RAN == ["before", "released", "inner released"]


def test_a_rollback_drops_every_job(app, db):
    RAN.clear()
    with app.test_request_context():
        from portal.db import db as portal_db
        from portal.db import unscoped

        with unscoped(portal_db.session) as session:
            with session.begin_nested():
                jobs.enqueue(remember, "in a savepoint", session=session)
            jobs.enqueue(remember, "outside", session=session)
            session.rollback()
            session.commit()
    assert RAN == []

"""A genuine reply token naming a kind of record no package takes mail for (the package is gone,
or not loaded in this process) is refused with a 550 and a log line, writing nothing: not a
crash of the receiver."""

from __future__ import annotations

import logging

from feedback.ideas.models import IdeaComment
from portal.mailin import services, targets
from portal.mailin.models import ReceivedMail
from tests.factories import make_idea
from tests.integration import test_mail_in
from tests.integration.test_mail_in import email, reply_address
from tests.unchanged import unchanged

clock, people = test_mail_in.clock, test_mail_in.people  # the mail-in tests' fixtures, shared


def test_a_token_of_a_kind_no_package_registers_is_refused(
    app, db, people, clock, monkeypatch, caplog
):
    idea = make_idea(db, people.customer_user)
    to = reply_address(app, "idea", idea.id, people.customer_user.id)
    monkeypatch.delitem(targets.TARGETS, "idea")
    raw = email("cu@acme.test", to, text="A comment by mail.").as_bytes()
    with (
        caplog.at_level(logging.INFO, logger="portal.mailin"),
        app.app_context(),
        unchanged(db, idea, counted=[IdeaComment, ReceivedMail]),
    ):
        verdict = services.take_in(raw)
    assert not verdict.accepted
    assert verdict.answer.startswith("550 ") and "answer on the portal" in verdict.answer
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "'idea'" in warned[0].getMessage()

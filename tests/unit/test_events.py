"""portal.events: subscribers run in order with the event, once each even if subscribed again;
patterns match kinds of events; a question without a provider answers None."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal import events


@pytest.fixture
def clean(monkeypatch):
    monkeypatch.setattr(events, "_subscribers", events.defaultdict(list))
    monkeypatch.setattr(events, "_providers", {})


def happened(kind: str, record_id: int = 7) -> events.DomainEvent:
    return events.DomainEvent(
        type=kind,
        record_type="Thing",
        record_id=record_id,
        org_ids=(1,),
        actor_user_id=None,
        actor_org_id=None,
        at=datetime(2026, 12, 2, tzinfo=UTC),
    )


def test_publish_runs_each_subscriber_once_in_order(clean):
    heard = []

    def first(event):
        heard.append(("first", event.record_id))

    def second(event):
        heard.append(("second", event.record_id))

    events.subscribe("thing.done", first)
    events.subscribe("thing.done", second)
    events.subscribe("thing.done", first)  # a second app in one process: still one subscription
    events.publish(happened("thing.done", 7))
    events.publish(happened("other.thing", 8))
    assert heard == [("second", 7), ("first", 7)]


def test_patterns_match_a_kind_of_record_or_everything(clean):
    heard = []
    events.subscribe("deal.*", lambda e: heard.append(("deals", e.type)))
    events.subscribe("*", lambda e: heard.append(("all", e.type)))
    events.publish(happened("deal.approved"))
    events.publish(happened("case.solved"))
    assert heard == [("deals", "deal.approved"), ("all", "deal.approved"), ("all", "case.solved")]


def test_a_subscribers_error_reaches_the_publisher(clean):
    def broken(event):
        raise RuntimeError("no")

    events.subscribe("thing.done", broken)
    with pytest.raises(RuntimeError):
        events.publish(happened("thing.done"))


def test_ask_answers_through_the_provider_or_none(clean):
    assert events.ask("case.summary", case_id=1) is None
    events.provide("case.summary", lambda case_id: {"id": case_id})
    assert events.ask("case.summary", case_id=3) == {"id": 3}

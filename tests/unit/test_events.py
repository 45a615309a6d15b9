"""portal.events: subscribers run in order with the data, once each even if subscribed again;
a question without a provider answers None."""

from __future__ import annotations

import pytest

from portal import events


@pytest.fixture
def clean(monkeypatch):
    monkeypatch.setattr(events, "_subscribers", events.defaultdict(list))
    monkeypatch.setattr(events, "_providers", {})


def test_publish_runs_each_subscriber_once_in_order(clean):
    heard = []

    def first(**data):
        heard.append(("first", data))

    def second(**data):
        heard.append(("second", data))

    events.subscribe("thing.done", first)
    events.subscribe("thing.done", second)
    events.subscribe("thing.done", first)  # a module imported again: still one subscription
    events.publish("thing.done", id=7)
    events.publish("other.thing", id=8)
    assert heard == [("second", {"id": 7}), ("first", {"id": 7})]


def test_a_subscribers_error_reaches_the_publisher(clean):
    @events.subscribe("thing.done")
    def broken(**data):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        events.publish("thing.done")


def test_ask_answers_through_the_provider_or_none(clean):
    assert events.ask("case.summary", case_id=1) is None
    events.provide("case.summary", lambda case_id: {"id": case_id})
    assert events.ask("case.summary", case_id=3) == {"id": 3}

"""portal.panels: a place lists the panels a principal may see, in order, and leaves out those
with nothing to show."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal import panels


@dataclass
class FakePrincipal:
    audience: str
    actions: frozenset[str]

    def can(self, action: str) -> bool:
        return action in self.actions


@pytest.fixture
def place(monkeypatch):
    monkeypatch.setitem(panels._PANELS, "home", [])
    return "home"


def build_with(value):
    return lambda principal, **args: value


def test_panels_follow_audience_action_and_order(place):
    panels.add(
        place,
        panels.Panel("late", "late.html", build_with({"n": 1}), order=90),
        panels.Panel("early", "early.html", build_with({"n": 2}), order=10),
        panels.Panel("staff", "s.html", build_with({}), audiences=("vendor",)),
        panels.Panel("review", "r.html", build_with({}), action="deals.review"),
    )
    partner = FakePrincipal("partner", frozenset({"home.view"}))
    shown = panels.build(place, partner)
    assert [s.key for s in shown] == ["early", "late"]
    assert shown[0].context == {"n": 2} and shown[0].template == "early.html"


def test_a_panel_with_nothing_to_show_is_left_out(place):
    panels.add(place, panels.Panel("empty", "e.html", build_with(None)))
    assert panels.build(place, FakePrincipal("customer", frozenset({"home.view"}))) == []


def test_build_receives_the_page_arguments(place):
    seen = {}
    panels.add(place, panels.Panel("p", "p.html", lambda principal, **args: seen.update(args)))
    panels.build(place, FakePrincipal("vendor", frozenset({"home.view"})), org_id=7)
    assert seen == {"org_id": 7}


def test_a_panel_with_the_same_key_replaces_the_first(place):
    panels.add(place, panels.Panel("p", "old.html", build_with({})))
    panels.add(place, panels.Panel("p", "new.html", build_with({})))
    assert [
        p.template
        for p in panels.for_principal(place, FakePrincipal("vendor", frozenset({"home.view"})))
    ] == ["new.html"]


def test_an_unknown_place_is_refused():
    with pytest.raises(ValueError):
        panels.add("sidebar", panels.Panel("p", "p.html", build_with({})))

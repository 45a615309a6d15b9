"""The channel team's home panel "offers about to expire unanswered" links its count to the lead
list filtered by ``expiring=soon``, and the list holds exactly the panel's offers: unanswered,
their respond-by within the panel's window (``queries.EXPIRING_WITHIN``) or already past, as the
clock (time-machine) moves; a partner's filtered list holds its own offers only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine

from partners.leads.queries import EXPIRING_WITHIN

NOW = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)  # a Wednesday morning


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock, db, vendor, org_factory, user_factory, lead_factory, offer_factory):
    class World:
        channel = user_factory(vendor, "channel_manager", email="channel@expiring.test")
        alpine = org_factory("reseller", name="Alpine Expiring Partner")
        rival = org_factory("reseller", name="Rival Expiring Partner")

    World.alpine_admin = user_factory(World.alpine, email="admin@alpine-expiring.test")

    def offered(company, partner, hours, status="offered", lead_status="offered"):
        lead = lead_factory(company=company, status=lead_status)
        offer_factory(lead, partner, status=status, respond_by=NOW + timedelta(hours=hours))
        return lead

    offered("Soon Swift", World.alpine, 5)
    offered("Edge Egret", World.rival, 48)  # exactly at the window's end
    offered("Overdue Owl", World.alpine, -1)  # past, the tick has not expired it yet
    offered("Later Lark", World.rival, 49)
    offered("Answered Auk", World.alpine, 5, status="accepted", lead_status="accepted")
    offered("Declined Dove", World.rival, 5, status="declined", lead_status="new")
    lead_factory(company="New Newt")
    db.flush()
    return World


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return unescape(response.get_data(as_text=True))


def expiring_panel(client) -> tuple[str, str, set[str]]:
    """(count link, count text, companies listed) of the home panel."""
    html = page_of(client, "/home")
    panel = re.search(r'data-testid="panel-leads_expiring">(.*?)</section>', html, re.S)
    assert panel, "no expiring panel on the channel manager's home"
    href, text = re.search(
        r'<a [^>]*href="([^"]+)" data-testid="count-leads_expiring">([^<]*)</a>', panel.group(1)
    ).groups()
    items = set(re.findall(r'data-testid="expiring-item"><a href="[^"]+">([^<]+)</a>', html))
    return href, text.strip(), items


def companies(client, url: str) -> set[str]:
    html = page_of(client, url)
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return set(re.findall(r'<a href="/leads/\d+">([^<]+)</a>', body))


def test_the_panels_count_opens_a_list_of_exactly_its_offers(client_as, world, clock):
    assert timedelta(hours=48) == EXPIRING_WITHIN  # the hours in `world` assume it
    channel = client_as(world.channel)

    href, count, shown = expiring_panel(channel)
    assert href == "/leads/?expiring=soon"
    assert count == "3 expiring"
    assert shown == {"Soon Swift", "Edge Egret", "Overdue Owl"}
    assert companies(channel, href) == {"Soon Swift", "Edge Egret", "Overdue Owl"}
    # The status filter alone lists every offered lead, which is what the panel linked before.
    assert companies(channel, "/leads/?status=offered") == {
        "Soon Swift", "Edge Egret", "Overdue Owl", "Later Lark",
    }  # fmt: skip

    clock.shift(timedelta(hours=2))  # Later Lark's respond-by comes within the window
    href, count, shown = expiring_panel(channel)
    assert count == "4 expiring"
    assert companies(channel, href) == shown == {
        "Soon Swift", "Edge Egret", "Overdue Owl", "Later Lark",
    }  # fmt: skip


def test_the_filter_combines_and_shows_as_a_control(client_as, world):
    channel = client_as(world.channel)
    assert companies(channel, "/leads/?expiring=soon&q=swift") == {"Soon Swift"}
    assert companies(channel, "/leads/?expiring=soon&status=accepted") == set()

    html = page_of(channel, "/leads/?expiring=soon")
    control = re.search(r'<select[^>]*name="expiring"[^>]*>(.*?)</select>', html, re.S)
    assert control, "no expiring filter on the lead list"
    assert '<option value="soon" selected>Unanswered, due within 48 hours</option>' in html
    assert 'value="">Any time</option>' in control.group(1)

    assert channel.get("/leads/?expiring=whenever").status_code == 422


def test_a_partner_filters_its_own_offers_only(client_as, world):
    partner = client_as(world.alpine_admin)
    assert companies(partner, "/leads/?expiring=soon") == {"Soon Swift", "Overdue Owl"}
    assert companies(partner, "/leads/") == {"Soon Swift", "Overdue Owl", "Answered Auk"}

"""Status badges (portal.badges): the workflow's label in the reader's language, the colour the
record's package gave the status, built once per kind, status and language."""

import pytest
from markupsafe import Markup

from feedback.ideas.models import Idea
from partners.funds.models import FundClaim, FundRequest
from partners.sourcing.models import SupplierOffer
from portal import badges
from selfservice.cases.models import Case


def test_a_badge_reads_in_the_readers_language(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = badges.status_badge(Case(status="on_hold"))
    with app.test_request_context(headers={"Accept-Language": "de"}):
        german = badges.status_badge(Case(status="on_hold"))
    assert english == Markup(
        '<span class="badge text-bg-secondary" data-testid="case-status">On hold</span>'
    )
    assert german == Markup(
        '<span class="badge text-bg-secondary" data-testid="case-status">Zurückgestellt</span>'
    )


def test_each_package_gives_its_colours_and_test_id(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert 'text-bg-light" data-testid="idea-status">Duplicate' in badges.status_badge(
            Idea(status="duplicate")
        )
        assert 'data-testid="offer-status"' in badges.status_badge(SupplierOffer(status="lapsed"))
        claim = badges.status_badge(FundClaim(status="paid"))
        assert 'text-bg-primary" data-testid="fund_claim-status">Paid' in claim
        assert 'data-testid="fund_request-status"' in badges.status_badge(
            FundRequest(status="submitted")
        )


def test_a_badge_is_built_once_and_a_status_no_workflow_knows_is_not_kept(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        first = badges.status_badge(Case(status="open"))
        assert badges.status_badge(Case(status="open")) is first
        kept = len(badges._BUILT)
        odd = badges.status_badge(Case(status="<b>odd</b>"))
    assert "&lt;b&gt;odd&lt;/b&gt;" in odd and "text-bg-secondary" in odd
    assert len(badges._BUILT) == kept


def test_colours_for_a_status_the_workflow_lacks_are_refused():
    with pytest.raises(ValueError, match="unknown statuses"):
        badges.add(FundRequest, {"paid": "primary"})
    with pytest.raises(ValueError, match="no workflow"):
        badges.add(dict, {})

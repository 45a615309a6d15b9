"""The page of the apps one has authorised: which app, which scopes, since when; revoking one
takes back its consent and every token it holds for the person (access and refresh) at once;
another person's or organisation's app is a 404 and changes nothing."""

import pytest
from sqlalchemy import select

from portal.oauth.models import OAuthToken
from tests.integration.oauth_support import (
    REDIRECT_URI,
    api_get,
    make_api_client,
    refresh,
    user_tokens,
)
from tests.unchanged import fresh, unchanged


@pytest.fixture
def partner(org_factory):
    return org_factory("reseller")


@pytest.fixture
def app_client(db, partner):
    return make_api_client(
        db, partner, redirect_uris=[REDIRECT_URI], scopes="organizations:read users:read",
        name="Quoting helper",
    )  # fmt: skip


def test_list_and_revoke_an_app(client_as, user_factory, partner, app_client, db):
    member = user_factory(partner, "partner_user")
    browser = client_as(member)
    tokens = user_tokens(browser, app_client, scope="organizations:read")
    assert api_get(browser, "/api/v1/me", tokens["access_token"]).status_code == 200
    page = browser.get("/account/security/apps").get_data(as_text=True)
    assert "Quoting helper" in page and "organizations:read" in page
    response = browser.post(f"/account/security/apps/{app_client.row.id}/revoke")
    assert response.status_code == 302
    assert api_get(browser, "/api/v1/me", tokens["access_token"]).status_code == 401
    assert refresh(browser, app_client, tokens["refresh_token"]).status_code == 400
    held = fresh(db).scalars(select(OAuthToken).where(OAuthToken.user_id == member.id)).all()
    assert held and all(t.revoked_at is not None for t in held)
    page = browser.get("/account/security/apps").get_data(as_text=True)
    assert "can no longer act for you" in page and 'data-testid="apps"' not in page


def test_another_persons_app_is_a_404(
    client_as, user_factory, org_factory, partner, app_client, db
):
    owner = user_factory(partner, "partner_user")
    colleague = user_factory(partner, "partner_user")
    tokens = user_tokens(client_as(owner), app_client)
    held = db.scalar(select(OAuthToken).where(OAuthToken.user_id == owner.id))
    url = f"/account/security/apps/{app_client.row.id}/revoke"
    for someone in (colleague, user_factory(org_factory("customer"), "customer_user")):
        browser = client_as(someone)
        with unchanged(db, held):
            assert browser.post(url).status_code == 404
    assert api_get(client_as(owner), "/api/v1/me", tokens["access_token"]).status_code == 200

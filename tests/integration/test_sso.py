"""Sign-in through each organisation's own OpenID Connect provider, end to end.

Two real providers run on loopback (``tests/oidc_provider.py``), one for organisation A and one
for organisation B. Each organisation's admin configures its provider on the real admin page; a
browser (Flask's test client) posts its email to /login, is sent to the provider, which approves
``next_user`` at once and sends it back to the portal's callback; the portal then redeems the
code at the provider over real HTTP and checks the ID token. Nothing is mocked, except the
network calls of the production-mode configuration checks, which must never happen.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine
from sqlalchemy import func, select, text

from portal.audit import AuditEvent
from portal.errors import InvalidInput
from portal.identity.models import Organization, User
from portal.oauth import sso, sso_settings
from portal.oauth.models import ExternalIdentity, IdentityProvider
from tests.factories import PASSWORD
from tests.oidc_provider import TestProvider

# What the portal sends as redirect_uri: url_for(..., _external=True) inside a test request.
CALLBACK = "http://localhost/sso/callback"

A_CLIENT, A_SECRET = "portal-at-a", "secret-of-a-0123456789"
A_CLIENT_2, A_SECRET_2 = "portal-at-a-rotated", "rotated-secret-of-a-987"
B_CLIENT, B_SECRET = "portal-at-b", "secret-of-b-0123456789"
B_ON_A_CLIENT, B_ON_A_SECRET = "b-at-provider-a", "b-at-a-secret-55555"

A_DOMAIN, B_DOMAIN = "alpha.test", "beta.test"
REFUSED = "Sign-in refused"
UNVERIFIABLE = "Your identity provider's answer could not be verified."


def ann(**claims) -> dict:
    return {
        "sub": "ann-1",
        "email": f"ann@{A_DOMAIN}",
        "email_verified": True,
        "name": "Ann Alpha",
        **claims,
    }


def bob(**claims) -> dict:
    return {
        "sub": "bob-1",
        "email": f"bob@{B_DOMAIN}",
        "email_verified": True,
        "name": "Bob Beta",
        **claims,
    }


# --- providers and organisations ----------------------------------------------------------------


@pytest.fixture(scope="module")
def idp_a():
    with TestProvider("/realms/a") as provider:
        provider.add_client(A_CLIENT, A_SECRET, [CALLBACK])
        provider.add_client(A_CLIENT_2, A_SECRET_2, [CALLBACK])
        provider.add_client(B_ON_A_CLIENT, B_ON_A_SECRET, [CALLBACK])
        yield provider


@pytest.fixture(scope="module")
def idp_b():
    with TestProvider() as provider:
        provider.add_client(B_CLIENT, B_SECRET, [CALLBACK])
        yield provider


@pytest.fixture(autouse=True)
def _fresh_providers(app, idp_a, idp_b):
    assert app.config["SSO_ALLOW_INSECURE_LOOPBACK"]  # the providers are http on loopback
    for provider in (idp_a, idp_b):
        provider.next_user = None
        provider.tamper = None
        provider.authorization_requests.clear()
        provider.token_requests.clear()
    # The portal caches one authlib client per (organisation id, configuration version). Each
    # test's transaction is rolled back, and SQLite then hands the same ids to the next test's
    # organisations, something a database never does in its real life: start from no cache.
    sso.oauth._clients.clear()
    sso.oauth._registry.clear()
    yield


def provider_form(
    provider: TestProvider,
    client_id: str,
    client_secret: str,
    domains: list[str],
    *,
    role: str = "partner_user",
    password_login_allowed: bool = True,
    issuer: str | None = None,
) -> dict:
    data = {
        "issuer": provider.issuer if issuer is None else issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "allowed_domains": "\n".join(domains),
        "default_role": role,
    }
    if password_login_allowed:
        data["password_login_allowed"] = "y"  # an unticked box is simply absent
    return data


def fresh(db):
    """The arranging session, ready to read what the requests wrote.

    On PostgreSQL it also forgets the row-level-security scope that portal.db caches on the
    connection the test shares with the app: a refused request rolls back its savepoint, and
    PostgreSQL rolls back the scope that request set with it, while the cache still names it.
    Reading through a stale cache would see no rows, and "nothing was created" would hold
    vacuously.
    """
    db.expire_all()
    db.connection().info.pop("tenant_scope", None)
    return db


class World:
    """Organisation A with provider A, organisation B with provider B, each configured by its
    admin on the admin page."""

    def __init__(self, client_as, db, org_factory, user_factory, idp_a, idp_b):
        self.db = db
        self.user_factory = user_factory
        self.org_a = org_factory("reseller", name="Alpha Resellers")
        self.org_b = org_factory("distributor", name="Beta Distribution")
        self.admin_a = user_factory(self.org_a, "partner_admin")
        self.admin_b = user_factory(self.org_b, "partner_admin")
        self.admin_client_a = client_as(self.admin_a)
        self.admin_client_b = client_as(self.admin_b)
        self.configure_a(provider_form(idp_a, A_CLIENT, A_SECRET, [A_DOMAIN]))
        self.configure_b(provider_form(idp_b, B_CLIENT, B_SECRET, [B_DOMAIN]))

    def configure_a(self, data: dict, status: int = 302):
        return self._configure(self.admin_client_a, data, status)

    def configure_b(self, data: dict, status: int = 302):
        return self._configure(self.admin_client_b, data, status)

    @staticmethod
    def _configure(admin_client, data: dict, status: int):
        response = admin_client.post("/admin/sign-in", data=data)
        assert response.status_code == status, page(response)[:2000]
        return response

    def member(self, org: Organization, email: str, name: str) -> User:
        """Someone the organisation already has (invited earlier, with a password)."""
        return self.user_factory(org, "partner_user", email=email, name=name)

    def provider_of(self, org: Organization) -> IdentityProvider:
        fresh(self.db)
        return self.db.scalar(select(IdentityProvider).where(IdentityProvider.org_id == org.id))

    def users_named(self, email: str) -> list[User]:
        fresh(self.db)
        return list(self.db.scalars(select(User).where(User.email == email)))

    def identities(self, **where) -> list[ExternalIdentity]:
        fresh(self.db)
        return list(self.db.scalars(select(ExternalIdentity).filter_by(**where)))


@pytest.fixture
def world(client_as, db, org_factory, user_factory, idp_a, idp_b) -> World:
    return World(client_as, db, org_factory, user_factory, idp_a, idp_b)


@pytest.fixture
def browser(app, db):
    """A second, anonymous browser."""
    return app.test_client()


# --- the browser's trip ------------------------------------------------------------------------


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def begin(browser, email: str, path: str = "/login", **fields) -> str:
    """Post the email to the sign-in form; returns where the portal sends the browser."""
    response = browser.post(path, data={"email": email, **fields})
    # A page that moves on by itself (a redirect would break the form's CSP form-action).
    assert response.status_code == 200, page(response)[:1000]
    assert response.headers["Cache-Control"] == "no-store"
    body = page(response)
    found = re.search(r'href="([^"]+)" data-testid="provider-url"', body)
    assert found, body[:1000]
    url = html.unescape(found.group(1))
    assert f'content="0;url={found.group(1)}"' in body  # the meta refresh goes there too
    return url


def at_provider(authorize_url: str) -> str:
    """Follow the portal's redirect to the provider, which approves ``next_user`` at once;
    returns the path and query the provider sends the browser back to."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def trip(browser, provider: TestProvider, email: str, claims: dict | None, **fields) -> str:
    """Start sign-in with ``email`` and come back from ``provider`` as ``claims``; returns the
    callback the browser is to open."""
    authorize_url = begin(browser, email, **fields)
    assert authorize_url.startswith(provider.url("/authorize") + "?"), authorize_url
    provider.next_user = claims
    return at_provider(authorize_url)


def with_query(callback: str, **changes) -> str:
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def assert_signed_in(browser, org: Organization, name: str) -> None:
    home = browser.get("/home")
    assert home.status_code == 200
    assert f"Signed in as {name}, " in page(home) and f"at {org.name}." in page(home)


def assert_signed_out(browser) -> None:
    home = browser.get("/home")
    assert home.status_code == 302 and "/login" in home.headers["Location"]


def assert_refused(response, message: str | None = None) -> None:
    assert response.status_code == 403, page(response)[:1000]
    assert REFUSED in page(response)
    if message is not None:
        assert message in page(response)


# --- success -------------------------------------------------------------------------------------


def test_admin_page_shows_the_callback_the_portal_sends(world, idp_a):
    shown = page(world.admin_client_a.get("/admin/sign-in"))
    assert f'data-testid="callback-url">{CALLBACK}<' in shown
    assert idp_a.issuer in shown and "configuration version 1" in shown


def test_new_user_is_created_in_that_organisation_only_and_lands_home(world, browser, idp_a):
    callback = trip(browser, idp_a, f"Ann@{A_DOMAIN.upper()}", ann())

    sent = idp_a.authorization_requests[-1]
    assert sent["redirect_uri"] == CALLBACK
    assert sent["client_id"] == A_CLIENT and sent["response_type"] == "code"
    assert set(sent["scope"].split()) >= {"openid", "email"}
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert sent["state"] and sent["nonce"]

    response = browser.get(callback)
    assert response.status_code == 302, page(response)[:1000]
    assert response.headers["Location"] == "/home"
    exchanged = idp_a.token_requests[-1]
    assert exchanged["status"] == 200 and exchanged["form"]["redirect_uri"] == CALLBACK
    assert exchanged["form"]["code_verifier"]

    [user] = world.users_named(f"ann@{A_DOMAIN}")
    assert user.org_id == world.org_a.id
    assert user.role == "partner_user"  # the configured default role
    assert user.name == "Ann Alpha" and user.password_hash is None
    [identity] = world.identities(user_id=user.id)
    assert (identity.issuer, identity.subject, identity.org_id) == (
        idp_a.issuer,
        "ann-1",
        world.org_a.id,
    )
    assert fresh(world.db).scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "user.joined_by_sso", AuditEvent.object_id == user.id)
    )
    assert_signed_in(browser, world.org_a, "Ann Alpha")
    assert "Partner user" in page(browser.get("/home"))


def test_the_same_subject_signs_in_to_the_same_account_even_with_a_new_email(
    app, world, browser, idp_a
):
    user = world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    assert browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())).status_code == 302
    assert [i.user_id for i in world.identities(subject="ann-1")] == [user.id]

    again = app.test_client()
    renamed = ann(email=f"ann.smith@{A_DOMAIN}", name="Ann Smith")
    response = again.get(trip(again, idp_a, f"ann@{A_DOMAIN}", renamed))
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert_signed_in(again, world.org_a, user.name)
    assert world.users_named(f"ann.smith@{A_DOMAIN}") == []
    assert [i.subject for i in world.identities(issuer=idp_a.issuer)] == ["ann-1"]
    assert fresh(world.db).scalar(select(func.count()).select_from(User)) == 3  # two admins and Ann


def test_an_existing_password_user_of_the_organisation_is_linked_not_duplicated(
    world, browser, idp_a, user_factory
):
    carol = user_factory(world.org_a, "partner_admin", email=f"carol@{A_DOMAIN}", name="Carol")
    claims = {"sub": "carol-1", "email": f"carol@{A_DOMAIN}", "email_verified": True}
    assert browser.get(trip(browser, idp_a, carol.email, claims)).status_code == 302
    assert [u.id for u in world.users_named(carol.email)] == [carol.id]
    assert world.users_named(carol.email)[0].role == "partner_admin"  # the role is kept
    assert [i.subject for i in world.identities(user_id=carol.id)] == ["carol-1"]
    assert_signed_in(browser, world.org_a, "Carol")


def test_the_next_page_survives_the_trip_but_only_a_local_one(app, world, browser, idp_a):
    world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann(), path="/login?next=/account")
    assert browser.get(callback).headers["Location"] == "/account"
    elsewhere = app.test_client()
    callback = trip(
        elsewhere, idp_a, f"ann@{A_DOMAIN}", ann(), path="/login?next=https://evil.test/x"
    )
    assert elsewhere.get(callback).headers["Location"] == "/home"


# --- callbacks that must be refused --------------------------------------------------------------


def test_a_replayed_callback_is_refused(app, world, browser, idp_a):
    world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    assert browser.get(callback).status_code == 302
    exchanges = len(idp_a.token_requests)

    assert_refused(browser.get(callback), "already used")
    # Even while the browser has started another sign-in, the old answer does not fit it.
    browser.post("/logout")
    begin(browser, f"ann@{A_DOMAIN}")
    assert_refused(browser.get(callback))
    # Nor in another browser (say, an attacker who read the URL from a log).
    thief = app.test_client()
    assert_refused(thief.get(callback))
    assert_signed_out(thief)
    assert len(idp_a.token_requests) == exchanges  # the code was never offered again


def test_a_forged_state_is_refused(world, browser, idp_a):
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    assert_refused(browser.get(with_query(callback, state="forged-" + "x" * 20)), UNVERIFIABLE)
    assert_signed_out(browser)
    assert idp_a.token_requests == []  # refused before the code is redeemed
    assert world.users_named(f"ann@{A_DOMAIN}") == []


def test_organisation_bs_answer_in_a_browser_that_started_at_a_is_refused(
    app, world, browser, idp_a, idp_b
):
    bob_user = world.member(world.org_b, f"bob@{B_DOMAIN}", "Bob Beta")
    begin(browser, f"ann@{A_DOMAIN}")  # this browser is on its way to provider A
    other = app.test_client()
    callback_b = trip(other, idp_b, f"bob@{B_DOMAIN}", bob())

    assert_refused(browser.get(callback_b))
    assert_signed_out(browser)
    assert idp_a.token_requests == [] and idp_b.token_requests == []
    assert world.identities(user_id=bob_user.id) == []
    # The browser that did start at B is not helped by the attempt either: its answer was not
    # used, and it still signs in normally.
    assert other.get(callback_b).status_code == 302
    assert_signed_in(other, world.org_b, "Bob Beta")


def test_the_providers_refusal_is_shown_as_refused(world, browser, idp_a):
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", None)  # the user said no
    assert "error=access_denied" in callback
    assert_refused(browser.get(callback))
    assert_signed_out(browser)


@pytest.mark.parametrize("mode", ["wrong_iss", "wrong_aud", "bad_signature", "expired"])
def test_a_spoiled_id_token_is_refused(world, browser, idp_a, mode):
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    idp_a.tamper = mode
    assert_refused(browser.get(callback), UNVERIFIABLE)
    assert idp_a.tamper is None and idp_a.token_requests[-1]["status"] == 200  # it was used
    assert_signed_out(browser)
    assert world.users_named(f"ann@{A_DOMAIN}") == []
    assert world.identities(issuer=idp_a.issuer) == []


def test_a_code_redeemed_after_its_lifetime_is_refused(world, browser, idp_a):
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    later = datetime.now(UTC) + timedelta(seconds=idp_a.code_lifetime + 30)
    with time_machine.travel(later, tick=False):
        assert_refused(browser.get(callback), UNVERIFIABLE)
    assert idp_a.token_requests[-1]["status"] == 400
    assert world.users_named(f"ann@{A_DOMAIN}") == []


def test_an_unverified_email_is_refused(world, browser, idp_a):
    response = browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann(email_verified=False)))
    assert_refused(response, "Your identity provider has not verified your email address.")
    assert world.users_named(f"ann@{A_DOMAIN}") == []
    assert_signed_out(browser)


def test_an_email_outside_the_allowed_domains_is_refused(world, browser, idp_a):
    claims = ann(email="ann@elsewhere.test")
    response = browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", claims))
    assert_refused(response, "Your email domain is not one your organisation allows.")
    assert world.users_named("ann@elsewhere.test") == []


# --- one organisation's provider never lets anyone into another ----------------------------------


def test_provider_b_cannot_put_anyone_into_organisation_a(app, world, browser, idp_b, user_factory):
    carol = user_factory(world.org_a, "partner_user", email=f"carol@{A_DOMAIN}")
    # B's provider claims a new address of A's domain: no account is made anywhere.
    mallory = bob(sub="mallory", email=f"mallory@{A_DOMAIN}")
    assert_refused(browser.get(trip(browser, idp_b, f"bob@{B_DOMAIN}", mallory)))
    assert world.users_named(f"mallory@{A_DOMAIN}") == []
    assert_signed_out(browser)
    # B's provider claims the address of A's existing user: not signed in as her, not linked.
    other = app.test_client()
    as_carol = bob(sub="carol-at-b", email=carol.email)
    assert_refused(other.get(trip(other, idp_b, f"bob@{B_DOMAIN}", as_carol)))
    assert_signed_out(other)
    assert world.identities(user_id=carol.id) == []
    assert world.identities(org_id=world.org_a.id) == []
    assert [u.id for u in world.users_named(carol.email)] == [carol.id]  # the reading sees rows


def test_a_subject_linked_in_a_cannot_enter_b_through_the_same_issuer(app, world, browser, idp_a):
    ann_user = world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    assert browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())).status_code == 302
    # Organisation B moves to the very same provider (a shared, multi-tenant issuer).
    world.configure_b(provider_form(idp_a, B_ON_A_CLIENT, B_ON_A_SECRET, [B_DOMAIN]))

    other = app.test_client()
    callback = trip(other, idp_a, f"bob@{B_DOMAIN}", ann(email=f"ann@{B_DOMAIN}"))
    assert idp_a.authorization_requests[-1]["client_id"] == B_ON_A_CLIENT
    assert_refused(other.get(callback), "This account cannot sign in here.")
    assert_signed_out(other)
    assert world.users_named(f"ann@{B_DOMAIN}") == []
    assert [i.user_id for i in world.identities(subject="ann-1")] == [ann_user.id]


def test_the_same_subject_at_another_issuer_is_another_person(world, browser, idp_a, idp_b):
    world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    bob_user = world.member(world.org_b, f"bob@{B_DOMAIN}", "Bob Beta")
    assert browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())).status_code == 302
    other = browser.application.test_client()
    same_sub = bob(sub="ann-1")
    assert other.get(trip(other, idp_b, f"bob@{B_DOMAIN}", same_sub)).status_code == 302
    assert_signed_in(other, world.org_b, "Bob Beta")
    assert [i.user_id for i in world.identities(issuer=idp_b.issuer)] == [bob_user.id]
    owners = {(i.issuer, i.org_id) for i in world.identities(subject="ann-1")}
    assert owners == {(idp_a.issuer, world.org_a.id), (idp_b.issuer, world.org_b.id)}


def test_an_email_handed_to_a_new_person_does_not_open_the_old_account(app, world, browser, idp_a):
    old_ann = world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    assert browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())).status_code == 302
    # Ann is renamed at her provider; later a new hire gets her old address.
    renamed = app.test_client()
    renamed.get(trip(renamed, idp_a, f"ann@{A_DOMAIN}", ann(email=f"ann.smith@{A_DOMAIN}")))
    newcomer = app.test_client()
    claims = {"sub": "ann-2", "email": f"ann@{A_DOMAIN}", "email_verified": True, "name": "New"}
    response = newcomer.get(trip(newcomer, idp_a, f"ann@{A_DOMAIN}", claims))
    assert [i.subject for i in world.identities(user_id=old_ann.id)] == ["ann-1"]
    assert_refused(response)
    assert_signed_out(newcomer)


def test_a_deactivated_user_cannot_sign_in_through_the_provider(world, browser, idp_a, db):
    world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    assert browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())).status_code == 302
    [user] = world.users_named(f"ann@{A_DOMAIN}")  # fresh: the sign-in changed the row
    user.active = False
    db.flush()
    other = browser.application.test_client()
    assert_refused(other.get(trip(other, idp_a, f"ann@{A_DOMAIN}", ann())), "cannot sign in here")
    assert_signed_out(other)


def test_no_one_joins_an_organisation_deactivated_during_sign_in(world, browser, idp_a, db):
    callback = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    fresh(db).get(Organization, world.org_a.id).active = False
    db.flush()
    response = browser.get(callback)
    assert world.users_named(f"ann@{A_DOMAIN}") == []
    assert_refused(response)


# --- configuration changes take effect at once --------------------------------------------------


def test_new_client_credentials_are_used_at_once_and_older_sign_ins_are_refused(
    app, world, browser, idp_a
):
    world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    started_before = trip(browser, idp_a, f"ann@{A_DOMAIN}", ann())
    world.configure_a(provider_form(idp_a, A_CLIENT_2, A_SECRET_2, [A_DOMAIN]))
    assert world.provider_of(world.org_a).config_version == 2

    assert_refused(
        browser.get(started_before), "The sign-in settings changed meanwhile. Sign in again."
    )
    assert_signed_out(browser)
    assert idp_a.token_requests == []  # the old client's code was never redeemed

    later = app.test_client()
    response = later.get(trip(later, idp_a, f"ann@{A_DOMAIN}", ann()))
    assert idp_a.authorization_requests[-1]["client_id"] == A_CLIENT_2
    assert response.status_code == 302, page(response)[:1000]
    # The provider accepted the code only with the new client's id and secret.
    assert [r["status"] for r in idp_a.token_requests] == [200]
    assert_signed_in(later, world.org_a, "Ann Alpha")


def test_changed_domains_are_used_at_once(app, world, browser, idp_a, idp_b):
    newly = world.member(world.org_a, "ann@alpha-new.test", "Ann Alpha")
    world.configure_a(provider_form(idp_a, A_CLIENT, A_SECRET, ["alpha-new.test"]))
    # The old domain no longer leads to the provider: it is a plain password sign-in now.
    response = browser.post("/login", data={"email": f"ann@{A_DOMAIN}"})
    assert response.status_code == 422 and "Enter your password." in page(response)
    # The new one does, and only addresses of the new domain are let in.
    callback = trip(browser, idp_a, "ann@alpha-new.test", ann())
    assert_refused(browser.get(callback), "not one your organisation allows")
    later = app.test_client()
    response = later.get(trip(later, idp_a, "ann@alpha-new.test", ann(email="ann@alpha-new.test")))
    assert response.status_code == 302
    assert_signed_in(later, world.org_a, "Ann Alpha")
    assert [i.user_id for i in world.identities(issuer=idp_a.issuer)] == [newly.id]
    # The freed domain can be taken by another organisation.
    world.configure_b(provider_form(idp_b, B_CLIENT, B_SECRET, [B_DOMAIN, A_DOMAIN]))


# --- password sign-in --------------------------------------------------------------------------


def test_when_passwords_are_off_the_form_sends_people_to_the_provider(
    app, world, browser, idp_a, user_factory
):
    carol = user_factory(world.org_a, "partner_user", email=f"carol@{A_DOMAIN}")
    # While passwords are allowed, a password signs Carol in directly.
    direct = app.test_client()
    response = direct.post("/login", data={"email": carol.email, "password": PASSWORD})
    assert response.headers["Location"] == "/home"

    world.configure_a(
        provider_form(idp_a, A_CLIENT, A_SECRET, [A_DOMAIN], password_login_allowed=False)
    )
    location = begin(browser, carol.email, password=PASSWORD)
    assert location.startswith(idp_a.url("/authorize") + "?")
    assert_signed_out(browser)
    # Someone of the organisation whose address is outside its domains: refused, even with
    # the right password, and told how to sign in.
    member = user_factory(world.org_a, "partner_user", email="dana@alpha-old.test")
    response = app.test_client().post("/login", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "Your organisation signs in through its identity provider" in page(response)
    # Nor can the admin who turned passwords off (an address outside the domains too).
    response = app.test_client().post(
        "/login", data={"email": world.admin_a.email, "password": PASSWORD}
    )
    assert response.status_code == 422
    # Other organisations are not affected.
    other = app.test_client()
    response = other.post("/login", data={"email": world.admin_b.email, "password": PASSWORD})
    assert response.headers["Location"] == "/home"


# --- the configuration page ----------------------------------------------------------------------


def test_an_issuer_without_discovery_is_refused_clearly(world, idp_a):
    response = world.configure_a(
        provider_form(idp_a, A_CLIENT, A_SECRET, [A_DOMAIN], issuer=idp_a.issuer + "/nothing"),
        status=422,
    )
    expected = f"No OpenID Connect discovery document was found at {idp_a.issuer}/nothing/"
    assert expected in page(response)
    assert world.provider_of(world.org_a).issuer == idp_a.issuer  # unchanged


def test_an_issuer_that_the_provider_does_not_claim_is_refused(world, idp_a, idp_b):
    # The same server reached under another name: its discovery names its own issuer.
    alias = idp_a.issuer.replace("127.0.0.1", "localhost")
    response = world.configure_a(
        provider_form(idp_a, A_CLIENT, A_SECRET, [A_DOMAIN], issuer=alias), status=422
    )
    assert f"The provider says its issuer is {idp_a.issuer}, not {alias}." in page(response)
    provider = world.provider_of(world.org_a)
    assert (provider.issuer, provider.config_version) == (idp_a.issuer, 1)


def test_https_and_public_addresses_are_required_outside_development(
    app, world, idp_a, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_ENV", "production")
    monkeypatch.setitem(app.config, "SSO_ALLOW_INSECURE_LOOPBACK", False)

    def no_network(*args, **kwargs):
        raise AssertionError(f"a request was made: {args}")

    monkeypatch.setattr(sso_settings.requests, "get", no_network)

    with app.test_request_context():
        with pytest.raises(InvalidInput, match="must be an https URL"):
            sso_settings.fetch_discovery("http://93.184.215.14")
        for issuer in (
            "https://127.0.0.1",
            f"https://127.0.0.1:{idp_a.port}/realms/a",
            "https://10.0.0.1",
            "https://192.168.1.20/realm",
            "https://169.254.169.254",
            "https://[::1]",
        ):
            with pytest.raises(InvalidInput, match="private, loopback or link-local") as caught:
                sso_settings.fetch_discovery(issuer)
            assert caught.value.field == "issuer"

    # The admin page says so too, and keeps the saved configuration.
    response = world.configure_a(provider_form(idp_a, A_CLIENT, A_SECRET, [A_DOMAIN]), status=422)
    assert "The issuer URL must be an https URL." in page(response)
    assert world.provider_of(world.org_a).config_version == 1


def test_the_servers_own_calls_must_also_go_to_public_https(app, monkeypatch):
    """A public issuer whose discovery points the token or key endpoint into our network."""
    monkeypatch.setitem(app.config, "PORTAL_ENV", "production")
    monkeypatch.setitem(app.config, "SSO_ALLOW_INSECURE_LOOPBACK", False)
    issuer = "https://93.184.215.14"

    class Answer:
        status_code = 200

        def __init__(self, document):
            self.document = document

        def json(self):
            return self.document

    for key, url, message in [
        ("jwks_uri", "https://169.254.169.254/keys", "jwks_uri points at a private"),
        ("token_endpoint", "http://93.184.215.14/token", "token_endpoint must be an https URL"),
    ]:
        document = {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks",
            key: url,
        }
        monkeypatch.setattr(sso_settings.requests, "get", lambda *a, _d=document, **k: Answer(_d))
        with app.test_request_context(), pytest.raises(InvalidInput, match=message):
            sso_settings.fetch_discovery(issuer)


def test_a_domain_of_another_organisation_is_refused(world, idp_b, org_factory, user_factory):
    response = world.configure_b(
        provider_form(idp_b, B_CLIENT, B_SECRET, [B_DOMAIN, A_DOMAIN]), status=422
    )
    assert f"{A_DOMAIN} belongs to another organisation." in page(response)
    # A domain that people of another organisation use for their addresses, too.
    user_factory(org_factory("customer"), "customer_user", email="someone@gamma.test")
    response = world.configure_b(
        provider_form(idp_b, B_CLIENT, B_SECRET, [B_DOMAIN, "gamma.test"]), status=422
    )
    assert "People of another organisation use gamma.test." in page(response)
    provider = world.provider_of(world.org_b)
    assert (provider.allowed_domains, provider.config_version) == ([B_DOMAIN], 1)


def test_the_client_secret_is_stored_encrypted_and_a_blank_one_keeps_it(app, world, browser, idp_a):
    ann_user = world.member(world.org_a, f"ann@{A_DOMAIN}", "Ann Alpha")
    rows = fresh(world.db).execute(text("SELECT * FROM identity_providers")).all()
    dump = " ".join(str(value) for row in rows for value in row)
    assert A_SECRET not in dump and B_SECRET not in dump
    stored = world.provider_of(world.org_a).client_secret_encrypted
    with app.app_context():
        assert sso_settings.decrypt_secret(stored) == A_SECRET
    shown = page(world.admin_client_a.get("/admin/sign-in"))
    assert A_SECRET not in shown and stored not in shown

    # An edit with a blank secret keeps it, and sign-in still works with it.
    world.configure_a(provider_form(idp_a, A_CLIENT, "", [A_DOMAIN], role="partner_admin"))
    provider = world.provider_of(world.org_a)
    assert provider.config_version == 2 and provider.default_role == "partner_admin"
    with app.app_context():
        assert sso_settings.decrypt_secret(provider.client_secret_encrypted) == A_SECRET
    response = browser.get(trip(browser, idp_a, f"ann@{A_DOMAIN}", ann()))
    assert response.status_code == 302 and idp_a.token_requests[-1]["status"] == 200
    assert_signed_in(browser, world.org_a, ann_user.name)
    # The audit trail of the configuration never holds the secret.
    events = (
        fresh(world.db)
        .scalars(select(AuditEvent).where(AuditEvent.action == "sso.configured"))
        .all()
    )
    assert len(events) == 3 and all(A_SECRET not in str((e.before, e.after)) for e in events)


def test_a_first_configuration_needs_a_secret(client_as, db, org_factory, user_factory, idp_a):
    org = org_factory("supplier")
    admin_client = client_as(user_factory(org, "partner_admin"))
    response = admin_client.post(
        "/admin/sign-in", data=provider_form(idp_a, A_CLIENT, "", ["delta.test"])
    )
    assert response.status_code == 422 and "Give the client secret." in page(response)
    assert (
        fresh(db).scalar(select(IdentityProvider).where(IdentityProvider.org_id == org.id)) is None
    )
    assert fresh(db).get(Organization, org.id).kind == "supplier"  # the reading sees rows at all


def test_only_an_organisations_admin_may_open_the_configuration(
    app, world, client_as, user_factory, idp_a
):
    anonymous = app.test_client().get("/admin/sign-in")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    client = client_as(user_factory(world.org_a, "partner_user"))
    assert client.get("/admin/sign-in").status_code == 403
    data = provider_form(idp_a, "x", "y", ["evil.test"])
    assert client.post("/admin/sign-in", data=data).status_code == 403
    assert world.provider_of(world.org_a).config_version == 1
    # Each admin sees only the configuration of its own organisation.
    shown_b = page(world.admin_client_b.get("/admin/sign-in"))
    assert B_CLIENT in shown_b and A_CLIENT not in shown_b

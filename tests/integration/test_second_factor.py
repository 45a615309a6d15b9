"""A second factor after the password: enrolment (QR code, a first code, ten recovery codes shown
once), the half-signed-in step, codes used once, recovery codes, turning it off, code-attempt
limits, and who must have one (an organisation's demand; vendor staff in production)."""

import re

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select

from portal.identity.models import UserSession
from portal.identity.security.models import RecoveryCode, SecondFactor, SignInRule
from portal.identity.security.second_factor import code_matches
from tests.factories import PASSWORD
from tests.unchanged import fresh, unchanged

START = "2026-03-02 09:00:10 +0000"


def enrol(client) -> tuple[pyotp.TOTP, list[str]]:
    """Set up an authenticator through the pages; returns it and the recovery codes shown."""
    assert client.post("/account/security/second-factor/setup").status_code == 302
    page = client.get("/account/security/second-factor/confirm").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert 'src="data:image/svg+xml' in page  # the QR code, inline
    totp = pyotp.TOTP(secret.replace(" ", ""))
    shown = client.post("/account/security/second-factor/confirm", data={"code": totp.now()})
    assert shown.status_code == 200, shown.get_data(as_text=True)[:2000]
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", shown.get_data(as_text=True))
    return totp, codes


def password_step(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.fixture
def member(org_factory, user_factory):
    return user_factory(org_factory("reseller"), "partner_user")


def test_enrol_then_sign_in_with_a_code(app, client_as, member, db):
    with time_machine.travel(START, tick=False) as clock:
        totp, codes = enrol(client_as(member))
        factor = fresh(db).scalar(select(SecondFactor).where(SecondFactor.user_id == member.id))
        assert factor.confirmed_at is not None
        assert totp.secret not in factor.secret_encrypted  # encrypted at rest
        assert len(codes) == len(set(codes)) == 10
        stored = db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == member.id)).all()
        assert len(stored) == 10 and all(r.code_hash.startswith("$argon2id$") for r in stored)
        assert not any(c.replace("-", "") in r.code_hash for c in codes for r in stored)

        clock.shift(30)
        browser = app.test_client()
        response = password_step(browser, member)
        assert response.headers["Location"] == "/login/code"
        # Half signed in: nothing else is granted.
        assert browser.get("/home").headers["Location"].startswith("/login")
        assert browser.get("/account/security").status_code == 302
        response = browser.post("/login/code", data={"code": totp.now()})
        assert response.status_code == 302 and response.headers["Location"] == "/home"
        assert browser.get("/home").status_code == 200
        sessions = fresh(db).scalars(select(UserSession).where(UserSession.user_id == member.id))
        # The enrolling session counts as proven by the app from then on.
        assert sorted(s.signed_in_with for s in sessions) == ["totp", "totp"]
        # The key is never shown again once confirmed.
        page = browser.get("/account/security").get_data(as_text=True)
        assert totp.secret not in page and 'data-testid="second-factor-on"' in page
        assert browser.get("/account/security/second-factor/confirm").status_code == 302


def test_a_wrong_code_is_refused_and_changes_nothing(app, client_as, member, db):
    with time_machine.travel(START, tick=False) as clock:
        totp, _ = enrol(client_as(member))
        clock.shift(30)
        factor = db.scalar(select(SecondFactor).where(SecondFactor.user_id == member.id))
        browser = app.test_client()
        password_step(browser, member)
        wrong = f"{(int(totp.now()) + 1) % 1000000:06d}"
        with unchanged(db, factor, counted=[UserSession, RecoveryCode]):
            response = browser.post("/login/code", data={"code": wrong})
            assert response.status_code == 422
            assert "That code is not right" in response.get_data(as_text=True)
            response = browser.post("/login/code", data={"code": "abcde-fghij"})
            assert response.status_code == 422
        assert browser.get("/home").status_code == 302


def test_a_code_is_taken_once(app, client_as, member, db):
    with time_machine.travel(START, tick=False) as clock:
        totp, _ = enrol(client_as(member))
        clock.shift(30)
        code = totp.now()
        first, second = app.test_client(), app.test_client()
        password_step(first, member)
        password_step(second, member)
        assert first.post("/login/code", data={"code": code}).status_code == 302
        factor = fresh(db).scalar(select(SecondFactor).where(SecondFactor.user_id == member.id))
        with unchanged(db, factor, counted=[UserSession]):
            assert second.post("/login/code", data={"code": code}).status_code == 422
        clock.shift(30)  # the next step's code works
        assert second.post("/login/code", data={"code": totp.now()}).status_code == 302


def test_a_recovery_code_works_once(app, client_as, member, db):
    with time_machine.travel(START, tick=False):
        _, codes = enrol(client_as(member))
        first = app.test_client()
        password_step(first, member)
        assert first.post("/login/code", data={"code": codes[3].upper()}).status_code == 302
        assert first.get("/home").status_code == 200
        used = fresh(db).scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
        assert len(used.all()) == 1
        again = app.test_client()
        password_step(again, member)
        assert again.post("/login/code", data={"code": codes[3]}).status_code == 422
        assert again.post("/login/code", data={"code": codes[4]}).status_code == 302


def test_the_code_step_expires(app, client_as, member):
    with time_machine.travel(START, tick=False) as clock:
        totp, _ = enrol(client_as(member))
        browser = app.test_client()
        password_step(browser, member)
        clock.shift(6 * 60)
        response = browser.post("/login/code", data={"code": totp.now()})
        assert response.status_code == 302 and response.headers["Location"] == "/login"
        assert browser.get("/home").status_code == 302


def test_code_attempts_are_limited(app, client_as, member, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "3 per 15 minutes")
    with time_machine.travel(START, tick=False) as clock:
        totp, _ = enrol(client_as(member))
        clock.shift(30)
        browser = app.test_client()
        password_step(browser, member)
        for _ in range(3):
            assert browser.post("/login/code", data={"code": "000000"}).status_code == 422
        assert browser.post("/login/code", data={"code": totp.now()}).status_code == 429
        assert browser.get("/home").status_code == 302


def test_turning_it_off_needs_a_code_or_the_password(app, client_as, member, db):
    with time_machine.travel(START, tick=False) as clock:
        client = client_as(member)
        totp, _ = enrol(client)
        clock.shift(30)
        factor = db.scalar(select(SecondFactor).where(SecondFactor.user_id == member.id))
        with unchanged(db, factor, counted=[SecondFactor, RecoveryCode]):
            client.post("/account/security/second-factor/disable", data={"proof": "wrong-one"})
        client.post("/account/security/second-factor/disable", data={"proof": PASSWORD})
        assert fresh(db).scalar(select(func.count()).select_from(SecondFactor)) == 0
        assert fresh(db).scalar(select(func.count()).select_from(RecoveryCode)) == 0
        # Signing in asks for the password alone again.
        assert password_step(app.test_client(), member).headers["Location"] == "/home"


def test_an_organisation_can_require_a_second_factor(app, client_as, org_factory, user_factory, db):
    org = org_factory("customer")
    admin = user_factory(org, "customer_admin")
    member = user_factory(org, "customer_user")
    admin_client = client_as(admin)
    with unchanged(db, org, counted=[SignInRule]):
        assert (
            client_as(member)
            .post("/admin/second-factor", data={"require_second_factor": "y"})
            .status_code
            == 403
        )
    assert admin_client.get("/admin/second-factor").status_code == 200
    response = admin_client.post("/admin/second-factor", data={"require_second_factor": "y"})
    assert response.status_code == 302
    assert (
        fresh(db)
        .scalar(select(SignInRule).where(SignInRule.org_id == org.id))
        .require_second_factor
    )
    with time_machine.travel(START, tick=False):
        browser = client_as(member)
        # Sent to enrolment, whatever they ask for, until enrolled.
        for path in ("/home", "/cases", "/account"):
            assert browser.get(path).headers["Location"] == "/account/security"
        assert browser.post("/account", data={"name": "X"}).status_code == 302
        assert fresh(db).get(type(member), member.id).name == member.name
        assert browser.get("/account/security").status_code == 200
        enrol(browser)
        assert browser.get("/home").status_code == 200


def test_production_requires_it_of_vendor_staff(
    app, client_as, org_factory, user_factory, vendor, monkeypatch, db
):
    staff = user_factory(vendor, "vendor_admin")
    partner = user_factory(org_factory("reseller"), "partner_user")
    staff_client, partner_client = client_as(staff), client_as(partner)
    assert staff_client.get("/home").status_code == 200
    from portal.config import from_environment

    production = from_environment({"PORTAL_ENV": "production", "SECRET_KEY": "k"})
    assert production["SECOND_FACTOR_FOR_VENDOR_STAFF"] is True  # production's default
    assert from_environment({})["SECOND_FACTOR_FOR_VENDOR_STAFF"] is False
    monkeypatch.setitem(app.config, "SECOND_FACTOR_FOR_VENDOR_STAFF", True)
    assert staff_client.get("/home").headers["Location"] == "/account/security"
    assert partner_client.get("/home").status_code == 200
    # Single sign-on sessions are exempt: their provider decides.
    for row in db.scalars(select(UserSession).where(UserSession.user_id == staff.id)):
        row.signed_in_with = "sso"
    db.flush()
    assert staff_client.get("/home").status_code == 200


def test_a_replayed_confirmation_code_cannot_sign_in(app, client_as, member, db):
    """The code that confirmed the enrolment is used: it does not also sign in."""
    with time_machine.travel(START, tick=False):
        totp, _ = enrol(client_as(member))
        browser = app.test_client()
        password_step(browser, member)
        assert browser.post("/login/code", data={"code": totp.now()}).status_code == 422


def test_recovery_codes_are_hashed_like_passwords(app, client_as, member, db):
    with time_machine.travel(START, tick=False):
        _, codes = enrol(client_as(member))
    row = db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == member.id)).first()
    assert row.code_hash.startswith("$argon2id$")
    assert any(code_matches(row.code_hash, c.replace("-", "")) for c in codes)

"""The language of pages, emails and quote PDFs: the person's choice, else the browser's, else
English; mail and documents in their recipient's language, whoever causes them."""

from __future__ import annotations

import io
import re

import pytest
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader
from sqlalchemy import select

from partners.quotes import documents
from portal import i18n
from portal.db import db as portal_db
from portal.db import unscoped
from portal.identity.models import User
from portal.notify import services as notify
from portal.notify.models import Notification
from tests.unchanged import unchanged

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}


def page_language(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no <html lang> on the page"
    return match.group(1)


def stored_locale(db, user) -> str | None:
    db.expire_all()
    return db.scalar(select(User.locale).where(User.id == user.id))


@pytest.fixture
def reseller(org_factory):
    return org_factory("reseller")


def test_a_visitor_whose_browser_asks_for_german_reads_german(client):
    page = client.get("/login", headers=GERMAN).get_data(as_text=True)
    assert page_language(page) == "de"
    assert "Passwort" in page and "Password" not in page
    assert 'value="en" lang="en"' in page and ">English</span>" in page  # the switch


def test_a_visitor_gets_english_by_default_and_for_languages_the_portal_lacks(client):
    for headers in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}, ENGLISH):
        page = client.get("/login", headers=headers).get_data(as_text=True)
        assert page_language(page) == "en"
        assert "Password" in page


def test_the_persons_setting_beats_the_browsers(db, client_as, reseller, user_factory):
    english = user_factory(reseller, locale="en")
    german = user_factory(reseller, locale="de")
    page = client_as(english).get("/account", headers=GERMAN).get_data(as_text=True)
    assert page_language(page) == "en" and "Sign out" in page
    page = client_as(german).get("/account", headers=ENGLISH).get_data(as_text=True)
    assert page_language(page) == "de" and "Abmelden" in page and "Sign out" not in page


def test_without_a_setting_a_person_reads_the_browsers_language(
    db, client_as, reseller, user_factory
):
    person = user_factory(reseller)
    page = client_as(person).get("/account", headers=GERMAN).get_data(as_text=True)
    assert page_language(page) == "de" and "Abmelden" in page


def test_the_switch_stores_the_choice_and_returns_to_the_page(
    db, client_as, reseller, user_factory
):
    person = user_factory(reseller)
    browser = client_as(person)
    response = browser.post("/language", data={"locale": "de", "next": "/account"}, headers=ENGLISH)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert stored_locale(db, person) == "de"
    page = browser.get("/account", headers=ENGLISH).get_data(as_text=True)
    assert page_language(page) == "de" and "Abmelden" in page
    browser.post("/language", data={"locale": "en", "next": "/account"})
    assert stored_locale(db, person) == "en"


def test_the_switch_refuses_a_language_it_does_not_offer_and_changes_nothing(
    db, client_as, reseller, user_factory
):
    person = user_factory(reseller, locale="de")
    browser = client_as(person)
    with unchanged(db, person):
        response = browser.post("/language", data={"locale": "fr", "next": "https://evil.test/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert stored_locale(db, person) == "de"
    assert "portal_locale" not in response.headers.get("Set-Cookie", "")


def test_a_visitors_choice_is_kept_in_a_cookie(client):
    response = client.post("/language", data={"locale": "de", "next": "/login"}, headers=ENGLISH)
    assert response.status_code == 302
    assert "portal_locale=de" in response.headers["Set-Cookie"]
    page = client.get("/login", headers=ENGLISH).get_data(as_text=True)
    assert page_language(page) == "de" and "Passwort" in page


def test_pages_say_they_vary_by_language(client):
    vary = client.get("/login").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_a_notification_is_written_to_each_person_in_their_language(
    app, db, mailbox, reseller, user_factory
):
    german = user_factory(reseller, locale="de")
    english = user_factory(reseller, locale="en")
    unset = user_factory(reseller)  # no choice: the default, English
    # Caused by a request in German: each recipient still reads their own language.
    with app.test_request_context(headers=GERMAN):
        session = portal_db.session
        with unscoped(session):
            notify.notify(
                [german, english, unset],
                "admin.organization_changed",
                _l(
                    "Quote %(label)s: %(total)s %(currency)s",
                    label="Q-1",
                    total="10",
                    currency="EUR",
                ),
                body=_l("Thank you for your feedback."),
                link=notify.link("dashboard.home"),
            )
            session.commit()

    [to_german] = mailbox.to(german.email)
    assert to_german["Subject"] == "Angebot Q-1: 10 EUR"
    assert "Vielen Dank für Ihr Feedback." in to_german.get_content()
    for person in (english, unset):
        [mail] = mailbox.to(person.email)
        assert mail["Subject"] == "Quote Q-1: 10 EUR"
        assert "Thank you for your feedback." in mail.get_content()
    titles = dict(
        db.execute(
            select(Notification.user_id, Notification.title).where(
                Notification.user_id.in_([german.id, english.id])
            )
        ).all()
    )
    assert titles == {german.id: "Angebot Q-1: 10 EUR", english.id: "Quote Q-1: 10 EUR"}


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_a_quote_pdf_is_in_the_language_of_its_recipients(
    app, db, vendor, org_factory, user_factory, quote_factory
):
    customer = org_factory("customer")
    user_factory(customer, "customer_admin", locale="de")
    user_factory(customer, "customer_user", locale="de")
    quote = quote_factory(customer, status="draft", lines=2)
    with app.test_request_context(headers=ENGLISH):  # rendered by an English-speaking seller
        assert documents.language_of(quote) == "de"
        text = pdf_text(documents.quote_pdf(quote, draft=False))
    assert f"Angebot {quote.number}" in text
    for heading in ("Gültig bis", "Positionen", "Zwischensumme", "Gesamt", "Seite 1 von"):
        assert heading in text, heading
    assert "Valid until" not in text and "Subtotal" not in text


def test_a_quote_pdf_for_readers_of_several_languages_is_in_the_default(
    app, db, vendor, org_factory, user_factory, quote_factory
):
    customer = org_factory("customer")
    user_factory(customer, "customer_admin", locale="de")
    user_factory(customer, "customer_user")  # no choice: the default
    quote = quote_factory(customer, status="draft")
    with app.test_request_context(headers=GERMAN):
        assert documents.language_of(quote) == i18n.default_locale() == "en"
        text = pdf_text(documents.quote_pdf(quote, draft=False))
    assert f"Quote {quote.number}" in text and "Valid until" in text and "Page 1 of" in text


@pytest.mark.parametrize("kind", ["vendor", "distributor", "supplier", "customer"])
def test_every_kind_of_person_can_switch(db, client_as, vendor, org_factory, user_factory, kind):
    person = user_factory(vendor if kind == "vendor" else org_factory(kind))
    response = client_as(person).post("/language", data={"locale": "de", "next": "/home"})
    assert response.status_code == 302
    assert stored_locale(db, person) == "de"


def test_a_cases_priority_reads_in_the_readers_language(
    db, client_as, vendor, org_factory, user_factory, case_factory
):
    customer = org_factory("customer")
    german = user_factory(customer, "customer_admin", locale="de")
    agent = user_factory(vendor, "support_agent", locale="en")
    case = case_factory(customer, german, priority="urgent")
    db.commit()
    mine = client_as(german)
    for page in (mine.get("/cases/"), mine.get(f"/cases/{case.id}")):
        text = page.get_data(as_text=True)
        assert "Dringend" in text and "urgent" not in text.lower().replace("dringend", "")
    queue = client_as(agent).get("/cases/queue").get_data(as_text=True)
    assert ">Urgent<" in queue

"""Steps every browser journey takes the same way: click, open, sign in and out, read a table
and wait for a chart."""

from __future__ import annotations

import re

from playwright.sync_api import Error, Page, expect

from portal.seed import DEMO_PASSWORD

LOGIN_URL = re.compile(r"/login(\?.*)?$")
HOME_URL = re.compile(r"/home$")


def loaded(page: Page) -> None:
    """Wait until the current page has loaded. The document's own state decides first: after a
    form answered with a download (the personal-data zip), Playwright may wait for a load event
    that never comes, the document shown being the one loaded before."""
    try:
        if page.evaluate("document.readyState") == "complete":
            return
    except Error:  # a navigation in progress: its load is the one to wait for
        pass
    page.wait_for_load_state("load")


def click(target) -> None:
    """Click what leads to another page, once the current one has loaded: leaving a page whose
    scripts are still in flight aborts them, which the browser guard counts as failed requests."""
    target.wait_for()  # on the page now expected, not the one being left
    loaded(target.page)
    target.click()


def goto(page: Page, path: str) -> None:
    """Open an address, once the current page has loaded (as ``click``)."""
    loaded(page)
    page.goto(path)


def nav(page: Page):
    return page.get_by_role("navigation", name="Main navigation")


def nav_link(page: Page, name: str):
    """A link of the main navigation, reached as a person reaches it: the menu opened on a narrow
    window, and the drop-down of its area opened when it is in one (a plain link otherwise)."""
    loaded(page)
    link = nav(page).get_by_role("link", name=name, exact=True, include_hidden=True)
    link.first.wait_for(state="attached")
    toggler = nav(page).locator(".navbar-toggler")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
    inside = page.get_by_role("link", name=name, exact=True, include_hidden=True)  # for has=
    menu = nav(page).locator("li.dropdown").filter(has=inside)
    if menu.count() and not link.is_visible():
        menu.locator("[data-bs-toggle=dropdown]").click()
    return nav(page).get_by_role("link", name=name, exact=True)


def sign_in(page: Page, email: str) -> None:
    goto(page, "/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    click(page.get_by_role("button", name="Sign in"))
    expect(page).to_have_url(HOME_URL)
    loaded(page)  # the URL changes before the stylesheets arrive; tests read computed styles


def sign_out(page: Page) -> None:
    click(nav(page).get_by_role("button", name="Sign out"))
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("alert")).to_have_text("You are signed out.")


def table_rows(page: Page, table_id: str) -> list[list[str]]:
    """The cells' texts of the table ``table_id``, row by row, once the page has loaded (read
    earlier, a table still arriving reads short)."""
    loaded(page)
    return page.locator(f"#{table_id} tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells,"
        " c => c.textContent.trim().replace(/\\s+/g, ' ')))"
    )


def chart_drawn(page: Page, chart_key: str) -> None:
    """Wait until Chart.js has drawn on the chart's canvas (it keeps the chart on the element)."""
    expect(page.locator(f"#chart-{chart_key}")).to_be_visible()
    page.wait_for_function(
        "id => window.Chart && Chart.getChart(document.getElementById(id)) !== undefined",
        arg=f"chart-{chart_key}",
    )

"""Organisation pages and shared ads in real Chromium: axe-core in French and English, on
a 360 px phone without sideways scrolling; the share link readable without JavaScript and
the share button shown with it; the "acting as" banner and its switch back.

SpatiaLite only: the backend plays no part in what a page looks like."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from helpers import logged_in
from test_accessibility import AXE_TAGS, axe_violations  # noqa: F401  (one axe runner)

from onemile.extensions import db
from onemile.models import Listing, OrganisationManager

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["spatialite"])]


def _world(app):
    factory = Factory(app)
    org = factory.member(kind="association", organisation_name="Les Jardins du Rebberg", email="asso@example.org")
    manager = factory.member(first_name="Manon", email="manon@example.org")
    modo = factory.moderator(factory.member(first_name="Modo", email="modo@example.org"))
    offer = factory.listing(org, title="Graines à donner", body="Tomates anciennes et haricots.")
    factory.project(org, "Verger partagé", approved_by=modo)
    factory.mag(org, "La gazette du jardin")
    with app.app_context():
        db.session.add(OrganisationManager(organisation_id=org.id, manager_id=manager.id))
        db.session.commit()
    logged_in(app, org).post(f"/listings/{offer}/sharing", data={"share": "on"})
    with app.app_context():
        token = db.session.get(Listing, offer).share_token
    return org, manager, modo, offer, token


def _context(browser, locale: str, width: int = 360, **options):
    context = browser.new_context(locale="fr-FR" if locale == "fr" else "en-GB",
                                  viewport={"width": width, "height": 800}, bypass_csp=True, **options)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(status=204, body=""))
    return context


def _check(page, url: str, found: dict, label: str | None = None) -> None:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    page.wait_for_load_state("load")
    lines = axe_violations(page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        lines.append(f"wider than the phone by {overflow}px")
    if lines:
        found[label or url] = lines


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_new_pages_pass_axe_on_a_phone(live_server, browser, locale):
    app, base = live_server.app, live_server.url
    org, manager, modo, offer, token = _world(app)
    found: dict[str, list[str]] = {}
    context = _context(browser, locale)
    page = context.new_page()
    try:
        lang = "en" if locale == "en" else "fr"
        page.goto(base + "/")
        if page.locator("html").get_attribute("lang") != lang:
            page.locator("form.lang button").click()
        for path in (f"/listings/shared/{token}", f"/organisations/{org.id}"):
            _check(page, base + path, found, f"visitor {path}")
        for member, paths in (
            (org, ["/organisations/settings", f"/listings/{offer}"]),
            (manager, ["/organisations/settings"]),
            (modo, [f"/organisations/{org.id}"]),
        ):
            page.context.clear_cookies()
            log_in_browser(page, base, member)
            page.goto(base + "/")
            if page.locator("html").get_attribute("lang") != lang:
                page.locator("form.lang button").click()
            for path in paths:
                _check(page, base + path, found, f"{member.email} {path}")
            if member is manager:
                page.locator("form", has=page.locator("input[name=organisation_id]")).locator("button").click()
                page.wait_for_load_state("load")
                assert page.locator(".acting-banner").is_visible()
                _check(page, base + "/organisations/settings", found, "manager acting")
                page.locator(".acting-banner button").click()
                page.wait_for_load_state("load")
                assert page.locator(".acting-banner").count() == 0
    finally:
        context.close()
    report = "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
    assert not found, f"axe or width ({locale}):\n{report}"


def test_the_share_link_needs_no_javascript_and_the_button_comes_with_it(live_server, browser):
    app, base = live_server.app, live_server.url
    org, *_rest, token = _world(app)
    shared = f"{base}/listings/shared/{token}"
    for javascript in (False, True):
        context = _context(browser, "en", java_script_enabled=javascript)
        page = context.new_page()
        try:
            page.goto(shared)
            field = page.locator("#share-url")
            assert field.is_visible() and field.input_value().endswith(f"/listings/shared/{token}")
            button = page.locator("button[data-share]")
            # 127.0.0.1 is a secure context: with JS the copy (or share sheet) button shows.
            assert button.is_visible() == javascript
            page.goto(f"{base}/organisations/{org.id}")
            assert page.locator("#org-share-url").input_value().endswith(f"/organisations/{org.id}")
        finally:
            context.close()

"""The alert settings on a 360 px phone, in real Chromium: no sideways scrolling, axe-clean in
French and English, and operable with the keyboard alone."""

from __future__ import annotations

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect
from sqlalchemy import select
from test_accessibility import axe_violations

from onemile.alerts.services import choices_of
from onemile.extensions import db
from onemile.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["spatialite"])]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_alert_settings_on_a_phone_with_the_keyboard(live_server, new_page, language):
    app, base = live_server.app, live_server.url
    member = Factory(app).member(language=language)
    page = new_page(locale="fr-FR" if language == "fr" else "en-GB", bypass_csp=True)  # axe is injected
    page.set_viewport_size({"width": 360, "height": 740})
    log_in_browser(page, base, member)
    page.goto(f"{base}/alerts/settings")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    # Keyboard only: the requests' "at once" radio, an arrow to the next choice, then save.
    requests = page.locator(f"#mile-{member.mile_id}-requests-instant")
    requests.focus()
    page.keyboard.press("ArrowRight")
    assert page.locator(f"#mile-{member.mile_id}-requests-digest").is_checked()
    page.locator("form.alert-settings button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    with app.app_context():
        saved = choices_of(db.session.scalar(select(Member).where(Member.id == member.id)))
        assert saved[member.mile_id]["requests"].mode == "digest"

"""The post form fits a phone (issue 15, item 5), in real Chromium at 360 px: only the fields
of the chosen kind, and the meeting-place map only when that precision is chosen."""

import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def _document_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_the_post_form_shows_only_the_fields_of_the_chosen_kind(live_server, new_page, tmp_path):
    member = Factory(live_server.app).member()
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in_browser(page, live_server.url, member)
    page.goto(f"{live_server.url}/listings/new")
    offer_types, meeting = page.locator("#offer_type-group"), page.locator("#meeting-place")
    # A request, shown approximately: neither the offer types nor the meeting-place map.
    expect(page.locator("input[name=kind][value=request]")).to_be_checked()
    expect(offer_types).to_be_hidden()
    expect(meeting).to_be_hidden()
    request_height = _document_height(page)
    page.screenshot(path=tmp_path / "post-form-request.png", full_page=True)
    print(f"\npost form, request, 360 px: {request_height} px ({tmp_path})")

    page.check("input[name=kind][value=offer]")
    expect(offer_types).to_be_visible()
    expect(meeting).to_be_hidden()
    page.check("input[name=location_mode][value=meeting_place]")
    expect(meeting).to_be_visible()
    # The map was laid out while hidden: it fills its box once shown (Leaflet measured again).
    expect(page.locator("#picker-map .leaflet-tile-pane")).to_be_attached()
    assert page.evaluate("document.querySelector('#picker-map').getBoundingClientRect().height") > 200
    page.screenshot(path=tmp_path / "post-form-meeting-place.png", full_page=True)
    print(f"post form, offer at a meeting place, 360 px: {_document_height(page)} px")
    page.check("input[name=location_mode][value=mile_only]")
    expect(meeting).to_be_hidden()
    page.check("input[name=kind][value=request]")
    expect(offer_types).to_be_hidden()
    assert _document_height(page) == request_height
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.errors == []

    # An offer still needs its type: the refusal shows the group again, with the text kept.
    page.check("input[name=kind][value=offer]")
    page.select_option("#category", "goods")
    page.fill("#title", "Donne une perceuse")
    page.fill("#body", "Avec ses mèches.")
    page.click("form.stack button[type=submit]")
    expect(page.locator("#offer_type-error")).to_be_visible()
    expect(page.locator("#title")).to_have_value("Donne une perceuse")


def test_the_post_form_works_without_javascript(live_server, new_page):
    """Without JavaScript every field is still there (CSS hides the irrelevant ones), and a
    request posts without offer fields."""
    member = Factory(live_server.app).member()
    page = new_page(java_script_enabled=False)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/auth/login")
    page.fill("#email", member.email)
    page.fill("#password", member.password)
    page.click("form.stack button[type=submit]")
    page.goto(f"{live_server.url}/listings/new")
    expect(page.locator("#offer_type-group")).to_be_hidden()
    page.check("input[name=kind][value=offer]")
    expect(page.locator("#offer_type-group")).to_be_visible()
    page.check("input[name=kind][value=request]")
    page.select_option("#category", "diy")
    page.fill("#title", "Besoin d'une échelle")
    page.fill("#body", "Pour samedi.")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    expect(page.locator("h1")).to_have_text("Besoin d'une échelle")

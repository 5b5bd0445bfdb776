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


def test_photos_posted_from_a_phone_show_in_the_gallery_the_card_the_panel_and_the_popup(live_server, new_page, tmp_path):
    """Photos through the real form, then seen by a neighbour at 360 px: a gallery reached by
    keyboard, thumbnails that take their room before they load, a popup built from text."""
    from test_mags import gps_exif, jpeg

    factory = Factory(live_server.app)
    anne, bruno = factory.member(first_name="Anne"), factory.member(first_name="Bruno")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(jpeg((1600, 1200), exif=gps_exif()))
    second = tmp_path / "IMG_0002.jpg"
    second.write_bytes(jpeg((800, 800), colour=(20, 120, 200)))
    title = "Donne une <b>lampe</b> verte"
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in_browser(page, live_server.url, anne)
    page.goto(f"{live_server.url}/listings/new")
    for choice in ("input[name=kind][value=offer]", "input[name=offer_type][value=give]"):
        page.check(choice)
    page.select_option("#category", "goods")
    for field, value in (("#title", title), ("#body", "Avec son ampoule.")):
        page.fill(field, value)
    page.set_input_files("#photos", [str(photo), str(second)])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    listing_url = page.url

    viewer = new_page()
    viewer.set_viewport_size(PHONE)
    log_in_browser(viewer, live_server.url, bruno)
    viewer.goto(listing_url)
    gallery = viewer.locator(".ad-gallery img")
    expect(gallery).to_have_count(2)
    expect(gallery.first).to_have_attribute("alt", f"Photo 1 sur 2 : {title}")
    viewer.wait_for_function("document.querySelector('.ad-gallery img').complete && document.querySelector('.ad-gallery img').naturalWidth > 0")
    # Tab reaches each photo's link; the strip stays within the phone's width.
    links = viewer.locator(".ad-gallery a")
    links.first.focus()
    viewer.keyboard.press("Tab")
    expect(links.nth(1)).to_be_focused()
    assert viewer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    viewer.screenshot(path=tmp_path / "ad-360.png", full_page=True)

    # The list: the thumbnail's box is set by its width/height before the picture arrives.
    viewer.goto(f"{live_server.url}/listings/")
    thumb = viewer.locator(".card .ad-thumb").first
    assert thumb.get_attribute("loading") == "lazy"
    assert thumb.evaluate("img => img.getBoundingClientRect().width") == 80
    assert viewer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The map: the nearest panel shows the cover; the popup builds its picture from attributes.
    viewer.goto(f"{live_server.url}/map")
    expect(viewer.locator("#nearest .ad-thumb")).to_have_count(1)
    marker = viewer.locator("#map .pin-icon").first  # the only ad on the map: Anne's
    marker.click(force=True)
    popup = viewer.locator(".leaflet-popup-content")
    expect(popup.locator("img.popup-photo")).to_have_attribute("src", re.compile(r"^/images/[0-9a-f]{32}_\d+x\d+/small\.webp$"))
    expect(popup.locator("a").first).to_have_text(title)  # the title as text, never as HTML
    expect(popup.locator("b")).to_have_count(0)
    viewer.wait_for_function("document.querySelector('.popup-photo').complete && document.querySelector('.popup-photo').naturalWidth > 0")
    viewer.screenshot(path=tmp_path / "map-popup-360.png")
    print(f"\nscreenshots in {tmp_path}")
    assert viewer.errors == [] and page.errors == []

"""The map on a 360 × 800 phone, in real Chromium (issue 15): map-first under a compact header,
the bottom sheet (button and drag), "my location" with and without permission, the tab bar,
hints that fit the pointer."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 800}, "is_mobile": True, "has_touch": True}
NEAR = "Lampe de bureau à donner"


def _phone_member_on_the_map(live_server, new_page, **options):
    factory = Factory(live_server.app)
    anne = factory.member(first_name="Anne")
    factory.listing(factory.member(first_name="Bruno"), title=NEAR)
    page = new_page(**{**PHONE, **options})
    log_in_browser(page, live_server.url, anne)
    expect(page.locator("#nearest")).to_contain_text(NEAR)
    return page


def test_the_map_fills_a_phone_and_the_sheet_opens_by_button_and_by_drag(live_server, new_page):
    page = _phone_member_on_the_map(live_server, new_page)
    viewport = page.viewport_size
    the_map = page.locator("#map").bounding_box()
    # Under a one-row header and the title strip, down to the tab bar.
    assert the_map["y"] < 130, the_map
    assert the_map["y"] + the_map["height"] >= viewport["height"] - 60, the_map
    assert the_map["width"] == viewport["width"]
    expect(page.locator(".site-header .main-nav")).to_be_hidden()
    tabbar = page.get_by_role("navigation", name="Rubriques")
    expect(tabbar).to_be_visible()
    expect(tabbar.get_by_role("link", name="Carte")).to_have_attribute("aria-current", "page")
    # The nearest list peeks from the bottom sheet, over the map.
    sheet, handle = page.locator("#sheet"), page.locator(".sheet-handle")
    expect(sheet).to_have_attribute("data-state", "peek")
    expect(handle).to_have_attribute("aria-expanded", "false")
    peek = sheet.bounding_box()["height"]
    assert peek < viewport["height"] / 4
    # The button (here with the keyboard) cycles peek → half → full → peek.
    handle.focus()
    heights = []
    for state, expanded in (("half", "true"), ("full", "true"), ("peek", "false")):
        page.keyboard.press("Enter")
        expect(sheet).to_have_attribute("data-state", state)
        expect(handle).to_have_attribute("aria-expanded", expanded)
        page.wait_for_timeout(300)  # the height transition
        heights.append(sheet.bounding_box()["height"])
    assert peek < heights[0] < heights[1] and abs(heights[2] - peek) < 2, heights
    # Escape folds an open sheet back.
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(sheet).to_have_attribute("data-state", "peek")
    expect(handle).to_be_focused()
    # Dragging the handle up most of the screen opens it fully; down again folds it.
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, 120, steps=10)
    page.mouse.up()
    expect(sheet).to_have_attribute("data-state", "full")
    box = handle.bounding_box()
    page.mouse.move(x, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(x, viewport["height"] - 40, steps=10)
    page.mouse.up()
    expect(sheet).to_have_attribute("data-state", "peek")
    # Coordinates wait behind their disclosure.
    expect(page.locator("#avatar-lat")).to_be_hidden()
    page.get_by_text("Saisir des coordonnées").click()
    expect(page.locator("#avatar-lat")).to_be_visible()
    assert page.errors == []


def test_hints_fit_the_pointer_and_wide_screens_keep_a_side_layout(live_server, new_page):
    touch = _phone_member_on_the_map(live_server, new_page)
    expect(touch.locator("#map-help")).to_be_hidden()  # no arrow keys on a touch screen
    expect(touch.locator(".hint-coarse")).to_be_visible()
    expect(touch.locator(".hint-fine")).to_be_hidden()
    desk = new_page()  # 1280 × 900, a mouse
    log_in_browser(desk, live_server.url, Factory(live_server.app).member(first_name="Chloe", email="chloe.desk@example.org"))
    expect(desk.locator("#map-help")).to_be_visible()
    expect(desk.locator(".hint-fine")).to_be_visible()
    expect(desk.locator(".tabbar")).to_be_hidden()
    expect(desk.locator(".sheet-handle")).to_be_hidden()
    sheet, the_map = desk.locator("#sheet").bounding_box(), desk.locator("#map").bounding_box()
    assert sheet["x"] + sheet["width"] <= the_map["x"], (sheet, the_map)  # side by side
    assert touch.errors == [] and desk.errors == []


def test_my_location_explores_from_the_phones_position(live_server, new_page):
    here = {"latitude": 47.7465, "longitude": 7.3412}
    page = _phone_member_on_the_map(live_server, new_page, geolocation=here, permissions=["geolocation"])
    locate = page.get_by_role("button", name="Explorer depuis ma position")
    expect(locate).to_be_visible()
    size = locate.bounding_box()
    assert size["width"] >= 44 and size["height"] >= 44
    with page.expect_response(re.compile(r"/map/nearest\?")):
        locate.click()
    expect(page.locator("#avatar-lat")).to_have_value("47.7465")
    expect(page.locator("#nearest ol.nearest")).to_have_attribute("data-lat", "47.7465")
    expect(page.locator("#nearest")).to_contain_text(NEAR)
    assert page.errors == []


def test_my_location_refused_says_so_where_the_button_is(live_server, new_page):
    page = _phone_member_on_the_map(live_server, new_page)  # no permission granted
    before = page.locator("#avatar-lat").input_value()
    page.get_by_role("button", name="Explorer depuis ma position").click()
    status = page.locator("#locate-status")
    expect(status).to_contain_text("Position refusée")
    expect(status).to_be_visible()
    assert page.locator("#avatar-lat").input_value() == before
    assert page.errors == []


def test_ads_at_one_place_are_spread_and_their_popup_is_text(live_server, new_page):
    """Three ads at the same meeting place: three pins side by side, not one on another; a
    popup shows a title with markup as text."""
    from onemile.extensions import db
    from onemile.geo import destination
    from onemile.models import Member

    factory = Factory(live_server.app)
    anne = factory.member(first_name="Anne")
    with live_server.app.app_context():
        here = destination(db.session.get(Member, anne.id).primary_mile.center_latlon, 90, 250)
    titles = ["Perceuse <b>prêtée</b>", "Échelle", "Brouette"]
    for title in titles:
        factory.listing(anne, title=title, category="diy", location_mode="meeting_place", meeting_point=here)
    page = new_page(**PHONE)
    log_in_browser(page, live_server.url, factory.member(first_name="Bruno"))
    pins = page.locator("#map .pin-icon")
    expect(pins).to_have_count(3)
    page.wait_for_load_state("networkidle")  # the markers fragment redraws them once the map settles
    # Measured in one go: a redraw between two reads would detach the elements read.
    boxes = page.eval_on_selector_all("#map .pin-icon", """els => els.map((el) => {
      const b = el.getBoundingClientRect(); return [Math.round(b.x + b.width / 2), Math.round(b.y + b.height / 2), b.width, b.height];
    })""")
    centres = {(x, y) for x, y, _, _ in boxes}
    assert len(centres) == 3, boxes
    spread = max(x for x, _ in centres) - min(x for x, _ in centres) + max(y for _, y in centres) - min(y for _, y in centres)
    assert spread >= 20, centres  # apart by more than a finger's edge
    assert all(w >= 24 and h >= 24 for _, _, w, h in boxes), boxes
    pins.nth(0).click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_be_visible()
    expect(popup.locator("b")).to_have_count(0)  # markup in a title stays text
    assert page.errors == []


def test_an_open_popup_stays_open_when_the_map_refreshes_its_markers(live_server, new_page):
    """Tapped at once after the page loads (or before a slow line brings the refreshed list),
    a popup stays open through the redraw that the moved map asks for."""
    page = _phone_member_on_the_map(live_server, new_page)
    pin = page.locator("#map .pin-icon").first
    pin.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(NEAR)
    # Arrow keys pan the map: it asks for the markers of the new view and redraws them.
    page.locator("#map").focus()
    with page.expect_response(re.compile(r"/map/markers\?")):
        page.keyboard.press("ArrowLeft")
    page.wait_for_load_state("networkidle")
    expect(popup).to_contain_text(NEAR)
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    assert page.errors == []


# Every marker on the map: what a tap at its middle would reach (elementFromPoint): itself,
# the map's own buttons or the bottom sheet over it ("chrome"), or another marker (its title).
_HIT_TEST = """() => Array.from(document.querySelectorAll('#map .leaflet-marker-icon')).map((el) => {
  const b = el.getBoundingClientRect(), x = b.x + b.width / 2, y = b.y + b.height / 2;
  const hit = x >= 0 && y >= 0 && x < innerWidth && y < innerHeight ? document.elementFromPoint(x, y) : null;
  const other = hit && hit.closest('.leaflet-marker-icon');
  return {kind: el.classList.contains('pin-icon') ? 'pin' : el.classList.contains('cluster-icon') ? 'badge' : 'avatar',
    title: el.title, own: !!el.querySelector('.pin-own'), x, y,
    reaches: !hit ? 'off screen' : el.contains(hit) ? 'itself'
      : hit.closest('.leaflet-control-container, .map-fab, #sheet, .tabbar') ? 'chrome' : other ? other.title : hit.className};
})"""


def test_on_a_crowded_mile_every_pin_is_a_target_of_its_own_and_my_new_ads_show_at_once(live_server, new_page):
    """A phone (360 × 740, DPR 2, touch) opens the map of a crowded mile: past the first
    view's cap, ads come as groups and lone ads as pins. A tap at the middle of every pin
    reaches that pin (no badge, other pin or avatar on it); no pin hides a badge's middle
    either; and the member's two new ads are pins of their own, not counted in a group,
    listed under "On the map", each opening its own popup."""
    import random

    from conftest import insert_open_offers

    from onemile.extensions import db
    from onemile.geo import destination
    from onemile.models import Member

    factory = Factory(live_server.app)
    anne = factory.member(first_name="Anne")
    with live_server.app.app_context():
        centre = db.session.get(Member, anne.id).primary_mile.center_latlon
        rng = random.Random(15)
        insert_open_offers([destination(centre, rng.uniform(0, 360), 1500 * rng.random() ** 0.7) for _ in range(70)])
    mine = ["Ma perceuse à prêter", "Cherche un coup de main samedi"]
    for title in mine:
        factory.listing(anne, title=title)
    page = new_page(**{**PHONE, "viewport": {"width": 360, "height": 740}, "device_scale_factor": 2})
    log_in_browser(page, live_server.url, anne)
    # Drawn in batches: wait for every listed pin, then read them all in one go.
    page.wait_for_function("""() => document.querySelectorAll('#markers li[data-cluster]').length > 0
      && document.querySelectorAll('#map .pin-icon').length === document.querySelectorAll('#markers li[data-id]').length""")
    expect(page.locator("#markers li[data-own]")).to_have_count(2)
    for title in mine:
        expect(page.locator("#markers")).to_contain_text(title)
    markers = page.evaluate(_HIT_TEST)
    pins = [m for m in markers if m["kind"] == "pin"]
    assert sum(m["reaches"] == "itself" for m in pins) >= 20, markers
    assert sum(m["kind"] == "badge" and m["reaches"] == "itself" for m in markers) >= 2, markers
    # The zoom buttons, the attribution, "my location" or the sheet may lie over a marker at
    # the map's edge; another marker never does.
    assert [m for m in markers if m["kind"] != "avatar" and m["reaches"] not in ("itself", "chrome", "off screen")] == [], markers
    own = [m for m in pins if m["own"]]
    assert len(own) == 2 and all(m["reaches"] == "itself" for m in own), own
    # A real tap on each of the member's pins opens that ad's own popup.
    popup = page.locator(".leaflet-popup-content")
    for pin in own:
        page.touchscreen.tap(pin["x"], pin["y"])
        expect(popup).to_contain_text(pin["title"])
        page.keyboard.press("Escape")
        expect(popup).to_have_count(0)
    assert page.errors == []

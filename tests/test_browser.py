"""Key journeys in real Chromium (Playwright, Debian's /usr/bin/chromium)."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import log_in_browser, verification_link
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TITLE = "Donne une lampe de bureau"


def _sign_up(page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/signup")
    page.fill("#email", email)
    page.fill("#password", "un mot de passe solide")
    page.fill("#first_name", "Anne")
    page.fill("#last_name", "Martin")
    # A person (the default) has no organisation name to give: the field shows for the others.
    expect(page.locator("#organisation_name")).to_be_hidden()
    page.check("input[name=kind][value=association]")
    expect(page.locator("#organisation_name")).to_be_visible()
    page.check("input[name=kind][value=person]")
    page.fill("#postal_code", "68100")
    page.select_option("#country", "FR")
    page.click("form.stack button[type=submit]")
    # The same page for every address: the e-mailed link finishes the sign-up.
    page.wait_for_url(re.compile(r"/auth/signup/sent$"))


def _post_offer(page, base: str, title: str) -> None:
    page.goto(f"{base}/listings/new")
    page.check("input[name=kind][value=offer]")
    page.check("input[name=offer_type][value=give]")
    page.select_option("#category", "goods")
    page.fill("#title", title)
    page.fill("#body", "Fonctionne très bien, ampoule fournie.")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    expect(page.locator("h1")).to_have_text(title)


def test_sign_up_post_and_find_it_from_a_second_member(live_server, new_page):
    from conftest import Factory, log_in_browser

    base = live_server.url
    bruno = Factory(live_server.app).member(first_name="Bruno", postal_code="68200")

    anne_page = new_page()
    _sign_up(anne_page, base, "anne.martin@example.org")
    # She logs in with her password before opening the e-mail: her mile is there, drawn as a
    # circle (an SVG path in Leaflet's overlay).
    log_in_browser(anne_page, base, SimpleNamespace(email="anne.martin@example.org", password="un mot de passe solide"))
    expect(anne_page.locator("h1")).to_contain_text("Mulhouse")
    expect(anne_page.locator("#map .leaflet-overlay-pane path.leaflet-interactive").first).to_be_visible()
    # Posting waits for the e-mail address to be confirmed: open the link that was e-mailed.
    anne_page.goto(f"{base}/listings/new")
    expect(anne_page.locator("h1")).to_have_text("Confirmez votre adresse e-mail")
    link = verification_link(Path(live_server.app.config["MAIL_OUTBOX"]), "anne.martin@example.org")
    anne_page.goto(base + link)
    anne_page.wait_for_url(re.compile(r"/map$"))
    _post_offer(anne_page, base, TITLE)

    page = new_page()
    log_in_browser(page, base, bruno)
    expect(page.locator("#nearest")).to_contain_text(TITLE)
    expect(page.locator("#markers")).to_contain_text(TITLE)
    # The marker is drawn on the map, and its popup shows the title as text.
    markers = page.locator("#map .pin-icon")
    expect(markers).to_have_count(1)  # the offer, with its layer's colour and its category's symbol
    expect(markers.locator(".pin.pin-offers svg")).to_have_count(1)
    markers.first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text(TITLE)

    # Layer off: the offer leaves the panel and the map; on again: it comes back.
    offers = page.locator("#layers input[value=offers]")
    offers.uncheck()
    expect(page.locator("#nearest")).not_to_contain_text(TITLE)
    expect(page.locator("#markers")).not_to_contain_text(TITLE)
    expect(page.locator("#map .pin-icon")).to_have_count(0)
    page.locator("#layers input[value=offers]").check()
    expect(page.locator("#nearest")).to_contain_text(TITLE)
    expect(page.locator("#map .pin-icon")).to_have_count(1)
    assert page.errors == []

    # The choice of layers is remembered for the member.
    # Reload only once the choice is saved: the toggle posts in the background.
    with page.expect_response(lambda r: r.url.endswith("/map/layers") and r.request.method == "POST"):
        page.locator("#layers input[value=requests]").uncheck()
    expect(page.locator("#nearest")).to_contain_text(TITLE)
    page.reload()
    expect(page.locator("#layers input[value=requests]")).not_to_be_checked()


def test_dragging_the_avatar_refreshes_the_nearest_panel(live_server, new_page):
    from conftest import Factory

    factory = Factory(live_server.app)
    anne = factory.member()
    factory.listing(anne, title=TITLE)
    page = new_page()
    log_in_browser(page, live_server.url, anne)
    panel = page.locator("#nearest ol.nearest")
    before = panel.get_attribute("data-lat")
    avatar = page.locator("#map img.leaflet-marker-icon").first  # the avatar (listings are .pin-icon)
    box = avatar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 150, steps=12)
    page.mouse.up()
    expect(page.locator("#avatar-lat")).not_to_have_value(before)
    moved = page.locator("#avatar-lat").input_value()
    # The panel was rendered again by the server for the new point.
    expect(page.locator("#nearest ol.nearest")).to_have_attribute("data-lat", re.compile("^" + re.escape(str(float(moved)))[:7]))
    expect(page.locator("#nearest")).to_contain_text(TITLE)
    assert page.errors == []


def test_service_worker_serves_the_offline_page(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    # Controlled pages only: reload once so the worker handles navigations.
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/map")
    # Our own offline page (not Chromium's error page), answered in place of /map.
    expect(page.locator("header .brand")).to_have_text("1Mile")
    expect(page.locator("h1")).to_have_text(re.compile("hors ligne|offline", re.IGNORECASE))
    assert page.url.endswith("/map")
    page.context.set_offline(False)


def test_zooming_out_groups_ads_and_a_group_opens_on_click(live_server, new_page):
    from conftest import Factory, insert_open_offers

    from onemile.geo import LatLon, destination

    factory = Factory(live_server.app)
    anne = factory.member()
    # Ads in three towns: Mulhouse (Anne's mile), Colmar and Strasbourg.
    towns = [LatLon(47.7508, 7.3359), LatLon(48.0794, 7.3585), LatLon(48.5734, 7.7521)]
    with live_server.app.app_context():
        insert_open_offers([destination(town, 45 * k, 400 + 40 * k) for town in towns for k in range(6)])
    page = new_page()
    log_in_browser(page, live_server.url, anne)
    expect(page.locator("#markers li[data-id]").first).to_be_attached()
    for _ in range(6):  # out to the scale of a region, one step and one refresh at a time
        with page.expect_response(lambda r: "/map/markers" in r.url):
            page.click(".leaflet-control-zoom-out")
        page.wait_for_timeout(100)  # htmx swaps right after the response
    groups = page.locator("#map .cluster-icon")
    expect(groups.first).to_be_visible()
    expect(page.locator("#markers li[data-id]")).to_have_count(0)
    # The list says how many ads each group holds; together, all 18.
    expect(page.locator("#markers li[data-cluster]").first).to_be_attached()
    counts = [int(li.get_attribute("data-cluster")) for li in page.locator("#markers li[data-cluster]").all()]
    assert sum(counts) == 18
    # On the map, badges that would touch are drawn as one: none covers another (each is a
    # target of its own, WCAG 2.5.8), and together they still count all 18.
    boxes = page.eval_on_selector_all("#map .cluster-icon", """els => els.map((el) => {
      const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom, Number(el.textContent)];
    })""")
    assert sum(box[4] for box in boxes) == 18, boxes
    # Nor does one cover the member's own pin (Anne's ads are around her mile's centre).
    pin = page.eval_on_selector("#map img.leaflet-marker-icon", """el => {
      const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom, 0];
    }""")
    targets = [*boxes, pin]
    for i, a in enumerate(targets):
        for b in targets[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # Opening a group zooms into it; a few levels down the ads come one by one again.
    single = page.locator("#markers li[data-id]")
    for _ in range(5):
        if single.count():
            break
        with page.expect_response(lambda r: "/map/markers" in r.url):
            groups.first.click()
        page.wait_for_timeout(200)
    expect(single.first).to_be_attached()
    assert page.errors == []

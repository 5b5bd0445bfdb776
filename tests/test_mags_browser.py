"""Mags in real Chromium: a baker creates a mag, publishes an article with a photo (a real
file upload), finds the mag on the map; a neighbour comments; the shared link opens for
someone without an account, with its Open Graph card."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _photo(path) -> str:
    image = Image.new("RGB", (1800, 1200), (214, 160, 80))
    for x in range(0, 1800, 120):
        image.paste((120, 70, 30), (x, 300, x + 60, 900))
    image.save(path, "JPEG", quality=88)
    return str(path)


def test_create_a_mag_publish_with_a_photo_see_it_on_the_map_comment_and_share(live_server, new_page, tmp_path):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="en", kind="business",
                          organisation_name="Boulangerie Martin")
    bruno = factory.member(first_name="Bruno", last_name="Petit", language="en")

    # Anne creates her mag from the navigation; the place starts empty (never her mile's
    # centre): she picks her shop on the map and says it is a public place.
    a = new_page(locale="en-GB", permissions=["clipboard-read", "clipboard-write"])
    log_in_browser(a, base, anne)
    a.get_by_role("navigation", name="Main").get_by_role("link", name="Mags").click()
    a.get_by_role("link", name="Create a mag").click()
    a.get_by_label("Title").fill("Boulangerie Martin")
    a.get_by_label("Kind of mag").select_option("shop")
    a.get_by_label("About").fill("Sourdough bread and bretzels, every morning from 7.")
    expect(a.locator("#mag-map .leaflet-marker-icon")).to_have_count(0)
    a.locator("#mag-map").click()  # the picker opens at her mile's public point
    expect(a.locator("#mag-map .leaflet-marker-icon")).to_have_count(1)
    a.get_by_label(re.compile("This is a public place")).check()
    a.get_by_role("button", name="Create the mag").click()
    a.wait_for_url(re.compile(r"/mags/\d+$"))
    mag_url = a.url
    expect(a.get_by_role("heading", level=1)).to_have_text("Boulangerie Martin")

    # She publishes an article with a photo chosen from disk.
    a.get_by_role("link", name="Write an article").click()
    a.get_by_label("Title").fill("Christmas kougelhopf is back")
    a.get_by_label("Text").fill("Our **kougelhopf** is back.\n\n<script>alert('no')</script>")
    a.get_by_label("Photo 1", exact=True).set_input_files(_photo(tmp_path / "kougelhopf.jpg"))
    a.get_by_label("What photo 1 shows").fill("A golden kougelhopf on the counter")
    a.get_by_label("Published").check()
    a.get_by_role("button", name="Save").click()
    a.wait_for_url(re.compile(r"/mags/\d+/articles/\d+$"))
    article_url = a.url
    photo = a.get_by_role("img", name="A golden kougelhopf on the counter")
    expect(photo).to_be_visible()
    assert a.evaluate("(img) => img.complete && img.naturalWidth > 0", photo.element_handle())
    expect(a.locator(".prose strong")).to_have_text("kougelhopf")
    expect(a.locator(".prose")).to_contain_text("<script>alert('no')</script>")  # shown, never run

    # Share: no share sheet in this browser, so the button copies the link.
    share = a.get_by_role("button", name="Share this article")
    expect(share).to_be_visible()
    share.click()
    expect(a.locator("[data-share-status]")).to_have_text("Link copied.")
    assert a.evaluate("navigator.clipboard.readText()") == article_url

    # The mag is on her map, in the list and as a marker whose popup links to it.
    a.get_by_role("navigation", name="Main").get_by_role("link", name="Map").click()
    mags = a.locator('#markers li[data-layer="mags"]')
    expect(mags).to_have_count(1)
    expect(mags.get_by_role("link", name="Boulangerie Martin")).to_have_attribute("href", mag_url.removeprefix(base))
    a.locator("#map .pin-icon .pin-mags").last.click(force=True)
    expect(a.locator(".leaflet-popup-content").get_by_role("link", name="Boulangerie Martin")).to_be_visible()

    # A neighbour reads it from the mags around him and comments.
    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    b.goto(f"{base}/mags/")
    b.get_by_role("link", name="Christmas kougelhopf is back").click()
    b.wait_for_url(article_url)
    b.get_by_label("Your comment").fill("Two for Sunday, please!")
    b.get_by_role("button", name="Comment").click()
    expect(b.locator("#comments .comment")).to_have_count(1)
    expect(b.locator("#comments .comment .body")).to_have_text("Two for Sunday, please!")

    # Someone without an account opens the shared link.
    v = new_page(locale="en-GB")
    v.goto(article_url)
    expect(v.get_by_role("heading", level=1)).to_have_text("Christmas kougelhopf is back")
    expect(v.get_by_role("img", name="A golden kougelhopf on the counter")).to_be_visible()
    expect(v.locator('meta[property="og:title"]')).to_have_attribute("content", "Christmas kougelhopf is back")
    image = v.locator('meta[property="og:image"]').get_attribute("content")
    assert image.startswith(f"{base}/images/") and image.endswith("/large.jpg")
    expect(v.locator("#comments-title")).to_have_text("1 comment")
    expect(v.get_by_label("Your comment")).to_have_count(0)

    for page in (a, b, v):
        assert page.errors == [], page.errors

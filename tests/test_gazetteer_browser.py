"""The place combobox in real Chromium: typing shows suggestions (htmx, debounced), the
arrow keys move through them with aria-activedescendant, Enter picks one, and the mile is
added there. The backend plays no part in the combobox, so this runs on SpatiaLite only."""

from __future__ import annotations

import re

import pytest
from conftest import Factory
from playwright.sync_api import expect
from test_miles import miles_of

from onemile import place_names

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["spatialite"])]


def test_add_a_mile_by_typing_a_town_and_picking_it_with_the_keyboard(live_server, new_page):
    app, base = live_server.app, live_server.url
    member = Factory(app).member(language="en")
    page = new_page(locale="en-GB")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/map$"))
    page.goto(f"{base}/miles/")

    box = page.get_by_role("combobox", name="Town, neighbourhood or postal code")
    box.focus()
    page.keyboard.type("saint etienne")
    options = page.get_by_role("listbox", name="Suggested places").get_by_role("option")
    expect(options.first).to_contain_text("Saint-Étienne")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.locator("[data-place-status]")).to_contain_text("Places found")
    page.keyboard.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "place-list-1")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(box).to_have_value("Saint-Étienne")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator('input[name="place_id"]')).to_have_value("FR:42218")
    expect(page.locator("#name")).to_have_value("Saint-Étienne")  # the new mile's name, left empty
    page.keyboard.press("Escape")  # closed already: nothing happens
    page.get_by_role("button", name="Add this mile").click()
    expect(page.get_by_text("Your new mile is ready.")).to_be_visible()
    added = miles_of(app, member.id)[-1]
    assert added["name"] == "Saint-Étienne"
    assert added["center"] == place_names.get("FR:42218").point
    # No horizontal overflow at 360 px with the list open.
    box = page.get_by_role("combobox", name="Town, neighbourhood or postal code")
    box.fill("mulh")
    expect(page.get_by_role("option").first).to_contain_text("Mulhouse")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.errors == []

"""Reporting and moderation in real Chromium: a member reports an ad, a moderator hides it
from the queue, and the ad is gone for everyone else (map, list, and its page is a 404)."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TITLE = "Cheap watches, pay in advance"


def test_a_reported_ad_hidden_by_a_moderator_is_gone_for_everyone(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", language="en")
    bruno = factory.member(first_name="Bruno", language="en")
    chloe = factory.moderator(first_name="Chloé", language="en")
    dora = factory.member(first_name="Dora", language="en")
    listing_id = factory.listing(anne, title=TITLE, body="Send the money first, I post the watch.")

    # Dora sees the ad on her map before anything happens.
    d = new_page(locale="en-GB")
    log_in_browser(d, base, dora)
    expect(d.locator("#nearest")).to_contain_text(TITLE)

    # Bruno reports it from the ad's page, with the keyboard-reachable link and form.
    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    b.goto(f"{base}/listings/{listing_id}")
    b.get_by_role("link", name="Report this ad").click()
    b.wait_for_url(re.compile(rf"/report/listing/{listing_id}"))
    b.get_by_label("Scam or fraud").check()
    b.get_by_label("Details (optional)").fill("Asks for the money before anything.")
    b.get_by_role("button", name="Send the report").click()
    b.wait_for_url(re.compile(rf"/listings/{listing_id}$"))
    expect(b.locator(".flashes")).to_contain_text("The moderators will look at your report.")

    # Chloé hides it from the queue, saying why.
    c = new_page(locale="en-GB")
    log_in_browser(c, base, chloe)
    c.get_by_role("link", name="Moderation").click()
    item = c.locator(f"#target-listing-{listing_id}")
    expect(item).to_contain_text(TITLE)
    expect(item).to_contain_text("Asks for the money before anything.")
    item.locator("form", has=c.locator("input[value=hide]")).get_by_label("Reason").fill("Scam")
    item.get_by_role("button", name="Hide").click()
    expect(c.locator(".flashes")).to_contain_text("Done: Hide.")
    expect(c.locator(f"#target-listing-{listing_id}")).to_have_count(0)
    c.get_by_role("link", name="Moderation log").click()
    expect(c.locator("table.moderation-log")).to_contain_text("Scam")

    # Gone for Dora: her map, the list around her, and the ad's page.
    d.reload()
    expect(d.locator("#nearest")).not_to_contain_text(TITLE)
    d.goto(f"{base}/listings/")
    expect(d.locator("main")).not_to_contain_text(TITLE)
    response = d.goto(f"{base}/listings/{listing_id}")
    assert response.status == 404
    # And for its reporter too.
    assert b.goto(f"{base}/listings/{listing_id}").status == 404
    for page in (b, c, d):
        # The only console error allowed is the 404 we asked for.
        assert [error for error in page.errors if "status of 404" not in error] == []

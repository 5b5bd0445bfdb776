"""The exchange loop in real Chromium: B answers A's request from the listing page, they talk
(each sees the other's message within 5 s, without reloading), A marks it done with B, one
smile moves and both are notified."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Listing, Notification
from onemile.smiles.services import balance_of

pytestmark = pytest.mark.browser

TITLE = "Help me carry a sofa upstairs"


def _balances(app, *members) -> list[int]:
    with app.app_context():
        return [balance_of(member.id) for member in members]


def test_two_neighbours_answer_talk_live_and_finish_with_a_smile(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", postal_code="68100", language="en")
    bruno = factory.member(first_name="Bruno", last_name="Petit", postal_code="68100", language="en")
    listing_id = factory.listing(anne, kind="request", offer_type=None, category="repairs", title=TITLE)
    assert _balances(app, anne, bruno) == [1, 1]

    # B finds the request on the map's nearest panel and answers it from the listing page.
    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    # The marker's popup offers to answer too (built with textContent only).
    b.locator("#map .pin-icon").first.click(force=True)
    popup_answer = b.locator(".leaflet-popup-content").get_by_role("link", name="Answer")
    expect(popup_answer).to_have_attribute("href", f"/listings/{listing_id}#answer")
    b.locator("#nearest").get_by_role("link", name=re.compile(r"^Answer")).first.click()
    b.wait_for_url(re.compile(rf"/listings/{listing_id}#answer$"))
    b.get_by_label("Your message to Anne M.").fill("I have a van and two free hands.\nSaturday?")
    b.get_by_role("button", name="Send").click()
    b.wait_for_url(re.compile(r"/conversations/\d+#reply-\d+$"))
    conversation_id = int(re.search(r"/conversations/(\d+)", b.url).group(1))
    b_messages = b.locator(f"#messages-{conversation_id}")
    expect(b_messages.locator("li.message")).to_have_count(1)
    # Line breaks are kept (pre-wrap), the text escaped.
    expect(b_messages).to_contain_text("I have a van and two free hands.\nSaturday?")

    # A opens the conversation from the answers under her listing.
    a = new_page(locale="en-GB")
    log_in_browser(a, base, anne)
    a.goto(f"{base}/listings/{listing_id}")
    a.locator("#answers").get_by_role("link", name="Bruno P.").click()
    a.wait_for_url(re.compile(rf"/conversations/{conversation_id}$"))
    a_messages = a.locator(f"#messages-{conversation_id}")
    expect(a_messages).to_contain_text("I have a van and two free hands.")

    # A replies: her message is appended at once, the form is emptied and keeps the focus...
    a.get_by_label("Your reply").fill("Saturday at 10 is perfect, thank you!")
    a.get_by_role("button", name="Send").click()
    expect(a_messages.locator("li.message")).to_have_count(2)
    expect(a.get_by_label("Your reply")).to_have_value("")
    expect(a.get_by_label("Your reply")).to_be_focused()
    # ...and B sees it within 5 seconds without reloading.
    expect(b_messages).to_contain_text("Saturday at 10 is perfect", timeout=5000)

    b.get_by_label("Your reply").fill("See you then.")
    b.get_by_label("Your reply").press("Tab")
    b.get_by_role("button", name="Send").click()
    expect(a_messages).to_contain_text("See you then.", timeout=5000)
    # Every message once, in order, on both sides (polls and replies never overlap).
    for messages in (a_messages, b_messages):
        expect(messages.locator("li.message")).to_have_count(3)
        expect(messages.locator("li.message .body")).to_have_text(
            ["I have a van and two free hands.\nSaturday?", "Saturday at 10 is perfect, thank you!", "See you then."]
        )

    # A marks it done with B: on a request she is the one helped, so this pays at once.
    a.get_by_role("button", name="Mark done with Bruno P.").click()
    expect(a.locator("#finish")).to_contain_text("Done — 1 smile went to Bruno P.")
    expect(a.locator("#finish")).to_contain_text("Thank you! Bruno P. received 1 smile.")
    expect(a.get_by_role("button", name=re.compile("Mark done"))).to_have_count(0)

    assert _balances(app, anne, bruno) == [0, 2]
    with app.app_context():
        assert db.session.get(Listing, listing_id).status == "done"
        confirmed = db.session.scalars(
            select(Notification.member_id).where(Notification.kind == "service_confirmed")
        ).all()
    assert sorted(confirmed) == sorted([anne.id, bruno.id])
    b.reload()
    expect(b.locator("#finish")).to_contain_text("Done — 1 smile went to Bruno P.")

    # What an idle poll really costs on the wire in Chromium, headers included.
    with a.expect_response(lambda r: "/poll" in r.url and r.status == 204, timeout=5000) as idle:
        pass
    idle.value.finished()
    size = idle.value.request.sizes()
    up, down = size["requestHeadersSize"] + size["requestBodySize"], size["responseHeadersSize"] + size["responseBodySize"]
    print(f"idle poll in Chromium: {up} bytes up, {down} bytes down, {(up + down) * 20} bytes per minute")

    assert a.errors == []
    assert b.errors == []

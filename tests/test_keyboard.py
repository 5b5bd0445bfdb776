"""Keyboard only, in real Chromium: a member logs in, posts an offer and answers a
neighbour's request with Tab, Shift+Tab, Enter, Space, the arrow keys and typing — no click,
no fill — and the focus is where a keyboard user expects it at every step, htmx swaps
included (layer toggles, the conversation's reply form).

The backend plays no part in the keyboard path, so this runs on SpatiaLite only.
"""

from __future__ import annotations

import re

import pytest
from conftest import Factory
from playwright.sync_api import expect
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Listing

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["spatialite"])]

REQUEST = "Help me carry a sofa upstairs"
OFFER = "Lending a cordless drill"

DESCRIBE_FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  const label = e.labels && e.labels.length ? e.labels[0].innerText : e.getAttribute('aria-label');
  return [e.tagName.toLowerCase(), e.id && '#' + e.id, e.name && '[' + e.name + ']',
          (label || e.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 60)].filter(Boolean).join(' ');
}"""


def focus_of(page) -> str:
    """What has the focus, said the way a test failure should show it."""
    return page.evaluate(DESCRIBE_FOCUS)


def tab_to(page, locator, limit: int = 60, key: str = "Tab") -> int:
    """Press Tab (or `key`) until `locator` has the focus, as a keyboard user moves through
    the page; return how many presses it took, and fail with the path taken if never."""
    path = []
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if locator.evaluate("(e) => e === document.activeElement"):
            return presses
        path.append(focus_of(page))
    pytest.fail(f"{locator} never got the focus with {key}; went through: {path}")


def log_in_with_keys(page, base: str, member) -> None:
    """The login form, from the top of the page, by keyboard."""
    page.goto(f"{base}/auth/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(member.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(member.password)
    page.keyboard.press("Tab")
    remember = page.get_by_label("Remember me")
    expect(remember).to_be_focused()
    page.keyboard.press("Space")
    expect(remember).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/map$"))
    page.wait_for_load_state("networkidle")  # the map has fetched its markers: a person reads first


def test_log_in_post_an_offer_and_answer_a_request_with_the_keyboard_alone(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="en")
    bruno = factory.member(first_name="Bruno", last_name="Petit", language="en")
    request_id = factory.listing(anne, kind="request", offer_type=None, category="repairs", title=REQUEST)
    page = new_page(locale="en-GB")

    log_in_with_keys(page, base, bruno)

    # --- The map: layer toggles keep the focus through their htmx swap.
    offers = page.get_by_role("checkbox", name="Offers")
    tab_to(page, offers)
    expect(offers).to_be_checked()
    for checked in (False, True):
        # The toggle is saved, then the markers and the nearest panel follow (the nearest
        # panel is a live region: its new list is read out); the checkbox keeps the focus.
        with page.expect_response(re.compile(r"/map/markers\?")), page.expect_response(re.compile(r"/map/nearest\?")):
            page.keyboard.press("Space")
        expect(offers).to_be_checked(checked=checked)
        expect(offers).to_be_focused()
    expect(page.locator("#nearest")).to_have_attribute("aria-live", "polite")

    # --- Post an offer: from the main navigation to the published listing.
    page.keyboard.press("Shift+Tab")  # back up the page to the header
    post = page.get_by_role("navigation", name="Main").get_by_role("link", name="Post", exact=True)
    tab_to(page, post, key="Shift+Tab", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/listings/new$"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip to content
    page.keyboard.press("Tab")
    # A radio group takes one Tab stop; the arrow keys choose inside it.
    expect(page.get_by_role("radio", name="A request: I need help")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="An offer: I can help")).to_be_checked()
    page.keyboard.press("Tab")  # no kind of offer chosen yet: the first one has the focus
    expect(page.get_by_role("radio", name="To give")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="To lend")).to_be_checked()
    page.keyboard.press("Tab")
    category = page.get_by_label("Category")
    expect(category).to_be_focused()
    page.keyboard.type("DIY")  # a closed <select> picks the option typed
    expect(category).to_have_value("diy")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type(OFFER)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Text", exact=True)).to_be_focused()
    page.keyboard.type("18 V, two batteries.\nAsk me the day before.")
    publish = page.get_by_role("button", name="Publish")
    tab_to(page, publish)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/listings/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(OFFER)
    with app.app_context():
        offer = db.session.scalars(select(Listing).where(Listing.title == OFFER)).one()
        assert (offer.author_id, offer.kind, offer.offer_type, offer.category) == (bruno.id, "offer", "lend", "diy")
        assert offer.body.splitlines() == ["18 V, two batteries.", "Ask me the day before."]

    # --- Answer Anne's request from the map's nearest panel.
    page.goto(f"{base}/map")
    page.wait_for_load_state("networkidle")
    answer = page.locator("#nearest").get_by_role("link", name=re.compile(rf"^Answer\W+{REQUEST}$"))
    tab_to(page, answer)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/listings/{request_id}#answer$"))
    # The link's target is where Tab goes on from: straight into the message.
    page.keyboard.press("Tab")
    message = page.get_by_label("Your message to Anne M.")
    expect(message).to_be_focused()
    page.keyboard.type("I have a van and two free hands.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/conversations/\d+#reply-\d+$"))
    conversation_id = int(re.search(r"/conversations/(\d+)", page.url).group(1))
    messages = page.locator(f"#messages-{conversation_id} li.message")
    expect(messages).to_have_count(1)

    # The page opens at the reply form: one Tab and Bruno writes again.
    page.keyboard.press("Tab")
    reply = page.get_by_label("Your reply")
    expect(reply).to_be_focused()
    page.keyboard.type("Saturday at 10?")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # The new message is appended to the live list, the form comes back empty with the focus.
    expect(messages).to_have_count(2)
    expect(page.locator(f"#messages-{conversation_id}")).to_have_attribute("aria-live", "polite")
    expect(reply).to_have_value("")
    expect(reply).to_be_focused()
    assert page.errors == [], page.errors

    # --- Anne: "mark all as read" and "mark done" answer in place; the focus goes to what
    # they say, not back to the top of the page.
    anne_page = new_page(locale="en-GB")
    log_in_with_keys(anne_page, base, anne)
    anne_page.goto(f"{base}/notifications/")
    tab_to(anne_page, anne_page.get_by_role("button", name="Mark all as read"))
    anne_page.keyboard.press("Enter")
    expect(anne_page.get_by_role("status")).to_have_text("All notifications are marked as read.")
    expect(anne_page.get_by_role("status")).to_be_focused()
    tab_to(anne_page, anne_page.get_by_role("link", name=f"Bruno P. answered “{REQUEST}”"))
    anne_page.keyboard.press("Enter")
    anne_page.wait_for_url(re.compile(rf"/conversations/{conversation_id}"))
    tab_to(anne_page, anne_page.get_by_role("button", name="Mark done with Bruno P."))
    anne_page.keyboard.press("Enter")
    thanks = anne_page.locator("#finish").get_by_role("status")
    expect(thanks).to_contain_text("Bruno P. received 1 smile")
    expect(thanks).to_be_focused()
    assert anne_page.errors == [], anne_page.errors

"""Offline (issue #7, item 5): the member's last pages open from the service worker's copy,
marked as such; a reply written offline waits, visibly, and is sent when the connection
returns, once, and the other member receives it. Plus the one-time key that makes a replay
harmless, through the test client."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from helpers import assert_see_other
from playwright.sync_api import expect
from sqlalchemy import func, select

from onemile.extensions import db
from onemile.models import Message


def _messages(app, conversation_id: int, body: str | None = None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
        if body is not None:
            query = query.where(Message.body == body)
        return db.session.scalar(query)


def _open_conversation(client, listing_id: int) -> int:
    response = client.post(f"/conversations/answer/{listing_id}", data={"body": "Hello, I can help."})
    assert_see_other(response)
    return int(re.search(r"/conversations/(\d+)", response.headers["Location"]).group(1))


# --- The one-time key ---------------------------------------------------------------------


def test_a_reply_sent_twice_with_its_key_is_posted_once(app, client, auth, factory):
    anne, bruno = factory.member(), factory.member()
    listing_id = factory.listing(anne)
    auth.login(bruno)
    conversation_id = _open_conversation(client, listing_id)
    key = "3f1c2a9e-0b6d-4e57-9a63-2d8c1f0e7b44"
    url = f"/conversations/{conversation_id}/messages"
    for _ in range(3):
        response = client.post(url, data={"body": "Saturday at ten?", "client_key": key})
        assert_see_other(response)
    assert _messages(app, conversation_id, "Saturday at ten?") == 1
    # The replay lands on the message already posted.
    assert response.headers["Location"].endswith(f"#message-{_latest(app, conversation_id)}")
    # Another key, or none, is another message.
    client.post(url, data={"body": "Saturday at ten?", "client_key": key.replace("3f", "4a")})
    client.post(url, data={"body": "Saturday at ten?"})
    client.post(url, data={"body": "Saturday at ten?"})
    assert _messages(app, conversation_id, "Saturday at ten?") == 4


def _latest(app, conversation_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))


@pytest.mark.parametrize("key", ["", "short", "x" * 37, "'; drop table message; --", "é" * 10, "a b c d e f g"])
def test_a_malformed_key_is_ignored_and_the_message_posted(app, client, auth, factory, key):
    anne, bruno = factory.member(), factory.member()
    auth.login(bruno)
    conversation_id = _open_conversation(client, factory.listing(anne))
    for _ in range(2):
        response = client.post(f"/conversations/{conversation_id}/messages", data={"body": "Hi", "client_key": key})
        assert_see_other(response)
    assert _messages(app, conversation_id, "Hi") == 2


def test_a_key_is_per_sender_and_per_conversation(app, factory):
    """Someone else's key (or mine in another conversation) never swallows a message."""
    anne, bruno, chloe = factory.member(), factory.member(), factory.member()
    clients = {}
    for ref in (bruno, chloe):
        clients[ref.id] = app.test_client()
        clients[ref.id].post("/auth/login", data={"email": ref.email, "password": ref.password})
    first = _open_conversation(clients[bruno.id], factory.listing(anne))
    second = _open_conversation(clients[bruno.id], factory.listing(anne))
    chloes = _open_conversation(clients[chloe.id], factory.listing(anne))
    key = "same-key-everywhere-123"
    for client, conversation_id in ((clients[bruno.id], first), (clients[bruno.id], second), (clients[chloe.id], chloes)):
        client.post(f"/conversations/{conversation_id}/messages", data={"body": "Keyed", "client_key": key})
    assert [_messages(app, c, "Keyed") for c in (first, second, chloes)] == [1, 1, 1]
    # Bruno cannot post into Chloé's conversation with her key either.
    denied = clients[bruno.id].post(f"/conversations/{chloes}/messages", data={"body": "x", "client_key": key})
    assert denied.status_code in (403, 404)


def test_a_new_ad_sent_twice_with_its_key_is_posted_once(app, client, auth, factory):
    from onemile.models import Listing, Member

    author = factory.member()
    auth.login(author)
    with app.app_context():
        mile_id = db.session.get(Member, author.id).primary_mile.id
    data = {"kind": "request", "category": "diy", "title": "Lend me a drill", "body": "For Saturday.",
            "miles": [str(mile_id)], "client_key": "b1c4e2f0-5a6d-4b3c-8e9f-0a1b2c3d4e5f"}
    locations = {client.post("/listings/new", data=data).headers["Location"] for _ in range(3)}
    assert len(locations) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Listing).where(Listing.author_id == author.id)) == 1
    # Someone else's key is theirs: the same key from another member posts their own ad.
    other = factory.member()
    theirs = app.test_client()
    theirs.post("/auth/login", data={"email": other.email, "password": other.password})
    with app.app_context():
        data["miles"] = [str(db.session.get(Member, other.id).primary_mile.id)]
    response = theirs.post("/listings/new", data=data)
    assert response.status_code == 303 and response.headers["Location"] not in locations


# --- In Chromium -----------------------------------------------------------------------------


def _controlled(page) -> None:
    """Wait until the service worker is installed and controls the page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


@pytest.mark.browser
def test_a_reply_written_offline_waits_then_reaches_the_other_member(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="en")
    bruno = factory.member(first_name="Bruno", last_name="Petit", language="en")
    listing_id = factory.listing(anne, title="A ladder to lend")

    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    _controlled(b)
    b.goto(f"{base}/listings/{listing_id}")
    b.get_by_label(re.compile("Your message")).fill("Can I borrow it?")
    b.get_by_role("button", name="Send").click()
    b.wait_for_url(re.compile(r"/conversations/\d+#reply-\d+$"))
    conversation_id = int(re.search(r"/conversations/(\d+)", b.url).group(1))

    a = new_page(locale="en-GB")
    log_in_browser(a, base, anne)
    a.goto(f"{base}/conversations/{conversation_id}")
    a_messages = a.locator(f"#messages-{conversation_id}")
    expect(a_messages).to_contain_text("Can I borrow it?")

    # Bruno loses the connection and writes anyway: the reply waits, in sight.
    b.context.set_offline(True)
    b.wait_for_function("!navigator.onLine")
    b.get_by_label("Your reply").fill("Saturday at ten, then?\nI'll bring it back Sunday.")
    b.get_by_role("button", name="Send").click()
    waiting = b.locator(".outbox")
    expect(waiting).to_contain_text("Waiting to send: Saturday at ten, then?")
    expect(b.get_by_label("Your reply")).to_have_value("")
    b.wait_for_timeout(500)
    assert _messages(app, conversation_id, "Saturday at ten, then?\nI'll bring it back Sunday.") == 0
    # Still there after a reload from the saved copy: nothing typed is lost.
    b.reload()
    expect(b.locator(".offline-banner")).to_contain_text("You are offline — saved copy from")
    expect(b.locator(".outbox")).to_contain_text("Waiting to send: Saturday at ten, then?")

    # Back online: sent once, the waiting note goes, and Anne sees it without reloading.
    b.context.set_offline(False)
    expect(b.locator(".outbox")).to_have_count(0, timeout=10000)
    expect(a_messages).to_contain_text("Saturday at ten, then?", timeout=10000)
    expect(b.locator(f"#messages-{conversation_id}")).to_contain_text("Saturday at ten, then?", timeout=10000)
    b.reload()
    b.wait_for_timeout(500)
    assert _messages(app, conversation_id, "Saturday at ten, then?\nI'll bring it back Sunday.") == 1


@pytest.mark.browser
def test_the_pages_seen_last_open_offline_marked_as_saved(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", language="en")
    bruno = factory.member(first_name="Bruno", language="en")
    factory.listing(bruno, title="Fresh eggs to give")

    page = new_page(locale="en-GB")
    log_in_browser(page, base, anne)
    _controlled(page)
    for path in ("/listings/", "/smiles/", "/map", "/conversations/", "/me"):
        page.goto(base + path)
        expect(page.locator(".offline-banner")).to_have_count(0)

    page.context.set_offline(True)
    # Where the installed app opens, and the way to my messages.
    for path in ("/map", "/conversations/", "/me"):
        page.goto(base + path)
        expect(page.locator(".offline-banner")).to_be_visible()
    page.goto(f"{base}/listings/")
    expect(page.locator(".offline-banner")).to_contain_text("You are offline — saved copy from")
    expect(page.locator("main")).to_contain_text("Fresh eggs to give")
    page.goto(f"{base}/smiles/")
    expect(page.locator(".offline-banner")).to_be_visible()
    # A page never saved (and pages that are not saved at all) fall back to the offline page.
    page.goto(f"{base}/account/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".offline-banner")).to_have_count(0)
    # "Try again" asks for the page that could not be reached, not for another one; the page
    # speaks the language of the pages seen, and that one only.
    assert page.get_by_role("link", name="Try again").get_attribute("href") == ""
    expect(page.locator("h1")).to_have_text("You are offline")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("main")).not_to_contain_text("réseau")

    # Logging out forgets the saved pages on this device.
    page.context.set_offline(False)
    page.goto(f"{base}/listings/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    page.wait_for_timeout(500)
    page.context.set_offline(True)
    page.goto(f"{base}/listings/")
    expect(page.locator(".offline-banner")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Fresh eggs to give")


@pytest.mark.browser
def test_a_new_ad_written_offline_is_posted_when_the_connection_returns(live_server, new_page):
    from onemile.models import Listing

    app, base = live_server.app, live_server.url
    anne = Factory(app).member(first_name="Anne", language="en")
    page = new_page(locale="en-GB")
    log_in_browser(page, base, anne)
    _controlled(page)
    page.goto(f"{base}/listings/new")
    page.context.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    page.check("input[name=kind][value=offer]")
    page.check("input[name=offer_type][value=give]")
    page.select_option("#category", "goods")
    page.fill("#title", "A lamp that works")
    page.fill("#body", "Bulb included.")
    page.click("form.stack button[type=submit]")
    expect(page.locator(".outbox")).to_contain_text("Waiting to send: A lamp that works")
    assert page.url.endswith("/listings/new")

    page.context.set_offline(False)
    expect(page.locator(".outbox")).to_have_count(0, timeout=10000)
    with app.app_context():
        titles = db.session.scalars(select(Listing.title).where(Listing.author_id == anne.id)).all()
    assert titles == ["A lamp that works"]

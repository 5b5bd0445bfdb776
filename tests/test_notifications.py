"""Notifications, on both backends: the header (bell and smiles balance) and what it costs,
the bell's polling endpoint, the notifications page and its sentences, "mark all as read",
the e-mail preference, and the e-mails themselves (who gets one, in which language, and
only once the transaction has committed).

Members are created with `language="en"` and pages asked in English, so assertions on
sentences hold whatever the French catalog says. Notifications come from the real
conversation services (answer, mark done, confirm, decline, cancel).
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from conftest import Factory, log_in_browser
from helpers import assert_see_other, csrf_token_in, html, logged_in, no_quiet_hours
from sqlalchemy import event, func, select, text

from onemile.conversations import services as conversations
from onemile.extensions import db
from onemile.models import Conversation, Member, Notification
from onemile.notifications.services import notify, unread_count

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def unread_of(app, member_id: int) -> int:
    with app.app_context():
        return unread_count(member_id)


def mails(outbox: Path) -> list[email.message.EmailMessage]:
    """E-mails written to the outbox, oldest first."""
    if not outbox.exists():
        return []
    files = sorted(outbox.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]


@pytest.fixture
def request_answered(app, factory, anne, bruno):
    """Anne asks for a ladder; Bruno answers (Anne gets a first reply)."""
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder", body="For Saturday.")
    conversation_id = factory.conversation(bruno, listing_id, "I have one.")
    return listing_id, conversation_id


# --- Header ---------------------------------------------------------------------------------


def test_header_shows_the_bell_and_the_balance_to_members(app, anne, request_answered):
    client = logged_in(app, anne, "en")
    page = html(client.get("/listings/mine"))
    bell = re.search(r'<a id="bell".*?</a>', page, re.DOTALL).group(0)
    assert 'href="/notifications/"' in bell
    assert "Notifications, 1 unread" in bell  # the accessible name, visually hidden
    assert re.search(r'<span class="badge bell-count" aria-hidden="true">1</span>', bell)
    assert 'hx-get="/notifications/bell?seen=1"' in bell
    assert 'hx-swap="outerHTML"' in bell and "every 4s" in bell  # a new answer rings within 5 s
    # The sign-up bonus (1 by default), linking to the history.
    balance = re.search(r'<a id="balance" class="smiles-balance"[^>]*>.*?</a>', page, re.DOTALL).group(0)
    assert 'href="/smiles/"' in balance and balance.endswith(" 1 smile</a>")


def test_header_without_unread_has_no_badge(app, anne):
    page = html(logged_in(app, anne, "en").get("/listings/mine"))
    bell = re.search(r'<a id="bell".*?</a>', page, re.DOTALL).group(0)
    assert ">Notifications</span>" in bell
    assert "bell-count" not in bell
    assert 'seen=0"' in bell


def test_visitors_get_no_bell_and_no_balance(client):
    page = html(client.get("/"))
    assert 'id="bell"' not in page
    assert "smiles-balance" not in page


class StatementLog:
    """Every SQL statement the app sends while the log is open."""

    def __init__(self, app):
        self.app = app
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement.lower())

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def touching(self, table: str) -> list[str]:
        pattern = re.compile(rf'\b(from|join|update)\s+"?{table}"?\b')
        return [statement for statement in self.statements if pattern.search(statement)]


def test_header_costs_one_query_each_and_nothing_for_visitors_or_fragments(app, client, anne, request_answered):
    member = logged_in(app, anne, "en")
    member.get("/listings/mine")  # warm up: the first request loads more than usual
    with StatementLog(app) as log:
        assert member.get("/listings/mine").status_code == 200
    assert len(log.touching("notification")) == 1
    assert len(log.touching("account")) == 1

    # The notifications page shows the count in the header and in its own content: still one.
    with StatementLog(app) as log:
        assert member.get("/notifications/").status_code == 200
    counts = [s for s in log.touching("notification") if "count(" in s]
    assert len(counts) == 1

    # The history page shows the balance twice (header and page): one query.
    with StatementLog(app) as log:
        assert member.get("/smiles/").status_code == 200
    member_balance = r"select account\.balance\s+from account\s+where account\.member_id"
    assert len([s for s in log.touching("account") if re.match(member_balance, s)]) == 1

    # An htmx fragment draws no header.
    with StatementLog(app) as log:
        response = member.get("/listings/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<header" not in html(response)
    assert log.touching("notification") == [] and log.touching("account") == []

    with StatementLog(app) as log:
        assert client.get("/").status_code == 200
    assert log.touching("notification") == [] and log.touching("account") == []


# --- The bell's polling endpoint ---------------------------------------------------------------


def test_bell_answers_204_while_the_count_has_not_changed(app, anne, request_answered):
    client = logged_in(app, anne, "en")
    response = client.get("/notifications/bell?seen=1", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "HX-Request" in response.headers["Vary"]


def test_bell_answers_the_new_bell_when_the_count_changed(app, factory, anne, bruno, request_answered):
    client = logged_in(app, anne, "en")
    _, conversation_id = request_answered
    factory.act(lambda b: conversations.post_message(b, conversation_id, "Still need it?"), bruno)
    response = client.get("/notifications/bell?seen=1", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = html(response).strip()
    assert body.startswith('<a id="bell"') and body.endswith("</a>")
    assert "<html" not in body and "<header" not in body
    assert "Notifications, 2 unread" in body
    assert 'hx-get="/notifications/bell?seen=2"' in body
    # A missing or garbled `seen` is "changed": the bell is redrawn.
    assert client.get("/notifications/bell?seen=x", headers={"HX-Request": "true"}).status_code == 200


def test_bell_without_htmx_is_the_way_to_the_notifications_page(app, anne):
    response = logged_in(app, anne, "en").get("/notifications/bell?seen=0")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/notifications/")
    assert "HX-Request" in response.headers["Vary"]


def test_bell_stops_polling_for_visitors(client):
    response = client.get("/notifications/bell?seen=0", headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx stops polling on 286
    assert response.get_data() == b""
    plain = client.get("/notifications/bell?seen=0")
    assert plain.status_code == 302 and "/auth/login" in plain.headers["Location"]


# --- The notifications page ----------------------------------------------------------------------


def test_notifications_are_sentences_that_lead_to_the_conversation(app, factory, anne, bruno, request_answered):
    _, conversation_id = request_answered
    factory.act(lambda a: conversations.post_message(a, conversation_id, "Great, thanks!"), anne)
    factory.completion(anne, conversation_id)  # a request: confirms at once

    # An offer: Bruno is asked to confirm, declines; Anne asks again, then cancels.
    offer_id = factory.listing(anne, kind="offer", offer_type="service", category="lessons",
                               title="Guitar lessons", body="Beginners welcome.")
    offer_conversation = factory.conversation(bruno, offer_id, "Me please!")
    completion = factory.completion(anne, offer_conversation)
    factory.act(lambda b: conversations.decline(b, completion), bruno)
    completion = factory.completion(anne, offer_conversation)
    factory.act(lambda a: conversations.cancel(a, completion), anne)

    anne_page = html(logged_in(app, anne, "en").get("/notifications/"))
    assert "Bruno D. answered “Lend me a ladder”" in anne_page
    assert "1 smile went to Bruno D. for “Lend me a ladder”" in anne_page
    assert "Bruno D. answered “Guitar lessons”" in anne_page
    assert "Bruno D. declined the service “Guitar lessons”" in anne_page

    bruno_page = html(logged_in(app, bruno, "en").get("/notifications/"))
    assert "Anne M. sent you a message about “Lend me a ladder”" in bruno_page
    assert "Anne M. confirmed “Lend me a ladder”: you received 1 smile" in bruno_page
    assert bruno_page.count("Anne M. asks you to confirm the service “Guitar lessons”") == 2
    assert "Anne M. cancelled the confirmation request for “Guitar lessons”" in bruno_page
    # Newest first.
    assert bruno_page.index("cancelled the confirmation") < bruno_page.index("sent you a message")

    assert re.search(
        rf'<a href="/conversations/{conversation_id}"><span class="visually-hidden">Unread: </span>'
        r"Bruno D. answered “Lend me a ladder”</a>",
        anne_page,
    )
    assert f'href="/conversations/{offer_conversation}"' in bruno_page


def test_unread_notifications_are_marked_and_the_page_does_not_read_them(app, anne, request_answered):
    client = logged_in(app, anne, "en")
    page = html(client.get("/notifications/"))
    item = re.search(r'<li class="notification unread">.*?</li>', page, re.DOTALL).group(0)
    assert '<span class="visually-hidden">Unread: </span>' in item
    assert "Mark all as read" in page
    client.get("/notifications/")
    assert unread_of(app, anne.id) == 1


def test_opening_the_conversation_reads_its_notifications_only(app, factory, anne, bruno, request_answered):
    _, conversation_id = request_answered
    other_listing = factory.listing(anne, kind="request", category="diy", title="Hold my cat")
    factory.conversation(bruno, other_listing, "Meow")
    client = logged_in(app, anne, "en")
    assert unread_of(app, anne.id) == 2
    link = re.search(r'<a href="([^"]+)"><span class="visually-hidden">Unread: </span>Bruno D\. answered “Lend me',
                     html(client.get("/notifications/"))).group(1)
    assert link == f"/conversations/{conversation_id}"
    assert client.get(link).status_code == 200
    assert unread_of(app, anne.id) == 1
    page = html(client.get("/notifications/"))
    assert page.count("Unread: ") == 1 and "Unread: </span>Bruno D. answered “Hold my cat”" in page


def test_mark_all_as_read_without_htmx(app, factory, anne, bruno, request_answered):
    _, conversation_id = request_answered
    factory.act(lambda a: conversations.post_message(a, conversation_id, "Thanks"), anne)  # Bruno's
    client = logged_in(app, anne, "en")
    # Bruno's: Anne's message, and the alert for her request near him (issue 14).
    brunos = unread_of(app, bruno.id)
    assert brunos >= 1
    response = client.post("/notifications/read")
    assert_see_other(response, "/notifications/")
    assert unread_of(app, anne.id) == 0
    assert unread_of(app, bruno.id) == brunos  # only mine
    page = html(client.get("/notifications/"))
    assert "All notifications are marked as read." in page
    assert 'class="notification unread"' not in page and "Unread:" not in page
    assert "Mark all as read" not in page
    assert "Bruno D. answered “Lend me a ladder”" in page  # still listed, now read


def test_mark_all_as_read_with_htmx_swaps_the_list_and_refreshes_the_bell(app, anne, request_answered):
    client = logged_in(app, anne, "en")
    response = client.post("/notifications/read", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert "HX-Request" in response.headers["Vary"]
    body = html(response).strip()
    assert body.startswith('<div id="notification-list">') and "<html" not in body
    assert "All notifications are marked as read." in body
    assert "Bruno D. answered" in body and "Unread:" not in body
    assert unread_of(app, anne.id) == 0


def test_notifications_list_as_a_fragment_and_as_a_page(app, anne, request_answered):
    client = logged_in(app, anne, "en")
    page = client.get("/notifications/")
    fragment = client.get("/notifications/", headers={"HX-Request": "true"})
    for response in (page, fragment):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
        assert "Bruno D. answered “Lend me a ladder”" in html(response)
    assert "<html" in html(page) and "<h1>Notifications</h1>" in html(page)
    assert html(fragment).strip().startswith('<div id="notification-list">')
    # Boosted navigation and history restores need the whole page.
    boosted = client.get("/notifications/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in html(boosted)


def test_empty_notifications_page(app, bruno):
    page = html(logged_in(app, bruno, "en").get("/notifications/"))
    assert "Nothing new." in page
    assert "Mark all as read" not in page


def test_members_only_ever_see_their_own_notifications(app, factory, anne, request_answered):
    carol = factory.member(language="en", first_name="Carol")
    client = logged_in(app, carol, "en")
    page = html(client.get("/notifications/"))
    assert "Lend me a ladder" not in page and "Nothing new." in page
    assert "Lend me a ladder" not in html(client.get("/notifications/", headers={"HX-Request": "true"}))
    assert client.get("/notifications/bell?seen=5", headers={"HX-Request": "true"}).status_code == 200
    assert "Notifications, " not in html(client.get("/notifications/bell?seen=5", headers={"HX-Request": "true"}))
    client.post("/notifications/read")
    assert unread_of(app, anne.id) == 1


def test_notification_pages_need_a_member(client):
    for path in ("/notifications/", "/notifications/settings"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post("/notifications/read").status_code == 302  # to the login page


def test_titles_and_names_are_escaped_in_sentences(app, factory, anne):
    mallory = factory.member(language="en", first_name="<b>Mal</b>", last_name="Lory")
    listing_id = factory.listing(anne, kind="request", category="diy", title=XSS)
    factory.conversation(mallory, listing_id, "hello")
    client = logged_in(app, anne, "en")
    for response in (client.get("/notifications/"), client.get("/notifications/", headers={"HX-Request": "true"})):
        body = html(response)
        assert XSS not in body and "<b>Mal</b>" not in body
        assert f"&lt;b&gt;Mal&lt;/b&gt; L. answered “{ESCAPED}”" in body


def test_posts_need_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    factory = Factory(app)
    anne = factory.member(language="en", first_name="Anne", last_name="Martin")
    bruno = factory.member(language="en", first_name="Bruno", last_name="Durand")
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    factory.conversation(bruno, listing_id, "I have one.")

    client = app.test_client()
    page = html(client.get("/auth/login"))
    token = csrf_token_in(page)
    client.post("/auth/login", data={"email": anne.email, "password": anne.password, "csrf_token": token})

    assert client.post("/notifications/read").status_code == 400
    assert client.post("/notifications/read", headers={"HX-Request": "true"}).status_code == 400
    assert unread_of(app, anne.id) == 1
    assert client.post("/notifications/settings", data={}).status_code == 400
    with app.app_context():
        assert db.session.get(Member, anne.id).email_notifications is True

    # The page's own forms carry the token.
    token = csrf_token_in(html(client.get("/notifications/")))
    assert client.post("/notifications/read", data={"csrf_token": token}).status_code == 303
    assert unread_of(app, anne.id) == 0
    token = csrf_token_in(html(client.get("/notifications/settings")))
    assert client.post("/notifications/settings", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert db.session.get(Member, anne.id).email_notifications is False


# --- E-mail preference and e-mails -------------------------------------------------------------------


def test_settings_page_has_a_labelled_checkbox(app, anne):
    page = html(logged_in(app, anne, "en").get("/notifications/settings"))
    checkbox = re.search(r'<input[^>]*id="email_notifications"[^>]*>', page).group(0)
    assert 'type="checkbox"' in checkbox and " checked " in checkbox
    assert 'aria-describedby="email-notifications-hint"' in checkbox
    assert '<label for="email_notifications">Send me e-mails for first replies and confirmation requests</label>' in page
    assert "<h1>E-mail settings</h1>" in page


def test_turning_e_mails_off_and_on(app, anne):
    client = logged_in(app, anne, "en")
    response = client.post("/notifications/settings", data={})
    assert_see_other(response, "/notifications/settings")
    with app.app_context():
        assert db.session.get(Member, anne.id).email_notifications is False
    page = html(client.get("/notifications/settings"))
    assert "Your e-mail preference is saved." in page
    assert not re.search(r'<input[^>]*checked[^>]*name="email_notifications"', page)
    client.post("/notifications/settings", data={"email_notifications": "y"})
    with app.app_context():
        assert db.session.get(Member, anne.id).email_notifications is True


def test_first_replies_and_confirmation_requests_are_e_mailed_in_english(app, factory, outbox, anne, bruno):
    listing_id = factory.listing(anne, kind="offer", offer_type="lend", category="diy", title="Ladder to lend")
    conversation_id = factory.conversation(bruno, listing_id, "Could I borrow it?")
    factory.act(lambda a: conversations.post_message(a, conversation_id, "Sure"), anne)  # no e-mail
    factory.act(lambda b: conversations.post_message(b, conversation_id, "Thanks"), bruno)  # no e-mail
    factory.completion(anne, conversation_id)

    sent = mails(outbox)
    assert [(m["To"], m["Subject"]) for m in sent] == [
        (anne.email, "Bruno D. answered your listing"),
        (bruno.email, "Please confirm the service with Anne M."),
    ]
    first = sent[0].get_content()
    assert "Hello Anne," in first and "Bruno D. answered “Ladder to lend”.\n\n> Could I borrow it?\n" in first
    assert "Sure" not in first and "Thanks" not in first  # the answer alone, not what came after
    # Each e-mail leads to the conversation, where the answer waits.
    assert f"http://localhost/conversations/{conversation_id}\n" in first
    assert "http://localhost/notifications/settings" in first
    assert "Anne M. marked “Ladder to lend” as done with you." in sent[1].get_content()
    assert f"http://localhost/conversations/{conversation_id}\n" in sent[1].get_content()


def test_no_e_mail_once_turned_off_on_the_settings_page(app, factory, outbox, anne, bruno):
    logged_in(app, anne, "en").post("/notifications/settings", data={})
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    factory.conversation(bruno, listing_id, "I have one.")
    assert mails(outbox) == []
    assert unread_of(app, anne.id) == 1  # the notification itself is kept


def quiet_conversation(app, listing_id: int, responder_id: int) -> int:
    """A conversation row under the listing, made without the services (so nobody is told)."""
    with app.app_context():
        conversation = Conversation(listing_id=listing_id, responder_id=responder_id)
        db.session.add(conversation)
        db.session.commit()
        return conversation.id


def test_e_mails_leave_only_after_commit(app, factory, outbox, anne, bruno):
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    conversation_id = quiet_conversation(app, listing_id, bruno.id)
    with app.test_request_context():
        notify(anne.id, "first_reply", actor_id=bruno.id, target_id=conversation_id)
        db.session.flush()
        assert mails(outbox) == []  # written to the database, not committed: nothing sent
        db.session.rollback()
        assert mails(outbox) == []
        db.session.commit()  # a later commit does not resurrect it
        assert mails(outbox) == []
        # (The alert of the new request to Bruno is another kind, committed with the listing.)
        assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "first_reply")) == 0

        notify(anne.id, "first_reply", actor_id=bruno.id, target_id=conversation_id)
        assert mails(outbox) == []
        db.session.commit()
    assert [m["Subject"] for m in mails(outbox)] == ["Bruno D. answered your listing"]


def test_a_rolled_back_savepoint_keeps_the_e_mails_of_the_outer_transaction(app, factory, outbox, anne, bruno):
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    conversation_id = quiet_conversation(app, listing_id, bruno.id)
    with app.test_request_context():
        notify(anne.id, "first_reply", actor_id=bruno.id, target_id=conversation_id)
        try:
            with db.session.begin_nested():
                # Notified inside a savepoint that then fails: that one must not be mailed.
                notify(bruno.id, "confirmation_requested", actor_id=anne.id, target_id=conversation_id)
                db.session.execute(text("SELECT 1"))
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        db.session.commit()
    assert [(m["To"], m["Subject"]) for m in mails(outbox)] == [(anne.email, "Bruno D. answered your listing")]


def test_e_mails_are_written_in_the_recipients_language(app, factory, outbox, bruno):
    francoise = factory.member(language="fr", first_name="Françoise", last_name="Petit")
    listing_id = factory.listing(francoise, kind="request", category="diy", title="Une échelle")
    factory.conversation(bruno, listing_id, "J'en ai une.")
    (sent,) = mails(outbox)
    assert sent["To"] == francoise.email
    with app.test_request_context():
        from flask_babel import force_locale
        from flask_babel import gettext as _

        with force_locale("fr"):
            expected = _("%(name)s answered your listing", name="Bruno D.")
    assert sent["Subject"] == expected


# --- In Chromium ------------------------------------------------------------------------------------


def _ladder_request(app):
    """Anne (in English) asks for a ladder; Bruno will answer. Returns (factory, anne, bruno, listing id)."""
    factory = Factory(app)
    anne = factory.member(language="en", first_name="Anne", last_name="Martin")
    bruno = factory.member(language="en", first_name="Bruno", last_name="Durand")
    return factory, anne, bruno, factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")


@pytest.mark.browser
def test_the_bell_refreshes_itself_and_mark_all_as_read_updates_it(live_server, new_page):
    from playwright.sync_api import expect

    factory, anne, bruno, listing_id = _ladder_request(live_server.app)

    page = new_page(locale="en-GB")
    log_in_browser(page, live_server.url, anne)
    bell = page.locator("#bell")
    expect(bell).to_have_accessible_name("Notifications")

    factory.conversation(bruno, listing_id, "I have one.")
    # What the 30-second poll does, without waiting 30 seconds: the same request, now.
    page.evaluate("document.body.dispatchEvent(new Event('notifications-changed'))")
    expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    expect(bell.locator(".bell-count")).to_have_text("1")

    bell.click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    expect(page.locator(".notification.unread")).to_contain_text("Bruno D. answered “Lend me a ladder”")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("status")).to_contain_text("All notifications are marked as read.")
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator("#bell")).to_have_accessible_name("Notifications")
    assert page.url.endswith("/notifications/")  # swapped in place, no reload
    assert page.errors == []


@pytest.mark.browser
def test_without_javascript_the_bell_and_the_button_still_work(live_server, new_page):
    from playwright.sync_api import expect

    factory, anne, bruno, listing_id = _ladder_request(live_server.app)
    factory.conversation(bruno, listing_id, "I have one.")

    page = new_page(locale="en-GB", java_script_enabled=False)
    log_in_browser(page, live_server.url, anne)
    page.get_by_role("link", name="Notifications, 1 unread").click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    expect(page.locator(".flash-success")).to_contain_text("All notifications are marked as read.")
    expect(page.locator("#bell")).to_have_accessible_name("Notifications")


def test_a_kind_registered_by_its_feature_alone_shows_on_the_page_and_in_its_e_mail(app, factory, outbox, anne, bruno):
    """A new kind touches only its own feature's files: here the test plays the feature. It
    registers a target type, a kind with its sentence template and its e-mail; the hub lists,
    links and mails it, and the notification goes with its object."""
    from jinja2 import ChoiceLoader, DictLoader

    from onemile.listings import services as listings
    from onemile.models import Listing
    from onemile.notifications.kinds import KINDS, TARGET_TYPES, register_kind, register_target_type

    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"likes/notifications/listing_liked.html":
                    '{{ _("%(name)s likes “%(title)s”", name=name, title=target.title) }}'}),
        app.jinja_env.loader,
    ])

    def load(ids):
        return {listing.id: listing for listing in db.session.scalars(select(Listing).where(Listing.id.in_(ids)))}

    register_target_type("liked_listing", Listing, load)
    register_kind(
        "listing_liked",
        sentence="likes/notifications/listing_liked.html",
        target="liked_listing",
        link=lambda _n, listing: ("listings.detail", {"listing_id": listing.id}),
        email=lambda _n, listing, who: (f"{who} likes your listing", f"{who} likes “{listing.title}”."),
    )
    try:
        listing_id = factory.listing(anne, kind="request", category="diy", title=f"Ladder {XSS}")
        with app.test_request_context():
            notify(anne.id, "listing_liked", actor_id=bruno.id, target_id=listing_id)
            db.session.commit()

        page = html(logged_in(app, anne, "en").get("/notifications/"))
        assert f"Bruno D. likes “Ladder {ESCAPED}”" in page
        assert XSS not in page
        assert f'href="/listings/{listing_id}"' in page
        [mail] = mails(outbox)
        assert (mail["To"], mail["Subject"]) == (anne.email, "Bruno D. likes your listing")
        assert f"Bruno D. likes “Ladder {XSS}”." in mail.get_content()  # plain text: not HTML-escaped
        assert f"/listings/{listing_id}" in mail.get_content()

        # Deleted with its object, as the old per-feature foreign keys did.
        with app.test_request_context():
            listings.delete_listing(db.session.get(Member, anne.id), listing_id)
            assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    finally:
        KINDS.pop("listing_liked", None)
        TARGET_TYPES.pop("liked_listing", None)


def test_notifications_go_with_a_listing_whose_conversations_the_database_deletes(app, factory, anne, bruno):
    """A conversation dies by ON DELETE CASCADE with its listing, out of the ORM's sight: its
    target type's `deleted_with` takes the notifications about it along (the bell would
    otherwise count what the page no longer shows)."""
    from onemile.listings import services as listings

    no_quiet_hours(app, bruno)
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    factory.conversation(bruno, listing_id, "I have one.", replies=((anne, "Great!"),))
    # Bruno's two: Anne's reply and the alert of her new request near him (issue 14).
    assert unread_of(app, anne.id) == 1 and unread_of(app, bruno.id) == 2
    with app.test_request_context():
        listings.delete_listing(db.session.get(Member, anne.id), listing_id)
        db.session.commit()  # as the request's edge does (onemile.unit_of_work)
    assert (unread_of(app, anne.id), unread_of(app, bruno.id)) == (0, 0)
    assert "Lend me a ladder" not in html(logged_in(app, bruno, "en").get("/notifications/"))


def test_an_answer_is_quoted_in_its_e_mail_up_to_a_length():
    from onemile.conversations.notifications import QUOTE_MAX, _quoted

    assert _quoted("Hello\n\nSaturday?") == "> Hello\n>\n> Saturday?"
    long = _quoted("x" * (QUOTE_MAX + 50))
    assert long == "> " + "x" * QUOTE_MAX + "…"

"""Conversations and finishing a service, on both backends: answering an ad, the author's
list of answers, privacy against a third member (real and guessed ids), bad messages, every
fragment with and without htmx, live updates (204 while idle, what an idle page costs),
escaping, and the request and offer flows with their smiles, notifications, replays and
refusals.

Members are created with `language="en"` and pages asked in English, so that assertions on
messages hold whatever the French catalog says.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import Factory
from helpers import assert_see_other, count, csrf_token_in, html
from sqlalchemy import event, func, select

from onemile.conversations.services import MESSAGE_MAX
from onemile.extensions import db
from onemile.models import Completion, Conversation, Listing, Message, Notification, utcnow
from onemile.smiles import services as smiles
from onemile.smiles.services import balance_of

HX = {"HX-Request": "true"}
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CONVERSATION_URL = re.compile(r"/conversations/(\d+)")
POLLER_AFTER = re.compile(r'id="poller-\d+"[^>]*?hx-get="/conversations/\d+/poll\?after=(\d+)"', re.DOTALL)


class Member:
    """A member of the test with their own logged-in client (pages in English)."""

    def __init__(self, app, ref):
        self.ref = ref
        self.id = ref.id
        self.client = app.test_client()
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        response = self.client.post("/auth/login", data={"email": ref.email, "password": ref.password})
        assert_see_other(response)

    def answer(self, listing_id: int, body: str = "Hello, I can help.", **kwargs):
        return self.client.post(f"/conversations/answer/{listing_id}", data={"body": body}, **kwargs)

    def open_conversation(self, listing_id: int, body: str = "Hello, I can help.") -> int:
        response = self.answer(listing_id, body)
        assert_see_other(response)  # html(response)
        return int(CONVERSATION_URL.search(response.headers["Location"]).group(1))

    def say(self, conversation_id: int, body: str, after: int | None = None, headers=None):
        data = {"body": body}
        if after is not None:
            data["after"] = str(after)
        return self.client.post(f"/conversations/{conversation_id}/messages", data=data, headers=headers or {})

    def poll(self, conversation_id: int, after: int, headers=HX):
        return self.client.get(f"/conversations/{conversation_id}/poll", query_string={"after": after}, headers=headers)


class Cast:
    """Anne posts; Bruno and Chloé answer or stay out; everyone in the same mile (68100)."""

    def __init__(self, app):
        self.app = app
        self.factory = Factory(app)
        self.anne = Member(app, self.factory.member(first_name="Anne", last_name="Martin", language="en"))
        self.bruno = Member(app, self.factory.member(first_name="Bruno", last_name="Petit", language="en"))
        self.chloe = Member(app, self.factory.member(first_name="Chloé", last_name="Roux", language="en"))

    def request(self, title: str = "Help me carry a sofa") -> int:
        return self.factory.listing(self.anne.ref, kind="request", offer_type=None, category="repairs", title=title)

    def offer(self, title: str = "I lend a ladder") -> int:
        return self.factory.listing(self.anne.ref, kind="offer", offer_type="lend", category="diy", title=title)


@pytest.fixture
def cast(app) -> Cast:
    return Cast(app)


def balances(app, *members: Member) -> list[int]:
    with app.app_context():
        return [balance_of(member.id) for member in members]


def listing_status(app, listing_id: int) -> str:
    with app.app_context():
        return db.session.get(Listing, listing_id).status


def completions(app, listing_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Completion.id, Completion.status).where(Completion.listing_id == listing_id).order_by(Completion.id)
        )
        return [tuple(row) for row in rows]


def notifications(app, member: Member, kind: str) -> int:
    return count(app, Notification, Notification.member_id == member.id, Notification.kind == kind)


def latest_message_id(app, conversation_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))


def ledger_holds(app) -> bool:
    result = app.test_cli_runner().invoke(args=["smiles", "verify"])
    return result.exit_code == 0


# --- answering --------------------------------------------------------------------------------


def test_answer_opens_one_conversation_per_responder_and_reuses_it(app, cast):
    listing_id = cast.request()
    first = cast.bruno.open_conversation(listing_id, "I have a van.")
    again = cast.bruno.open_conversation(listing_id, "Saturday works too.")
    other = cast.chloe.open_conversation(listing_id, "Me too!")
    assert first == again != other
    assert count(app, Conversation) == 2
    assert count(app, Message, Message.conversation_id == first) == 2
    page = html(cast.bruno.client.get(f"/conversations/{first}"))
    assert "I have a van." in page and "Saturday works too." in page and "Me too!" not in page
    # The author was told once about the first reply, not about the second message as a first one.
    assert notifications(app, cast.anne, "first_reply") == 2
    assert notifications(app, cast.anne, "message") == 1


def test_the_listing_page_offers_the_answer_form_then_shows_my_conversation(app, cast):
    listing_id = cast.request()
    page = html(cast.bruno.client.get(f"/listings/{listing_id}"))
    assert 'id="answer"' in page and f'action="/conversations/answer/{listing_id}"' in page
    assert '<label for="answer-body">' in page
    conversation_id = cast.bruno.open_conversation(listing_id, "I have a van.")
    page = html(cast.bruno.client.get(f"/listings/{listing_id}"))
    assert f'action="/conversations/answer/{listing_id}"' not in page
    assert 'id="answer"' in page  # the map's "Answer" links land here
    assert "I have a van." in page
    assert f'action="/conversations/{conversation_id}/messages"' in page
    assert f'hx-get="/conversations/{conversation_id}/poll?after=' in page


def test_the_author_sees_one_conversation_per_responder_with_unread_counts(app, cast):
    listing_id = cast.request()
    bruno_cid = cast.bruno.open_conversation(listing_id, "One")
    cast.bruno.say(bruno_cid, "Two")
    chloe_cid = cast.chloe.open_conversation(listing_id, "Hi")
    page = html(cast.anne.client.get(f"/listings/{listing_id}"))
    assert 'id="answers"' in page and 'action="/conversations/answer/' not in page
    items = re.findall(r'<li>\s*<a href="/conversations/(\d+)">([^<]+)</a>.*?</li>', page, re.DOTALL)
    assert sorted(items) == sorted([(str(bruno_cid), "Bruno P."), (str(chloe_cid), "Chloé R.")])
    assert "2 unread" in page and "1 unread" in page
    # Reading Bruno's conversation clears its count, not Chloé's.
    cast.anne.client.get(f"/conversations/{bruno_cid}")
    page = html(cast.anne.client.get(f"/listings/{listing_id}"))
    assert "2 unread" not in page and "1 unread" in page
    # Nobody else gets the list.
    assert 'id="answers"' not in html(cast.chloe.client.get(f"/listings/{listing_id}"))


def test_the_author_cannot_answer_their_own_listing(app, cast):
    listing_id = cast.request()
    response = cast.anne.answer(listing_id, "Talking to myself")
    assert response.status_code == 422
    assert "This is your own listing." in html(response)
    assert count(app, Conversation) == 0 and count(app, Message) == 0


@pytest.mark.parametrize("state", ["closed", "expired", "done", "deleted"])
def test_a_listing_no_longer_open_cannot_be_answered(app, cast, state):
    listing_id = cast.request()
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        if state == "expired":
            listing.expires_at = utcnow() - timedelta(minutes=1)
        elif state == "deleted":
            db.session.delete(listing)
        else:
            listing.status = state
        db.session.commit()
    response = cast.bruno.answer(listing_id)
    assert response.status_code == 404
    assert count(app, Conversation) == 0 and count(app, Message) == 0


def test_visitors_and_missing_ids_cannot_answer(app, cast):
    listing_id = cast.request()
    visitor = app.test_client()
    response = visitor.post(f"/conversations/answer/{listing_id}", data={"body": "hi"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    for missing in (listing_id + 1, 2**31 - 1, 2**31, 10**20):
        assert cast.bruno.answer(missing).status_code == 404, missing
    assert count(app, Conversation) == 0


# --- bad messages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "Write a message first."), ("  \n\t ", "Write a message first."),
     ("x" * (MESSAGE_MAX + 1), f"Use at most {MESSAGE_MAX} characters.")],
    ids=["empty", "blank", "huge"],
)
def test_an_empty_or_huge_message_gets_a_clear_error_and_nothing_is_saved(app, cast, body, error):
    listing_id = cast.request()
    refused = cast.bruno.answer(listing_id, body)
    assert refused.status_code == 422
    assert error in html(refused) and 'aria-invalid="true"' in html(refused)
    assert count(app, Conversation) == 0 and count(app, Message) == 0

    conversation_id = cast.bruno.open_conversation(listing_id, "A real message")
    for headers, status in ((HX, 200), ({}, 422)):
        refused = cast.bruno.say(conversation_id, body, after=1, headers=headers)
        # htmx only swaps 2xx answers: the form with its error comes back as 200 for it.
        assert refused.status_code == status
        assert error in html(refused) and 'role="alert"' in html(refused)
    assert count(app, Message) == 1
    if body.strip():
        # What was typed is kept.
        assert body in html(refused)


def test_line_breaks_count_once_and_nul_characters_are_dropped(app, cast):
    """A browser lets a member type MESSAGE_MAX characters in the textarea (maxlength counts a
    line break once) but sends each break as CRLF; PostgreSQL refuses NUL in text."""
    listing_id = cast.request()
    typed = ("line\r\n" * (MESSAGE_MAX // 5))[: MESSAGE_MAX + MESSAGE_MAX // 5 - 2]
    assert len(typed.replace("\r\n", "\n")) <= MESSAGE_MAX < len(typed)
    conversation_id = cast.bruno.open_conversation(listing_id, typed)
    assert cast.bruno.say(conversation_id, "a\x00b").status_code == 303
    with app.app_context():
        bodies = db.session.scalars(select(Message.body).order_by(Message.id)).all()
    assert bodies[0] == typed.replace("\r\n", "\n").strip()
    assert bodies[1] == "ab"


# --- privacy ------------------------------------------------------------------------------------


def test_a_third_member_gets_404_for_real_and_guessed_ids(app, cast):
    listing_id = cast.offer()
    conversation_id = cast.bruno.open_conversation(listing_id, "Secret plans")
    latest = latest_message_id(app, conversation_id)
    before = count(app, Message), count(app, Notification)
    for cid in (conversation_id, conversation_id + 1, 999_999, 2**31 - 1):
        client = cast.chloe.client
        assert client.get(f"/conversations/{cid}").status_code == 404, cid
        assert client.get(f"/conversations/{cid}", headers=HX).status_code == 404, cid
        # Polling must not tell an outsider that the conversation exists, even when "idle".
        for after in (0, latest, latest + 1000):
            assert cast.chloe.poll(cid, after).status_code == 404, (cid, after)
            assert cast.chloe.poll(cid, after, headers={}).status_code == 404, (cid, after)
        assert cast.chloe.say(cid, "let me in", after=0).status_code == 404, cid
        assert cast.chloe.say(cid, "let me in", after=0, headers=HX).status_code == 404, cid
        assert client.post(f"/conversations/{cid}/done").status_code == 404, cid
    for path in (f"/conversations/{2**31}", f"/conversations/{10**20}/poll", "/conversations/0"):
        assert cast.chloe.client.get(path).status_code == 404, path
    assert "Secret plans" not in html(cast.chloe.client.get(f"/listings/{listing_id}"))
    assert (count(app, Message), count(app, Notification)) == before


def test_conversations_need_a_logged_in_member(app, cast):
    conversation_id = cast.bruno.open_conversation(cast.request())
    visitor = app.test_client()
    for response in (
        visitor.get(f"/conversations/{conversation_id}"),
        visitor.get(f"/conversations/{conversation_id}/poll?after=0", headers=HX),
        visitor.post(f"/conversations/{conversation_id}/messages", data={"body": "hi"}),
        visitor.post(f"/conversations/{conversation_id}/done"),
    ):
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert count(app, Message) == 1


def test_posting_needs_the_csrf_token_in_the_form_or_the_htmx_header(app, cast):
    listing_id = cast.request()
    app.config["WTF_CSRF_ENABLED"] = True
    assert cast.bruno.answer(listing_id).status_code == 400
    assert count(app, Conversation) == 0
    page = html(cast.bruno.client.get(f"/listings/{listing_id}"))
    token = csrf_token_in(page)
    response = cast.bruno.client.post(
        f"/conversations/answer/{listing_id}", data={"body": "hello", "csrf_token": token}
    )
    assert_see_other(response)
    cid = int(CONVERSATION_URL.search(response.headers["Location"]).group(1))
    # htmx sends the token in a header (hx-headers on <body>).
    assert cast.bruno.say(cid, "again", after=0, headers=HX).status_code == 400
    assert cast.bruno.say(cid, "again", after=0, headers={**HX, "X-CSRFToken": token}).status_code == 200
    assert count(app, Message) == 2


# --- fragments and live updates ------------------------------------------------------------------


def test_every_view_answers_a_fragment_to_htmx_and_a_page_otherwise(app, cast):
    listing_id = cast.request()
    cid = cast.bruno.open_conversation(listing_id, "First")
    last = latest_message_id(app, cid)
    anne = cast.anne
    anne.say(cid, "Second")
    cases = {
        "page": (anne.client.get(f"/conversations/{cid}", headers=HX), anne.client.get(f"/conversations/{cid}")),
        "poll": (anne.poll(cid, last), anne.poll(cid, last, headers={})),
    }
    for name, (fragment, page) in cases.items():
        assert fragment.status_code == page.status_code == 200, name
        assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"], name
        assert "<html" not in html(fragment) and "<html" in html(page), name
        assert "Second" in html(fragment) and "Second" in html(page), name
        boosted = anne.client.get(f"/conversations/{cid}/poll?after={last}", headers={**HX, "HX-Boosted": "true"})
        assert "<html" in html(boosted), name
    # POSTs: a fragment for htmx, a redirect to the page (303) without it.
    fragment = anne.say(cid, "Third", after=last, headers=HX)
    plain = anne.say(cid, "Fourth")
    assert fragment.status_code == 200 and "<html" not in html(fragment)
    assert plain.status_code == 303 and plain.headers["Location"].startswith(f"/conversations/{cid}#message-")
    for response in (fragment, plain):
        assert "HX-Request" in response.headers["Vary"]
    fragment = anne.client.post(f"/conversations/{cid}/done", headers=HX)
    assert fragment.status_code == 200 and "<html" not in html(fragment)
    assert "Done — 1 smile went to Bruno P." in html(fragment) and "HX-Request" in fragment.headers["Vary"]


def test_poll_is_204_and_empty_while_idle_and_brings_new_messages_otherwise(app, cast):
    cid = cast.bruno.open_conversation(cast.offer(), "Is it still free?")
    after = latest_message_id(app, cid)
    sizes = []
    for _ in range(20):
        idle = cast.bruno.poll(cid, after)
        assert idle.status_code == 204
        assert idle.get_data() == b""
        assert "HX-Request" in idle.headers["Vary"]
        assert "Set-Cookie" not in idle.headers  # the session is not written on every poll
        # What goes on the wire: status line, headers, blank line, body.
        head = f"HTTP/1.1 {idle.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in idle.headers.items()) + "\r\n"
        sizes.append(len(head.encode()) + len(idle.get_data()))
    assert len(set(sizes)) == 1
    # Shown with `pytest -s`; the figure is in the report. hx-trigger="every 3s".
    print(f"idle poll: {sizes[0]} bytes per response, {sizes[0] * 20} bytes per minute")
    assert sizes[0] < 1024, sizes[0]

    reply = cast.anne.say(cid, "Yes, come tonight.\nRing twice.")
    assert_see_other(reply)
    new_id = latest_message_id(app, cid)
    fresh = cast.bruno.poll(cid, after)
    body = html(fresh)
    assert fresh.status_code == 200
    assert body.count("<li ") == 1 and "Yes, come tonight.\nRing twice." in body and "Is it still free?" not in body
    assert f'id="message-{new_id}"' in body
    # The poller replaces itself out of band, carrying the new "after".
    assert 'hx-swap-oob="true"' in body and POLLER_AFTER.findall(body) == [str(new_id)]
    assert f'id="after-{cid}" name="after" value="{new_id}"' in body
    assert cast.bruno.poll(cid, new_id).status_code == 204


def test_an_idle_poll_costs_one_query_beyond_loading_the_member(app, cast):
    cid = cast.bruno.open_conversation(cast.request())
    after = latest_message_id(app, cid)
    cast.bruno.poll(cid, after)  # warm up: connections, caches
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert cast.bruno.poll(cid, after).status_code == 204
    finally:
        event.remove(engine, "before_cursor_execute", record)
    member_loads = [s for s in statements if "FROM member" in s and "message" not in s]
    assert len(member_loads) == 1, statements
    assert len(statements) == 2, statements
    assert "message" in statements[1] and "conversation" in statements[1]


def test_a_reply_from_htmx_brings_every_message_the_page_misses_once(app, cast):
    cid = cast.bruno.open_conversation(cast.request(), "Hello")
    shown = latest_message_id(app, cid)
    cast.anne.say(cid, "Anne wrote meanwhile")
    response = cast.bruno.say(cid, "Bruno replies", after=shown, headers=HX)
    body = html(response)
    # The emptied form (main target), then the missing messages, in order, appended out of band.
    assert body.lstrip().startswith(f'<form id="reply-{cid}"')
    assert re.search(r"<textarea[^>]*>\s*</textarea>", body)
    appended = re.search(rf'<ol hx-swap-oob="beforeend:#messages-{cid}">(.*?)</ol>', body, re.DOTALL).group(1)
    assert appended.index("Anne wrote meanwhile") < appended.index("Bruno replies")
    assert "Hello" not in appended
    assert POLLER_AFTER.findall(body) == [str(latest_message_id(app, cid))]


def test_message_bodies_and_titles_are_escaped_everywhere(app):
    cast = Cast(app)
    listing_id = cast.factory.listing(cast.anne.ref, kind="request", offer_type=None, title=XSS)
    cid = cast.bruno.open_conversation(listing_id, XSS)
    after = latest_message_id(app, cid)
    cast.anne.say(cid, XSS + " again")
    outputs = {
        "page": cast.bruno.client.get(f"/conversations/{cid}"),
        "listing page": cast.bruno.client.get(f"/listings/{listing_id}"),
        "author's listing page": cast.anne.client.get(f"/listings/{listing_id}"),
        "poll": cast.bruno.poll(cid, after),
        "reply fragment": cast.bruno.say(cid, XSS, after=after, headers=HX),
        "refused answer": cast.chloe.answer(listing_id, XSS + "x" * MESSAGE_MAX),
    }
    for name, response in outputs.items():
        assert ESCAPED in html(response), name
        assert XSS not in html(response), name


# --- finishing a request: the author is the beneficiary ------------------------------------------


def test_marking_a_request_done_pays_one_smile_to_the_responder(app, cast):
    listing_id = cast.request()
    cid = cast.bruno.open_conversation(listing_id, "I can help on Saturday.")
    assert balances(app, cast.anne, cast.bruno) == [1, 1]
    page = html(cast.anne.client.get(f"/conversations/{cid}"))
    assert "Mark done with Bruno P." in page
    assert "Mark done" not in html(cast.bruno.client.get(f"/conversations/{cid}"))

    response = cast.anne.client.post(f"/conversations/{cid}/done")
    assert_see_other(response)
    page = html(cast.anne.client.get(response.headers["Location"]))
    assert "Thank you! Bruno P. received 1 smile." in page  # the flash
    assert "Done — 1 smile went to Bruno P." in page and "Mark done with" not in page
    assert "Done — 1 smile went to Bruno P." in html(cast.bruno.client.get(f"/conversations/{cid}"))

    assert balances(app, cast.anne, cast.bruno) == [0, 2]
    assert listing_status(app, listing_id) == "done"
    assert [status for _, status in completions(app, listing_id)] == ["confirmed"]
    assert notifications(app, cast.anne, "service_confirmed") == 1
    assert notifications(app, cast.bruno, "service_confirmed") == 1
    assert ledger_holds(app)
    # Talking goes on after the service.
    assert cast.bruno.say(cid, "Thanks!").status_code == 303


def test_marking_done_twice_pays_once_and_answers_with_the_current_state(app, cast):
    listing_id = cast.request()
    cid = cast.bruno.open_conversation(listing_id)
    first = cast.anne.client.post(f"/conversations/{cid}/done", headers=HX)
    replay = cast.anne.client.post(f"/conversations/{cid}/done", headers=HX)
    plain_replay = cast.anne.client.post(f"/conversations/{cid}/done")
    assert first.status_code == replay.status_code == 200
    assert "Done — 1 smile went to Bruno P." in html(replay)
    assert 'role="alert"' not in html(replay)
    assert_see_other(plain_replay)
    assert balances(app, cast.anne, cast.bruno) == [0, 2]
    assert len(completions(app, listing_id)) == 1
    assert ledger_holds(app)


def test_another_responder_cannot_be_marked_once_the_request_is_done(app, cast):
    listing_id = cast.request()
    bruno_cid = cast.bruno.open_conversation(listing_id)
    chloe_cid = cast.chloe.open_conversation(listing_id)
    cast.anne.client.post(f"/conversations/{bruno_cid}/done")
    response = cast.anne.client.post(f"/conversations/{chloe_cid}/done", headers=HX)
    assert response.status_code == 200
    assert "This listing is no longer open." in html(response) and 'role="alert"' in html(response)
    assert "This listing was done with another member." in html(cast.chloe.client.get(f"/conversations/{chloe_cid}"))
    assert balances(app, cast.anne, cast.bruno, cast.chloe) == [0, 2, 1]
    # Chloé is told, in her notifications, and the line leads to her conversation; Bruno,
    # who did it, is not told that it was done with someone else.
    assert notifications(app, cast.chloe, "listing_done_elsewhere") == 1
    assert notifications(app, cast.bruno, "listing_done_elsewhere") == 0
    page = html(cast.chloe.client.get("/notifications/"))
    assert re.search(rf'<a href="/conversations/{chloe_cid}">(<span[^>]*>[^<]*</span>)?“[^”]+” was done with another member. '
                     r"Thank you for answering.</a>", page), page


def test_marking_done_at_zero_goes_into_credit(make_app):
    app = make_app(SIGNUP_BONUS=0)
    cast = Cast(app)
    listing_id = cast.request()
    cid = cast.bruno.open_conversation(listing_id)
    assert balances(app, cast.anne, cast.bruno) == [0, 0]
    # Before the tap, the page says what it will do to her balance (a true minus sign).
    page = html(cast.anne.client.get(f"/conversations/{cid}"))
    assert ("You have 0 smiles: you can still thank them, your balance will be \u22121 smile "
            "(it may go down to \u22125 smiles).") in page
    assert "your balance will be" not in html(cast.bruno.client.get(f"/conversations/{cid}")), "Bruno does not pay"

    response = cast.anne.client.post(f"/conversations/{cid}/done", headers=HX)
    assert response.status_code == 200
    assert "Thank you! Bruno P. received 1 smile." in html(response)
    assert "no smile left" not in html(response)
    # The ad's state above the block is swapped too: it no longer says "Open".
    assert f'<span id="ad-status-{listing_id}" hx-swap-oob="true">Done</span>' in html(response)
    assert f'<span id="ad-status-{listing_id}">Open</span>' in page
    assert listing_status(app, listing_id) == "done"
    assert balances(app, cast.anne, cast.bruno) == [-1, 1]
    assert notifications(app, cast.bruno, "service_confirmed") == 1
    assert ledger_holds(app)
    # The header and the page "me" say −1 as the smiles page does.
    assert "\u22121 smile" in html(cast.anne.client.get("/me"))


def test_marking_done_at_the_limit_with_an_empty_pot_confirms_with_thanks(make_app):
    app = make_app(SIGNUP_BONUS=0, SMILES_CREDIT_LIMIT=0)
    cast = Cast(app)
    listing_id = cast.request()
    cid = cast.bruno.open_conversation(listing_id)
    assert "You are at your credit limit (0 smiles): the solidarity pot gives the smile if it can." in html(
        cast.anne.client.get(f"/conversations/{cid}"))

    response = cast.anne.client.post(f"/conversations/{cid}/done", headers=HX)
    assert response.status_code == 200 and 'role="alert"' not in html(response)
    assert "Confirmed with thanks." in html(response) and "no smile moved to Bruno P." in html(response)
    assert listing_status(app, listing_id) == "done"
    assert completions(app, listing_id)[0][1] == "confirmed"
    assert balances(app, cast.anne, cast.bruno) == [0, 0]
    # Both sides are told, on the conversation page and in their notifications.
    for member in (cast.anne, cast.bruno):
        page = html(member.client.get(f"/conversations/{cid}"))
        assert "Done, with thanks" in page and "the solidarity pot could not pay" in page
        assert notifications(app, member, "service_confirmed_thanks") == 1
    assert ledger_holds(app)


# --- finishing an offer: the responder is the beneficiary and confirms ---------------------------


def _pending_offer(app, cast) -> tuple[int, int, int]:
    listing_id = cast.offer()
    cid = cast.bruno.open_conversation(listing_id, "May I borrow it?")
    response = cast.anne.client.post(f"/conversations/{cid}/done", headers=HX)
    assert "Bruno P. is asked to confirm the service." in html(response)
    [(completion_id, status)] = completions(app, listing_id)
    assert status == "pending"
    return listing_id, cid, completion_id


def test_an_offer_is_paid_when_the_beneficiary_confirms(app, cast):
    listing_id, cid, completion_id = _pending_offer(app, cast)
    assert notifications(app, cast.bruno, "confirmation_requested") == 1
    assert listing_status(app, listing_id) == "open"
    assert balances(app, cast.anne, cast.bruno) == [1, 1]

    bruno_page = html(cast.bruno.client.get(f"/conversations/{cid}"))
    assert "Confirm the service" in bruno_page and "Decline" in bruno_page
    assert f'/conversations/completions/{completion_id}/cancel' not in bruno_page
    anne_page = html(cast.anne.client.get(f"/conversations/{cid}"))
    assert "Waiting for Bruno P. to confirm the service." in anne_page
    assert f'/conversations/completions/{completion_id}/cancel' in anne_page
    assert "Confirm the service" not in anne_page

    # The helper cannot confirm her own service.
    refused = cast.anne.client.post(f"/conversations/completions/{completion_id}/confirm", headers=HX)
    assert refused.status_code == 200 and "Only the member who was helped can confirm." in html(refused)
    assert balances(app, cast.anne, cast.bruno) == [1, 1]

    confirmed = cast.bruno.client.post(f"/conversations/completions/{completion_id}/confirm", headers=HX)
    assert confirmed.status_code == 200
    assert "Done — 1 smile went to Anne M." in html(confirmed)
    assert "notifications-changed" in confirmed.headers.get("HX-Trigger", "")
    # Confirming twice (double click, resend, the other tab) pays once and answers the same.
    for replay in (
        cast.bruno.client.post(f"/conversations/completions/{completion_id}/confirm", headers=HX),
        cast.bruno.client.post(f"/conversations/completions/{completion_id}/confirm"),
    ):
        assert replay.status_code in (200, 303)
    assert "Done — 1 smile went to Anne M." in html(cast.bruno.client.get(f"/conversations/{cid}"))
    assert "Done — 1 smile went to Anne M." in html(cast.anne.client.get(f"/conversations/{cid}"))

    assert balances(app, cast.anne, cast.bruno) == [2, 0]
    assert listing_status(app, listing_id) == "done"
    assert notifications(app, cast.anne, "service_confirmed") == 1
    assert notifications(app, cast.bruno, "service_confirmed") == 1
    assert ledger_holds(app)


@pytest.mark.parametrize("who", ["beneficiary", "helper"])
def test_either_side_can_decline_and_the_listing_stays_open(app, cast, who):
    listing_id, cid, completion_id = _pending_offer(app, cast)
    member = cast.bruno if who == "beneficiary" else cast.anne
    response = member.client.post(f"/conversations/completions/{completion_id}/decline")
    assert_see_other(response)
    assert "Declined. The listing stays open." in html(member.client.get(response.headers["Location"]))
    assert completions(app, listing_id) == [(completion_id, "declined")]
    assert listing_status(app, listing_id) == "open"
    assert balances(app, cast.anne, cast.bruno) == [1, 1]
    other = cast.anne if who == "beneficiary" else cast.bruno
    assert notifications(app, other, "service_declined") == 1
    # A replayed decline is harmless; confirming it afterwards is refused with a message.
    replay = member.client.post(f"/conversations/completions/{completion_id}/decline", headers=HX)
    assert replay.status_code == 200 and 'role="alert"' not in html(replay)
    late = cast.bruno.client.post(f"/conversations/completions/{completion_id}/confirm", headers=HX)
    assert "This confirmation is no longer pending." in html(late)
    assert balances(app, cast.anne, cast.bruno) == [1, 1]
    # The author may mark it done again.
    page = html(cast.anne.client.get(f"/conversations/{cid}"))
    assert "The last confirmation was declined." in page and "Mark done with Bruno P." in page


def test_only_the_author_can_cancel_a_pending_confirmation(app, cast):
    listing_id, cid, completion_id = _pending_offer(app, cast)
    assert cast.bruno.client.post(f"/conversations/completions/{completion_id}/cancel").status_code == 404
    assert completions(app, listing_id) == [(completion_id, "pending")]
    response = cast.anne.client.post(f"/conversations/completions/{completion_id}/cancel", headers=HX)
    assert response.status_code == 200 and "Cancelled. The listing stays open." in html(response)
    assert "Mark done with Bruno P." in html(response)
    assert completions(app, listing_id) == [(completion_id, "cancelled")]
    assert notifications(app, cast.bruno, "completion_cancelled") == 1
    assert "Confirm the service" not in html(cast.bruno.client.get(f"/conversations/{cid}"))
    assert balances(app, cast.anne, cast.bruno) == [1, 1]


def test_confirming_at_the_limit_is_paid_by_the_solidarity_pot(make_app):
    app = make_app(SIGNUP_BONUS=0, SMILES_CREDIT_LIMIT=0)
    cast = Cast(app)
    with app.test_request_context():
        # Someone filled the pot (any account would do: here straight from the ledger).
        donor = smiles.member_account(cast.chloe.id)
        donor.credit_limit = 3
        smiles.transfer(donor, smiles.pot_account(), 2, "pot_gift", "pot:test")
        db.session.commit()
    listing_id, cid, completion_id = _pending_offer(app, cast)
    # Bruno confirms an offer: he is the one who pays, and is told he is at the limit.
    assert "You are at your credit limit" in html(cast.bruno.client.get(f"/conversations/{cid}"))
    assert "You are at your credit limit" not in html(cast.anne.client.get(f"/conversations/{cid}"))
    response = cast.bruno.client.post(f"/conversations/completions/{completion_id}/confirm", headers=HX)
    assert response.status_code == 200
    assert "the solidarity pot gave Anne M. 1 smile" in html(response)
    assert completions(app, listing_id) == [(completion_id, "confirmed")]
    assert listing_status(app, listing_id) == "done"
    assert balances(app, cast.anne, cast.bruno) == [1, 0]
    with app.app_context():
        assert smiles.pot_balance() == 1
    assert "paid by the solidarity pot" in html(cast.anne.client.get("/smiles/"))
    assert notifications(app, cast.anne, "service_confirmed_pot") == 1
    assert ledger_holds(app)


def test_another_member_cannot_finish_someone_elses_service(app, cast):
    listing_id, cid, completion_id = _pending_offer(app, cast)
    chloe = cast.chloe.client
    for path in (
        f"/conversations/{cid}/done",
        *(f"/conversations/completions/{completion_id}/{action}" for action in ("confirm", "decline", "cancel")),
        *(f"/conversations/completions/{completion_id + 1}/{action}" for action in ("confirm", "decline", "cancel")),
    ):
        assert chloe.post(path).status_code == 404, path
        assert chloe.post(path, headers=HX).status_code == 404, path
    # The responder cannot mark the author's listing done either.
    assert cast.bruno.client.post(f"/conversations/{cid}/done").status_code == 404
    assert completions(app, listing_id) == [(completion_id, "pending")]
    assert balances(app, cast.anne, cast.bruno, cast.chloe) == [1, 1, 1]


# --- links to answer from the map ---------------------------------------------------------------


def test_the_map_offers_an_answer_link_to_members_on_others_listings_only(app, cast):
    theirs = cast.request("Someone else's request")
    mine = cast.factory.listing(cast.bruno.ref, kind="offer", offer_type="give", title="My own offer")
    page = html(cast.bruno.client.get("/map"))
    assert f'href="/listings/{theirs}#answer"' in page
    assert f'data-answer-url="/listings/{theirs}#answer"' in page
    assert f"/listings/{mine}#answer" not in page
    for fragment in ("/map/nearest", "/map/markers"):
        assert f"/listings/{theirs}#answer" in html(cast.bruno.client.get(fragment, headers=HX)), fragment
    assert 'data-answer-label="Answer"' in page

    visitor = app.test_client()
    for path in ("/explore", "/map/nearest", "/map/markers"):
        response = visitor.get(path)
        assert response.status_code == 200, path
        assert "#answer" not in html(response) and "data-answer-url" not in html(response), path
        assert "/conversations/" not in html(response), path


def test_a_finished_listing_stays_readable_to_both_sides_only(app, client, auth, factory):
    """After the service, the helper can still open the ad; a third member cannot."""
    from onemile.conversations import services as conversation_services
    from onemile.models import Member

    author, helper, stranger = factory.member(), factory.member(), factory.member()
    listing_id = factory.listing(author, kind="request", offer_type=None, title="Monter une étagère")
    with app.test_request_context():
        conversation = conversation_services.answer(db.session.get(Member, helper.id), listing_id, "Je viens !")
        conversation_services.mark_done(db.session.get(Member, author.id), conversation.id)
        db.session.commit()
    auth.login(helper)
    assert client.get(f"/listings/{listing_id}").status_code == 200
    auth.logout()
    auth.login(stranger)
    assert client.get(f"/listings/{listing_id}").status_code == 404

"""Live updates through Redis (onemile/live.py), against the real Redis server at
127.0.0.1:6379 (`make test` starts one: scripts/system-deps.sh test), on both backends.

Each test writes under its own key prefix and deletes its keys. What is shown: posting a
message leaves its id for both members and nobody else; an idle poll and an idle bell are
answered without touching a conversation, message or notification row; an outsider still
gets 404; a rolled-back message publishes nothing; marks never go down and expire; a count
that raced with a new notification is not cached; and with Redis gone, the database answers.
"""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from sqlalchemy import event
from test_conversations import HX, Cast, latest_message_id

from onemile import live
from onemile.conversations import services as conversations
from onemile.conversations.services import writes as conversation_writes
from onemile.extensions import db
from onemile.models import Conversation, Member
from onemile.notifications.services import bell_count, notify, unread_count

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_server() -> redis.Redis:
    """The Redis server of the machine; skipped only when none answers (failed under CI)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required under CI=true: {error}")
        pytest.skip(f"no Redis server at {REDIS_URL}: {error}")
    return client


@pytest.fixture
def prefix(redis_server) -> str:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    value = f"onemile-test-{uuid.uuid4().hex}"
    yield value
    keys = list(redis_server.scan_iter(f"{value}*"))
    if keys:
        redis_server.delete(*keys)


@pytest.fixture
def app(make_app, prefix):
    """The app with live updates in Redis (replaces conftest's `app` in this module)."""
    return make_app(REDIS_URL=REDIS_URL, LIVE_KEY_PREFIX=f"{prefix}:live")


@pytest.fixture
def cast(app) -> Cast:
    return Cast(app)


def conversation_mark(redis_server, prefix: str, conversation_id: int, member_id: int) -> int | None:
    value = redis_server.get(f"{prefix}:live:conv:{conversation_id}:member:{member_id}")
    return None if value is None else int(value)


class Statements:
    """Every SQL statement the app's engine runs inside the block."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def only_the_member_loader(statements: list[str]) -> bool:
    """True when the request read nothing but the logged-in member (Flask-Login's loader)."""
    return len(statements) == 1 and "FROM member" in statements[0]


def test_a_message_leaves_its_id_for_both_members_and_nobody_else(app, cast, redis_server, prefix):
    cid = cast.bruno.open_conversation(cast.request(), "I have a van.")
    first = latest_message_id(app, cid)
    assert conversation_mark(redis_server, prefix, cid, cast.bruno.id) == first
    assert conversation_mark(redis_server, prefix, cid, cast.anne.id) == first
    assert conversation_mark(redis_server, prefix, cid, cast.chloe.id) is None
    cast.anne.say(cid, "Great, Saturday?")
    second = latest_message_id(app, cid)
    assert second > first
    assert conversation_mark(redis_server, prefix, cid, cast.bruno.id) == second
    ttl = redis_server.ttl(f"{prefix}:live:conv:{cid}:member:{cast.bruno.id}")
    assert 0 < ttl <= app.config["LIVE_TTL"]


def test_an_idle_poll_is_answered_by_redis_and_a_new_message_still_arrives(app, cast):
    cid = cast.bruno.open_conversation(cast.offer(), "Is it still free?")
    after = latest_message_id(app, cid)
    cast.bruno.poll(cid, after)  # warm up: connections, caches
    with Statements(app) as statements:
        idle = cast.bruno.poll(cid, after)
    assert idle.status_code == 204 and idle.get_data() == b""
    assert only_the_member_loader(statements), statements

    assert cast.anne.say(cid, "Yes, come tonight.").status_code == 303
    fresh = cast.bruno.poll(cid, after)
    assert fresh.status_code == 200 and "Yes, come tonight." in fresh.get_data(as_text=True)
    assert cast.bruno.poll(cid, latest_message_id(app, cid)).status_code == 204


def test_an_outsider_gets_404_and_no_mark(app, cast, redis_server, prefix):
    cid = cast.bruno.open_conversation(cast.request(), "Private words")
    after = latest_message_id(app, cid)
    for headers in (HX, {}):
        assert cast.chloe.poll(cid, 0, headers=headers).status_code == 404
        assert cast.chloe.poll(cid, after, headers=headers).status_code == 404
    assert cast.chloe.poll(cid + 1000, 0).status_code == 404  # a conversation that does not exist
    assert conversation_mark(redis_server, prefix, cid, cast.chloe.id) is None
    assert conversation_mark(redis_server, prefix, cid + 1000, cast.chloe.id) is None


def test_a_poll_with_no_mark_asks_the_database_once_and_leaves_one(app, cast, redis_server, prefix):
    cid = cast.bruno.open_conversation(cast.request(), "Hello")
    after = latest_message_id(app, cid)
    # Redis lost the mark (expired, flushed, restarted).
    redis_server.delete(f"{prefix}:live:conv:{cid}:member:{cast.bruno.id}")
    with Statements(app) as statements:
        assert cast.bruno.poll(cid, after).status_code == 204
    assert any("message" in statement for statement in statements)
    assert conversation_mark(redis_server, prefix, cid, cast.bruno.id) == after
    with Statements(app) as statements:
        assert cast.bruno.poll(cid, after).status_code == 204
    assert only_the_member_loader(statements), statements


def test_a_rolled_back_message_publishes_nothing(app, cast, redis_server, prefix):
    cid = cast.bruno.open_conversation(cast.request(), "Hello")
    before = latest_message_id(app, cid)
    with app.test_request_context():
        bruno = db.session.get(Member, cast.bruno.id)
        conversations.post_message(bruno, cid, "kept")
        db.session.commit()  # the request's edge
        kept = latest_message_id(app, cid)
        conversation = conversations.conversation_for(bruno, cid)
        conversation_writes._add_message(conversation, bruno.id, "never committed")
        db.session.rollback()
    assert kept > before
    assert conversation_mark(redis_server, prefix, cid, cast.anne.id) == kept
    assert latest_message_id(app, cid) == kept


def test_marks_never_go_down(app, redis_server, prefix):
    with app.app_context():
        live.remember_latest_message_id(7, 3, 12)
        live.remember_latest_message_id(7, 3, 9)  # a slower writer, or a poller's older read
        assert live.latest_message_id(7, 3) == 12
        live.remember_latest_message_id(7, 3, 15)
        assert live.latest_message_id(7, 3) == 15
        assert live.latest_message_id(7, 4) is None


def test_the_bell_is_counted_once_then_answered_by_redis_until_something_changes(app, cast):
    cid = cast.bruno.open_conversation(cast.request(), "Hello")  # Anne: one unread notification
    bell = "/notifications/bell"
    first = cast.anne.client.get(bell, query_string={"seen": 0}, headers=HX)
    assert first.status_code == 200 and ">1<" in first.get_data(as_text=True).replace(" ", "")
    with Statements(app) as statements:
        assert cast.anne.client.get(bell, query_string={"seen": 1}, headers=HX).status_code == 204
    assert only_the_member_loader(statements), statements
    # Bruno writes again, on any worker: Anne's next bell counts again.
    cast.bruno.say(cid, "Are you there?")
    assert cast.anne.client.get(bell, query_string={"seen": 1}, headers=HX).status_code == 200
    assert cast.anne.client.get(bell, query_string={"seen": 2}, headers=HX).status_code == 204
    # Reading the conversation reads its notifications: the bell drops to 0 at once.
    cast.anne.client.get(f"/conversations/{cid}")
    assert cast.anne.client.get(bell, query_string={"seen": 0}, headers=HX).status_code == 204
    # Marking everything read does too.
    cast.bruno.say(cid, "Hello?")
    assert cast.anne.client.get(bell, query_string={"seen": 1}, headers=HX).status_code == 204
    cast.anne.client.post("/notifications/read")
    assert cast.anne.client.get(bell, query_string={"seen": 0}, headers=HX).status_code == 204


def test_a_count_that_raced_with_a_notification_is_not_cached(app, cast, redis_server, prefix):
    anne = cast.anne.id
    listing_id = cast.request()
    with app.test_request_context():
        # A conversation made without the services, so that nobody is told yet.
        conversation = Conversation(listing_id=listing_id, responder_id=cast.bruno.id)
        db.session.add(conversation)
        live.notifications_changed(anne)
        db.session.commit()

        def count_while_a_notification_lands(member_id: int) -> int:
            counted = unread_count(member_id)
            # Meanwhile the bell's hash expires, then a notification is committed (and
            # published): the count just taken is already stale.
            redis_server.delete(f"{prefix}:live:bell:{member_id}")
            notify(member_id, "message", actor_id=cast.bruno.id, target_id=conversation.id)
            db.session.commit()
            return counted

        assert live.unread_count(anne, count_while_a_notification_lands) == 0
        assert redis_server.hget(f"{prefix}:live:bell:{anne}", "cached") is None
        assert bell_count(anne) == 1  # counted again, not the stale 0


def test_without_redis_the_database_answers(make_app):
    plain = make_app()
    with plain.app_context():
        assert plain.extensions["onemile_live"] is None
        assert live.latest_message_id(1, 1) is None
        assert live.unread_count(1, lambda member_id: 42) == 42


def test_with_redis_down_polls_fall_back_to_the_database(make_app, prefix):
    # Nothing listens on port 1: every Redis call fails at once.
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", LIVE_KEY_PREFIX=f"{prefix}:live")
    cast = Cast(app)
    cid = cast.bruno.open_conversation(cast.request(), "Hello")  # the commit stands
    after = latest_message_id(app, cid)
    assert cast.bruno.poll(cid, after).status_code == 204
    cast.anne.say(cid, "Reply")
    assert cast.bruno.poll(cid, after).status_code == 200
    assert cast.chloe.poll(cid, after).status_code == 404
    bell = cast.anne.client.get("/notifications/bell", query_string={"seen": 0}, headers=HX)
    assert bell.status_code == 200

"""Live updates shared by every worker and machine, through Redis when REDIS_URL is set.

Open pages poll: a conversation every 3 s (`/conversations/<id>/poll`), the header's bell
every 4 s (`/notifications/bell`), the answers under an author's ad and a conversation's
finish panel every 3 s (topics, below), and not at all while the tab is hidden. Almost every poll finds nothing new. With several gunicorn
workers on several machines, only a store they all share can answer "nothing new" without
asking the database, so the writers leave two small marks in Redis after their commit:

- `<prefix>:conv:<conversation>:member:<member>`: the newest message id of a conversation,
  one key per party. Keying it by member is the authorization: a key exists only for the
  two members of the conversation (posting writes both, a poll writes its own only after the
  database has confirmed membership). An outsider's poll never finds one and goes to the
  database, which answers 404 as before, so Redis can neither leak that a conversation moves
  nor let anyone skip the check.
- `<prefix>:bell:<member>`: a hash with `version`, a new random value after every commit that
  changes the member's unread notifications, and `cached`, "version:count" as last counted from the
  database. A count is trusted only if it was taken at the current version; it is written
  only if the version did not move while the database was counting (a Lua script checks), so
  a count racing with a new notification cannot stick.

- `<prefix>:topic:<topic>`: a random version of what pages following a topic show (the
  answers under an ad, the finish panels of its conversations), changed after each commit
  that changes it. A page carries the version it was drawn at; a poll with the current one
  is answered 204 from here. Without the right version (an outsider cannot know it) the poll
  goes to the database, which checks who asks.

All only ever make a poll go to the database sooner, never later, with one exception: a
commit whose Redis write fails (Redis down, a worker killed between the two). The marks
expire after LIVE_TTL seconds (default 300), which bounds how long such a miss can hide
an update; the next message or notification also clears it. Without REDIS_URL, or when
Redis does not answer, every function here says "don't know" and callers use the database.
"""

from __future__ import annotations

import secrets

import redis
from flask import Flask, current_app
from sqlalchemy import event

from .extensions import db

_PENDING = "onemile_pending_live"
# Raise a key to a value, never lower it: two messages committed at once may reach Redis in
# either order, and the poller must see the larger id.
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local value = tonumber(ARGV[1])
if value > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return math.max(value, current)
"""
# Store a count only if it was taken at the version the hash still has.
_CACHE_COUNT = """
local version = redis.call('HGET', KEYS[1], 'version') or '0'
if version == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cached', ARGV[1] .. ':' .. ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""


class LiveStore:
    """The Redis side of live updates for one app."""

    def __init__(self, url: str, prefix: str, ttl: int):
        # Short timeouts: a Redis that hangs must slow a poll by milliseconds, not block a
        # worker; the poll then asks the database as it would without Redis.
        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.prefix, self.ttl = prefix, ttl
        self._raise = self.redis.register_script(_RAISE)
        self._cache_count = self.redis.register_script(_CACHE_COUNT)

    def conversation_key(self, conversation_id: int, member_id: int) -> str:
        return f"{self.prefix}:conv:{conversation_id}:member:{member_id}"

    def bell_key(self, member_id: int) -> str:
        return f"{self.prefix}:bell:{member_id}"

    def raise_latest(self, conversation_id: int, member_id: int, message_id: int) -> None:
        self._raise(keys=[self.conversation_key(conversation_id, member_id)], args=[message_id, self.ttl])

    def latest(self, conversation_id: int, member_id: int) -> int | None:
        value = self.redis.get(self.conversation_key(conversation_id, member_id))
        return None if value is None else int(value)

    def bump_bell(self, member_id: int) -> None:
        # A random version, not a counter: a counter starts again at 1 when the hash expires,
        # and a count cached at the old "1" would pass for current.
        key = self.bell_key(member_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, "version", secrets.token_hex(8)).expire(key, self.ttl).execute()

    def bell(self, member_id: int) -> tuple[str, int | None]:
        """(current version, the count cached at that version or None)."""
        version, cached = self.redis.hmget(self.bell_key(member_id), ["version", "cached"])
        version = (version or b"0").decode()
        if cached:
            at, _, count = cached.decode().partition(":")
            if at == version:
                return version, int(count)
        return version, None

    def cache_bell(self, member_id: int, version: str, count: int) -> None:
        self._cache_count(keys=[self.bell_key(member_id)], args=[version, count, self.ttl])

    def topic_key(self, topic: str) -> str:
        return f"{self.prefix}:topic:{topic}"

    def bump_topic(self, topic: str) -> None:
        self.redis.set(self.topic_key(topic), secrets.token_hex(8), ex=self.ttl)

    def topic_version(self, topic: str) -> str:
        """The topic's version, made if missing. Reads do not keep it alive: once it expires
        an idle page fetches once more (so a lost bump hides a change LIVE_TTL at most)."""
        key = self.topic_key(topic)
        with self.redis.pipeline() as pipe:
            pipe.set(key, secrets.token_hex(8), ex=self.ttl, nx=True).get(key)
            return pipe.execute()[1].decode()


def init_app(app: Flask) -> None:
    """Connect to REDIS_URL, if set (the connection itself opens on first use)."""
    url = app.config.get("REDIS_URL")
    app.extensions["onemile_live"] = (
        LiveStore(url, app.config["LIVE_KEY_PREFIX"], app.config["LIVE_TTL"]) if url else None
    )


def _store() -> LiveStore | None:
    return current_app.extensions.get("onemile_live")


def _log_failure(what: str, error: redis.RedisError) -> None:
    current_app.logger.warning("live updates: Redis failed to %s (%s); polls use the database", what, error)


# --- Readers (pollers) ---------------------------------------------------------------------


def latest_message_id(conversation_id: int, member_id: int) -> int | None:
    """The newest message id of a conversation as Redis knows it for one of its members, or
    None (no Redis, no mark for this member, Redis failing): then ask the database."""
    store = _store()
    if store is None:
        return None
    try:
        return store.latest(conversation_id, member_id)
    except redis.RedisError as error:
        _log_failure("read a conversation", error)
        return None


def remember_latest_message_id(conversation_id: int, member_id: int, message_id: int) -> None:
    """Record what the database said, once it has checked that the member takes part."""
    store = _store()
    if store is None:
        return
    try:
        store.raise_latest(conversation_id, member_id, message_id)
    except redis.RedisError as error:
        _log_failure("record a conversation", error)


def unread_count(member_id: int, count_in_database) -> int:
    """The member's unread notification count: from Redis when it was counted at the current
    version, else `count_in_database(member_id)`, which is then cached for the next poll."""
    store = _store()
    if store is None:
        return count_in_database(member_id)
    try:
        version, cached = store.bell(member_id)
    except redis.RedisError as error:
        _log_failure("read a bell", error)
        return count_in_database(member_id)
    if cached is not None:
        return cached
    count = count_in_database(member_id)
    try:
        store.cache_bell(member_id, version, count)
    except redis.RedisError as error:
        _log_failure("cache a bell", error)
    return count


# --- Writers: queued in the transaction, sent after its commit --------------------------------


def message_posted(conversation_id: int, party_ids: tuple[int, int], message_id: int) -> None:
    """A message was added in the current transaction: after the commit, both members' pollers
    learn its id (before the commit they would find nothing in the database)."""
    for member_id in party_ids:
        _queue(("message", conversation_id, member_id, message_id))


def notifications_changed(member_id: int) -> None:
    """The member's unread notifications change in the current transaction (a new one, or
    some read): after the commit, the bell's cached count no longer counts."""
    _queue(("bell", member_id))


def topic_changed(topic: str) -> None:
    """What pages following `topic` show changes in the current transaction (an answer under
    an ad, a step of a finished service): after the commit, the topic's version changes."""
    _queue(("topic", topic))


def topic_version(topic: str) -> str | None:
    """The version of `topic` in Redis, for a page to carry and poll with: a poll with the
    current version has nothing to fetch. None without Redis (or when it fails): ask the
    database. Read it before reading what the page shows, so that a change committed in
    between gives the page an old version, and its next poll fetches."""
    store = _store()
    if store is None:
        return None
    try:
        return store.topic_version(topic)
    except redis.RedisError as error:
        _log_failure("read a topic", error)
        return None


def _queue(change: tuple) -> None:
    if _store() is not None:
        db.session.info.setdefault(_PENDING, []).append(change)


@event.listens_for(db.session, "after_commit")
def _publish(session) -> None:
    changes = session.info.pop(_PENDING, [])
    store = _store() if changes else None
    if store is None:
        return
    try:
        for change in dict.fromkeys(changes):  # the same bell bumped twice: once is enough
            if change[0] == "message":
                store.raise_latest(*change[1:])
            elif change[0] == "topic":
                store.bump_topic(change[1])
            else:
                store.bump_bell(change[1])
    except redis.RedisError as error:
        _log_failure("publish a change", error)


@event.listens_for(db.session, "after_transaction_end")
def _drop_unpublished(session, transaction) -> None:
    # Only the outermost transaction decides (a savepoint rolled back inside a committed
    # transaction keeps the queue, as the notification e-mails do).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)

"""Live pages of the exchange: the answers under an author's open ad, and the finish panel
on both sides of a conversation, follow what happens without a reload.

Every commit that adds a message or changes a completion (whatever service did it) changes
the version of its listing's topics in Redis (onemile.live); the pages poll with the
version they were drawn at and get 204 from Redis while it holds. Without Redis they poll
with a state token that the database recomputes (one or two indexed queries).
"""

from __future__ import annotations

from sqlalchemy import event

from .. import live
from ..extensions import db
from ..models import Completion, Conversation, Message


def answers_topic(listing_id: int) -> str:
    """The topic of the answers under an ad."""
    return f"answers:{listing_id}"


def finish_topic(listing_id: int) -> str:
    """The topic of the finish panels of an ad's conversations (one finished elsewhere
    changes the others)."""
    return f"finish:{listing_id}"


def answers_token(conversations: list[Conversation], unread: dict[int, int]) -> str:
    """What the answers list shows, in a few characters: answers, newest message, unread."""
    newest = max((c.last_message_at for c in conversations if c.last_message_at), default=None)
    return f"{len(conversations)}.{newest.timestamp() if newest else 0:.0f}.{sum(unread.values())}"


def finish_token(finish) -> str:
    """What a finish panel shows, in a few characters."""
    completion = finish.completion
    return "-".join(str(part) for part in (
        completion.id if completion else 0, finish.status, finish.listing_status, finish.finished_elsewhere,
    ))


def _listing_of(session, obj) -> int | None:
    conversation = getattr(obj, "conversation", None)
    if conversation is None and obj.conversation_id:
        conversation = session.get(Conversation, obj.conversation_id)
    return conversation.listing_id if conversation is not None else None


def _changed(session, _flush_context) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Message) and obj in session.new:
            listing_id = _listing_of(session, obj)
            if listing_id:
                live.topic_changed(answers_topic(listing_id))
        elif isinstance(obj, Completion):
            listing_id = _listing_of(session, obj)
            if listing_id:
                live.topic_changed(finish_topic(listing_id))
                live.topic_changed(answers_topic(listing_id))


def connect() -> None:
    """Watch the session's flushes (once per process: the session is global)."""
    if not event.contains(db.session, "after_flush", _changed):
        event.listen(db.session, "after_flush", _changed)

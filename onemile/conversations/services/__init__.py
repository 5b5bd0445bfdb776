"""Conversation and completion rules.

A responder opens one conversation per listing with its author; only those two read it.
The author marks the listing done with one responder. The beneficiary confirms: on a
request the author is the beneficiary (marking is confirming), on an offer the responder
is. On confirmation the listing is done and the helper gets one smile, in one transaction:
from the beneficiary (within their credit limit), else from the solidarity pot, else none
("with thanks"); replays and races pay once.
"""

from __future__ import annotations

from .reads import (
    MESSAGE_MAX,
    SERVICE_PRICE,
    FinishState,
    active_completion,
    completion_for,
    conversation_for,
    conversations_of_listing,
    finish_state,
    latest_message_id,
    my_conversation_about,
    newest_for_poll,
    reply_refusal,
    roles,
    unread_counts,
)
from .writes import (
    answer,
    cancel,
    confirm,
    decline,
    mark_done,
    messages_after,
    post_message,
)

__all__ = [
    "MESSAGE_MAX",
    "SERVICE_PRICE",
    "FinishState",
    "active_completion",
    "answer",
    "cancel",
    "completion_for",
    "confirm",
    "conversation_for",
    "conversations_of_listing",
    "decline",
    "finish_state",
    "latest_message_id",
    "mark_done",
    "messages_after",
    "my_conversation_about",
    "newest_for_poll",
    "post_message",
    "reply_refusal",
    "roles",
    "unread_counts",
]

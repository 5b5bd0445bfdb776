"""What conversations tell members: answers, messages and the steps of a finished service.
Registered with the notifications hub by conversations.setup."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Conversation, Listing
from ..notifications.kinds import register_kind, register_target_type


def _load(ids: list[int]) -> dict[int, Conversation]:
    """The conversations and their listings (every sentence names the listing), one query."""
    found = db.session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)).options(joinedload(Conversation.listing))
    )
    return {conversation.id: conversation for conversation in found}


def _of_listings(listing_ids: list[int]) -> list[int]:
    """The conversations the database deletes with these listings."""
    return list(db.session.scalars(select(Conversation.id).where(Conversation.listing_id.in_(listing_ids))))


def _link(_notification, conversation: Conversation):
    # Opening the conversation reads its notifications; an e-mail leads there too (through
    # the log-in page, which comes back to it), where the answer waits.
    return "conversations.show", {"conversation_id": conversation.id}


# How much of the answer an e-mail quotes: enough to know whether to open it now.
QUOTE_MAX = 500


def _quoted(text: str) -> str:
    """The start of a message as e-mails quote it ("> " before each line)."""
    shown = text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX].rstrip() + "…"
    return "\n".join(f"> {line}".rstrip() for line in shown.splitlines())


def _first_reply_email(_notification, conversation: Conversation, who: str) -> tuple[str, str]:
    lead = _("%(name)s answered “%(title)s”.", name=who, title=conversation.listing.title)
    first = conversation.messages[0] if conversation.messages else None
    if first is not None and first.hidden_at is None:
        lead = f"{lead}\n\n{_quoted(first.body)}"
    return _("%(name)s answered your listing", name=who), lead


def _confirmation_email(_notification, conversation: Conversation, who: str) -> tuple[str, str]:
    return (
        _("Please confirm the service with %(name)s", name=who),
        _(
            "%(name)s marked “%(title)s” as done with you. Confirm it to thank them with a smile.",
            name=who,
            title=conversation.listing.title,
        ),
    )


def _first_reply_push(_notification, conversation: Conversation, who: str) -> tuple[str, str]:
    return _("New answer"), _("%(name)s answered “%(title)s”", name=who, title=conversation.listing.title)


def _message_push(_notification, conversation: Conversation, who: str) -> tuple[str, str]:
    return _("New message"), _("%(name)s wrote about “%(title)s”", name=who, title=conversation.listing.title)


def register() -> None:
    """Register the conversation target type and its kinds."""
    register_target_type(
        "conversation",
        Conversation,
        _load,
        deleted_with={Listing: _of_listings},
        # The lines of the data export keep naming the listing and the conversation.
        export=lambda conversation: {"listing_id": conversation.listing_id, "conversation_id": conversation.id},
    )
    emails = {"first_reply": _first_reply_email, "confirmation_requested": _confirmation_email}
    pushes = {"first_reply": _first_reply_push, "message": _message_push}
    for kind in (
        "first_reply",
        "message",
        "confirmation_requested",
        "service_confirmed",
        "service_confirmed_pot",     # the beneficiary was at the limit: the solidarity pot paid
        "service_confirmed_thanks",  # at the limit, the pot could not pay: no smile moved
        "service_declined",
        "completion_cancelled",
        "listing_done_elsewhere",    # the ad was done with another responder
    ):
        register_kind(
            kind,
            sentence=f"conversations/notifications/{kind}.html",
            target="conversation",
            link=_link,
            email=emails.get(kind),
            push=pushes.get(kind),
        )

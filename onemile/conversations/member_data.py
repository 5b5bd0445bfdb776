"""The member's conversations in their data download (only the messages they wrote: the
other side's words are theirs), and their pending confirmations in an account deletion."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import Completion, CompletionStatus, Conversation, Listing, Member, Message, utcnow


def export(member: Member, export: dict) -> None:
    """The conversations the member took part in, with the messages they wrote."""
    conversations = db.session.scalars(
        select(Conversation)
        .join(Listing, Listing.id == Conversation.listing_id)
        .where(or_(Conversation.responder_id == member.id, Listing.author_id == member.id))
        .options(selectinload(Conversation.listing))
        .order_by(Conversation.id)
    ).all()
    mine: dict[int, list[Message]] = {}
    for message in db.session.scalars(
        select(Message)
        .where(Message.sender_id == member.id, Message.conversation_id.in_([c.id for c in conversations]))
        .order_by(Message.id)
    ):
        mine.setdefault(message.conversation_id, []).append(message)
    export["conversations"] = [
        {
            "id": c.id,
            "listing_id": c.listing_id,
            "listing_title": c.listing.title,
            "my_role": "responder" if c.responder_id == member.id else "author",
            "created_at": export_time(c.created_at),
            "my_messages": [
                {"id": m.id, "body": m.body, "created_at": export_time(m.created_at)} for m in mine.get(c.id, [])
            ],
        }
        for c in conversations
    ]


def forget(member: Member, after_commit: list) -> None:
    """Cancel the pending confirmations the member is part of (their messages stay in the
    other side's conversations, signed "Former member")."""
    db.session.execute(
        update(Completion)
        .where(
            Completion.status == CompletionStatus.PENDING,
            or_(Completion.helper_id == member.id, Completion.beneficiary_id == member.id),
        )
        .values(status=CompletionStatus.CANCELLED, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

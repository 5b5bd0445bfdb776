"""The member's conversations in one list ("Messages") and the count behind its badge.

Read only. A conversation is listed when the member takes part in it and the trust rule
leaves its listing and the other party visible: a listing a moderator hid (or whose author
was suspended: suspension stamps the listing's rows) is gone, and so is a conversation with a
member blocked either way or suspended.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Conversation, Listing, Member, Message
from ..models.block import blocked_either_way

INBOX_LIMIT = 200


@dataclass(frozen=True)
class InboxEntry:
    """One conversation in the list: the other side's name, its last message, unread count."""

    conversation: Conversation
    other_name: str
    last_message: Message | None
    unread: int

    @property
    def listing(self) -> Listing:
        return self.conversation.listing


def _mine_and_visible(member_id: int) -> tuple:
    """Conditions on Conversation joined to Listing: the member takes part, and the trust rule
    shows both the listing and the other side."""
    suspended = select(Member.id).where(Member.suspended_at.is_not(None))
    return (
        or_(Conversation.responder_id == member_id, Listing.author_id == member_id),
        Listing.hidden_at.is_(None),
        Conversation.responder_id.notin_(blocked_either_way(member_id)),
        Listing.author_id.notin_(blocked_either_way(member_id)),
        Conversation.responder_id.notin_(suspended),
        Listing.author_id.notin_(suspended),
    )


def _unread_condition(member_id: int):
    """Messages from the other side newer than what the member has read."""
    return and_(
        Message.sender_id != member_id,
        or_(
            and_(Conversation.responder_id == member_id, Message.id > Conversation.responder_read_id),
            and_(Listing.author_id == member_id, Conversation.responder_id != member_id,
                 Message.id > Conversation.author_read_id),
        ),
    )


def inbox(member: Member, limit: int = INBOX_LIMIT) -> list[InboxEntry]:
    """The member's conversations, newest activity first, with the last message and how many
    messages are unread in each (three queries whatever the number of conversations)."""
    conversations = list(
        db.session.scalars(
            select(Conversation)
            .join(Listing, Listing.id == Conversation.listing_id)
            .where(*_mine_and_visible(member.id))
            .options(selectinload(Conversation.listing).selectinload(Listing.author), selectinload(Conversation.responder))
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
    )
    if not conversations:
        return []
    ids = [conversation.id for conversation in conversations]
    newest = (
        select(func.max(Message.id)).where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
    )
    last = {message.conversation_id: message for message in db.session.scalars(select(Message).where(Message.id.in_(newest)))}
    unread = dict(
        db.session.execute(
            select(Message.conversation_id, func.count())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Listing, Listing.id == Conversation.listing_id)
            .where(Message.conversation_id.in_(ids), _unread_condition(member.id))
            .group_by(Message.conversation_id)
        ).all()
    )
    entries = []
    for conversation in conversations:
        other = conversation.listing.author if conversation.responder_id == member.id else conversation.responder
        entries.append(InboxEntry(conversation, other.display_name, last.get(conversation.id), unread.get(conversation.id, 0)))
    return entries


def unread_conversations(member_id: int) -> int:
    """How many of the member's listed conversations hold messages they have not read (the
    badge of the Messages tab): one query."""
    return db.session.scalar(
        select(func.count(func.distinct(Message.conversation_id)))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Listing, Listing.id == Conversation.listing_id)
        .where(*_mine_and_visible(member_id), _unread_condition(member_id))
    ) or 0

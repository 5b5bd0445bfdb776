"""Conversations under a listing, and the completion of a service."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._states import states
from ._time import utcnow
from .organisation import ActedBy

if TYPE_CHECKING:
    from .listing import Listing
    from .member import Member


CompletionStatus = states("CompletionStatus", "pending", "confirmed", "declined", "cancelled")
COMPLETION_STATUSES = tuple(CompletionStatus)


class Conversation(db.Model):
    """A private thread between a listing's author and one responder."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("listing_id", "responder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    responder_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Id of the last message each side has seen: unread = newer messages from the other side.
    author_read_id: Mapped[int] = mapped_column(default=0)
    responder_read_id: Mapped[int] = mapped_column(default=0)

    listing: Mapped[Listing] = relationship()
    responder: Mapped[Member] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Message.id"
    )

    def other_party_id(self, member_id: int) -> int:
        """The id of the member on the other side of the conversation."""
        return self.listing.author_id if member_id == self.responder_id else self.responder_id


class Message(ActedBy, db.Model):
    """One message in a conversation."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        Index("ux_message_sender_client_key", "conversation_id", "sender_id", "client_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Hidden by moderation: both members see "message hidden by moderation" instead.
    hidden_at: Mapped[datetime | None]
    # One-time key the page sends with a reply (the offline outbox): the same key from the
    # same sender again is a replay, answered with the message already posted.
    client_key: Mapped[str | None] = mapped_column(String(36))

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    sender: Mapped[Member] = relationship(foreign_keys=[sender_id])


class Completion(db.Model):
    """The author marked the listing done with a responder; the beneficiary confirms.

    At most one completion per listing is pending or confirmed at a time (a partial unique
    index enforces it even under concurrent requests).
    """

    __tablename__ = "completion"
    __table_args__ = (
        Index(
            "ux_completion_active_listing",
            "listing_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'confirmed')"),
            postgresql_where=text("status IN ('pending', 'confirmed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    helper_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=CompletionStatus.PENDING)
    # Who paid the helper's smile on confirmation: "beneficiary", "pot" (the beneficiary was
    # at their credit limit) or "nobody" (the pot was empty too: confirmed with thanks).
    paid_by: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship()
    conversation: Mapped[Conversation] = relationship()

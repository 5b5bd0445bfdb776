"""What a member is told about: replies, confirmation requests, smiles received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._time import utcnow

NOTIFICATION_KINDS = (
    "first_reply",          # someone answered my listing
    "message",              # a new message in one of my conversations
    "confirmation_requested",  # the author marked an offer done with me: please confirm
    "service_confirmed",    # a service was confirmed: a smile moved
    "service_declined",     # the other side declined
    "completion_cancelled",  # the author cancelled a pending confirmation
    "new_article",          # a mag I follow published an article
    "project_submitted",    # to moderators: a project waits for approval
    "project_approved",     # to the owner
    "project_rejected",     # to the owner, with the moderator's reason on the page
    "project_pledge",       # to the owner: someone pledged money
    "project_smiles",       # to the owner: someone gave smiles
    "project_volunteer",    # to the owner: someone offered to help with a task
    "volunteer_accepted",   # to the volunteer
    "volunteer_declined",   # to the volunteer
    "project_smiles_passed",  # to a volunteer: the project passed smiles on to them
    "project_update",       # to supporters: the owner posted news
    "project_closed",       # to supporters: completed or abandoned
    "moderation_warning",   # a moderator warned the member (the reason is in `detail`)
)


class Notification(db.Model):
    """One thing to tell a member; read once they have seen it."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_member_read", "member_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    # Free text some kinds carry (a moderator's warning).
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    actor = relationship("Member", foreign_keys=[actor_id])
    listing = relationship("Listing")
    article = relationship("Article")
    project = relationship("Project")

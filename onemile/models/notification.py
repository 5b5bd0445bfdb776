"""What a member is told about: replies, confirmation requests, smiles received.

The kinds, and what a notification points at, are registered by the features that own them
(onemile.notifications.kinds): a notification names its object generically, by target type
and id. Migration 0014 copied the pointers of the rows written before; their old per-feature
columns (listing_id, conversation_id, article_id, project_id) stay in the table, unused, for
one release, then go in a table rebuild.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._time import utcnow


class Notification(db.Model):
    """One thing to tell a member; read once they have seen it."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_member_read", "member_id", "read_at"),
        Index("ix_notification_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    # What the notification is about: a registered target type and the object's id (none
    # for some kinds, a moderator's warning).
    target_type: Mapped[str | None] = mapped_column(String(24))
    target_id: Mapped[int | None]
    # Free text some kinds carry (a moderator's warning).
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    actor = relationship("Member", foreign_keys=[actor_id])

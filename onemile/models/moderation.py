"""Reports members file about content or other members, and the moderators' audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._states import states
from ._time import utcnow

if TYPE_CHECKING:
    from .member import Member

REPORT_REASONS = ("spam", "scam", "offensive", "dangerous", "privacy", "other")


ReportStatus = states("ReportStatus", "open", "resolved", "dismissed")
REPORT_STATUSES = tuple(ReportStatus)


# What a moderator does (ModerationAction.action).
ModerationVerb = states("ModerationVerb", "hide", "unhide", "warn", "suspend", "reinstate", "dismiss")
MODERATION_ACTIONS = tuple(ModerationVerb)


class Report(db.Model):
    """A member tells moderators that something (an ad, a message, a member...) is wrong.

    The target is generic (`target_type` + `target_id`) so that every feature can make its
    content reportable by registering it in moderation.services. A member has at most one
    open report per target: a partial unique index settles double submits and races.
    """

    __tablename__ = "report"
    __table_args__ = (
        Index(
            "ux_report_open_per_reporter",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_report_status_target", "status", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int]
    reason: Mapped[str] = mapped_column(String(12))
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))

    reporter: Mapped[Member] = relationship(foreign_keys=[reporter_id])


class ModerationAction(db.Model):
    """One thing a moderator did, kept for good: who, what, on which target, why, when."""

    __tablename__ = "moderation_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    moderator: Mapped[Member | None] = relationship(foreign_keys=[moderator_id])

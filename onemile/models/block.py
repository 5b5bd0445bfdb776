"""Blocks: a member who no longer wants to deal with another one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint, select, union
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._time import utcnow


class Block(db.Model):
    """`blocker` blocked `blocked`: neither sees the other's listings any more, and the
    blocked member can no longer answer or message the blocker (nor the reverse)."""

    __tablename__ = "block"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id"),
        Index("ix_block_blocked_id", "blocked_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    blocked = relationship("Member", foreign_keys=[blocked_id])


def blocked_either_way(member_id: int):
    """A subquery of the ids of members `member_id` blocked or was blocked by.

    Queries embed it (`author_id NOT IN (...)`) so that hiding blocked members costs no
    extra round trip; both directions are served by an index.
    """
    return union(
        select(Block.blocked_id).where(Block.blocker_id == member_id),
        select(Block.blocker_id).where(Block.blocked_id == member_id),
    )

"""Web Push: a member's devices that asked for notifications, and the durable queue of what
to push to them (onemile.push). Each (notification, device) is one row written in the
transaction that records the notification, and sent after its commit at most once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._time import utcnow


# pending (or waiting for a retry at next_attempt_at); sending: claimed by one worker;
# sent; failed: gave up; dropped: nothing to send any more (the notification was read or
# its object is gone before it left).
class PushDeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


PUSH_DELIVERY_STATUSES = tuple(PushDeliveryStatus)


class PushSubscription(db.Model):
    """One browser on one device that accepted notifications (its push service endpoint is
    unique: subscribing again from the same device replaces the keys, never adds a row)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    # The browser's P-256 public key and auth secret (base64url): the payload is encrypted for them.
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushDelivery(db.Model):
    """One notification to push to one device."""

    __tablename__ = "push_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "subscription_id", name="uq_push_delivery_once"),
        Index("ix_push_delivery_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=PushDeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

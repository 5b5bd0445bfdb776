"""The durable e-mail outbox: every e-mail is a row written in the transaction that causes
it, and delivered after the commit by the mail worker (onemile.mail.delivery)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._states import states
from ._time import utcnow

# pending: waiting for delivery (or a retry at next_attempt_at); sending: claimed by one
# worker (if it stays so, the worker died mid-send: whether it left is unknown, so it is not
# sent again by itself); sent; failed: gave up, `flask mail retry` sends it again;
# dropped: a deferred message that turned out to have nobody to write to.


OutgoingMailStatus = states("OutgoingMailStatus", "pending", "sending", "sent", "failed", "dropped")
OUTGOING_MAIL_STATUSES = tuple(OutgoingMailStatus)


class OutgoingMail(db.Model):
    """One e-mail to deliver, or one to write after the response (`deferred`)."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID header, fixed when the row is written: the key that makes sending at
    # most once (a retry or a second worker sends the same message, never a second one).
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(10))
    # A deferred message is written by the worker, after the response, by the composer
    # registered under this name (onemile.mail.deferred); `payload` is its JSON input.
    deferred: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[str | None] = mapped_column(Text)
    # Extra headers as a JSON object (a digest's List-Unsubscribe and List-Unsubscribe-Post).
    headers: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OutgoingMailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

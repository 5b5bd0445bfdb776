"""Alerts for new ads: what each member wants to hear about in each mile, the alerts
waiting for the morning or for the digest, the digests sent, and the expiry reminders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._time import utcnow

# What a member can hear about in a mile (the map's layers) and how.
ALERT_SUBJECTS = ("requests", "offers", "projects", "mags")
ALERT_MODES = ("instant", "digest", "off")
# A neighbourhood app's defaults: a request is urgent (someone needs a hand now), the rest
# can wait for the digest.
DEFAULT_ALERT_MODES = {"requests": "instant", "offers": "digest", "projects": "digest", "mags": "digest"}
DIGEST_FREQUENCIES = ("daily", "weekly", "never")
# held: an instant alert that fell in quiet hours, released at `due_at` (the morning);
# digest: waits for the member's next digest (`digest_id` once sent in one).
ALERT_DELIVERIES = ("held", "digest")


class AlertPreference(db.Model):
    """How a member hears about one subject in one of their miles; no row: the default."""

    __tablename__ = "alert_preference"
    __table_args__ = (UniqueConstraint("mile_id", "subject", name="uq_alert_preference_mile_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    mile_id: Mapped[int] = mapped_column(ForeignKey("mile.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(8))
    # Comma-separated categories of requests and offers to hear about; empty: all of them.
    categories: Mapped[str] = mapped_column(String(200), default="", server_default="")

    @property
    def category_set(self) -> set[str]:
        """The chosen categories (empty: every category)."""
        return {c for c in self.categories.split(",") if c}


class AdAlert(db.Model):
    """A new ad (a listing, a project, a mag) a member will hear about later: in the morning
    (quiet hours) or in their digest. An alert sent at once is a notification, not a row here."""

    __tablename__ = "ad_alert"
    __table_args__ = (
        UniqueConstraint("member_id", "target_type", "target_id", name="uq_ad_alert_member_target"),
        Index("ix_ad_alert_delivery_due", "delivery", "due_at"),
        Index("ix_ad_alert_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(24))
    target_id: Mapped[int]
    # From the member's nearest mile centre to the ad's public point; shown only as a band.
    distance_m: Mapped[float]
    delivery: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id", ondelete="SET NULL"))


class Digest(db.Model):
    """One digest e-mail of a member for one period (a local date, or an ISO week): the
    unique pair is what makes `flask digest send` send it once, however often it runs."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("member_id", "period", name="uq_digest_member_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What it said, for the next one to start after (notifications up to this id).
    last_notification_id: Mapped[int] = mapped_column(default=0)


class ExpiryReminder(db.Model):
    """The author was reminded that this listing expires at `expires_at` (once per expiry:
    renewing moves the expiry, and the next one gets its own reminder)."""

    __tablename__ = "expiry_reminder"
    __table_args__ = (UniqueConstraint("listing_id", "expires_at", name="uq_expiry_reminder_listing_expiry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

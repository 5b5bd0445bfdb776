"""Login sessions: one row per browser or app a member logged in from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._time import utcnow


class LoginSession(db.Model):
    """A member logged in on one device: the session cookie and the remember-me cookie of
    that device name this row (by a secret key, kept here only as a digest).

    Logging out deletes the row, so a copy of the cookies taken before stops working;
    "log out everywhere" deletes every row of the member.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the secret key the cookies carry: reading the table opens no session.
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The member's credential fingerprint at login: a row from before a password change is
    # dead (the cookies carry the old one too) and is not listed among the devices.
    credential_fingerprint: Mapped[str] = mapped_column(String(20))
    # A short label made from the User-Agent ("Firefox on Android"), shown to the member.
    device: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

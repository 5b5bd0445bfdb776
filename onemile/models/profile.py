"""What a member tells about themself on their profile, and the thank-you notes written
about them by the members they helped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._time import utcnow
from .member import Member
from .protection import Protected


class Profile(db.Model):
    """A member's bio, skills, languages and optional photo (one row per member, made on
    first edit). Never a place: the profile is seen by other members."""

    __tablename__ = "profile"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    bio: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[str | None] = mapped_column(String(300))
    languages: Mapped[str | None] = mapped_column(String(200))
    photo: Mapped[str | None] = mapped_column(String(80))  # a name from onemile.images.store_image
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThanksNote(Protected, db.Model):
    """A note the member who was helped wrote when confirming a service, shown on the
    helper's profile. Its writer owns it (reportable and hideable like a comment)."""

    __owner_column__ = "author_id"
    __tablename__ = "thanks_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completion.id", ondelete="CASCADE"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    helper_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a moderator hides the note.
    hidden_at: Mapped[datetime | None]

    author: Mapped[Member] = relationship(foreign_keys=[author_id])

"""A member: a person, a business or an association."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..extensions import db
from ._states import states
from ._time import utcnow

if TYPE_CHECKING:
    from .listing import Listing
    from .mile import Mile


MemberKind = states("MemberKind", "person", "business", "association")
MEMBER_KINDS = tuple(MemberKind)


def new_referral_code() -> str:
    """A short, unguessable code for referral links."""
    return secrets.token_urlsafe(9)

MAP_LAYERS = ("requests", "offers", "projects", "mags")


class Member(UserMixin, db.Model):
    """Someone who helps and is helped. Their exact home point is theirs alone."""

    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Always stored lower-cased (see auth.services.normalise_email), so a plain unique
    # index makes addresses unique whatever their case, and settles racing sign-ups.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    postal_code: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16), default=MemberKind.PERSON)
    organisation_name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    # Comma-separated subset of MAP_LAYERS the member keeps switched on.
    map_layers: Mapped[str] = mapped_column(String(64), default=",".join(MAP_LAYERS))
    # Shared in /join/<code> links; the referrer earns a bonus once per new member.
    # Nullable in the schema only because SQLite cannot add a NOT NULL column in place;
    # every member gets one (the default, and the migration for older members).
    referral_code: Mapped[str] = mapped_column(
        String(16), nullable=True, default=new_referral_code, index=True, unique=True
    )
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    email_notifications: Mapped[bool] = mapped_column(default=True)
    # Moderators approve projects and handle reports; made with `flask moderators grant`.
    is_moderator: Mapped[bool] = mapped_column(default=False)
    # Set by a moderator: the member cannot log in, their open sessions stop working and
    # their listings are hidden until they are reinstated.
    suspended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the member opened the link e-mailed at sign-up; until then they may browse
    # but not post, answer or message (auth.services.require_verified).
    email_verified_at: Mapped[datetime | None]
    # Set when the member deleted their account: the row stays as an anonymous tombstone so
    # that ledger entries and the other side of conversations keep their counterpart.
    deleted_at: Mapped[datetime | None]
    # Sign-in links e-mailed to the member carry the value this had when they were made;
    # using one bumps it, so each link works once (auth.services.sign_in_with_link).
    sign_in_link_serial: Mapped[int] = mapped_column(default=0, server_default="0")
    # The member's time zone (an IANA name): quiet hours, digest days and times shown to them.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris", server_default="Europe/Paris")
    # Alerts for new ads (onemile.alerts): the digest's rhythm, and the hours (local, 0-23)
    # between which no instant alert is sent (held until the end of them).
    digest_frequency: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    quiet_start: Mapped[int] = mapped_column(default=22, server_default="22")
    quiet_end: Mapped[int] = mapped_column(default=8, server_default="8")
    # Organisations only: the SIRET (14 digits) or RNA number (W + 9 digits) it entered, and
    # when a moderator checked it (organisations.services; logged in the moderation log).
    registration_number: Mapped[str | None] = mapped_column(String(14))
    registration_verified_at: Mapped[datetime | None]

    # Loaded with the member of each request (auth.sessions): whether a block stands between
    # them and anyone, either way (models.protection.list_viewer_id). None where it was not
    # loaded: not known.
    has_blocks: Mapped[bool | None] = query_expression()

    # Not columns: the login session this instance was loaded through or just opened
    # (onemile.auth.sessions), so that logging out ends that one, and get_id names it.
    login_session_id = None
    login_session_key = None

    miles: Mapped[list[Mile]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="Mile.id"
    )
    listings: Mapped[list[Listing]] = relationship(
        back_populates="author", cascade="all, delete-orphan", foreign_keys="Listing.author_id"
    )

    @property
    def credential_fingerprint(self) -> str:
        """A keyed digest of the password hash: it changes whenever the password does.

        Sessions, remember-me cookies and reset links carry it, so a password change ends
        them all (a stolen phone does not stay logged in).
        """
        digest = hmac.new(
            current_app.config["SECRET_KEY"].encode(), self.password_hash.encode(), hashlib.sha256
        )
        return digest.hexdigest()[:20]

    @property
    def is_suspended(self) -> bool:
        """A moderator suspended this member."""
        return self.suspended_at is not None

    def get_id(self) -> str:
        """Flask-Login's session id, put in the session and remember-me cookies: the member
        id, the credential fingerprint and the secret key of the login session row."""
        return f"{self.id}:{self.credential_fingerprint}:{self.login_session_key or ''}"

    @property
    def is_organisation(self) -> bool:
        """A business or an association: it has a public page and may have managers."""
        return self.kind in ("business", "association")

    @property
    def is_verified(self) -> bool:
        """True once the member proved they read the e-mail address they signed up with."""
        return self.email_verified_at is not None

    @property
    def is_deleted(self) -> bool:
        """True for the tombstone of a deleted account."""
        return self.deleted_at is not None

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to log a deleted account in."""
        return not self.is_deleted

    @property
    def display_name(self) -> str:
        """Name shown to other members: the organisation, or first name and initial."""
        if self.is_deleted:
            return str(_l("Former member"))
        if self.kind != MemberKind.PERSON and self.organisation_name:
            return self.organisation_name
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}"

    @property
    def enabled_layers(self) -> set[str]:
        """The map layers this member keeps switched on."""
        return {layer for layer in self.map_layers.split(",") if layer in MAP_LAYERS}

    def mile_or_primary(self, mile_id: int | None) -> Mile | None:
        """The member's mile with this id, or the primary one (ids of others are ignored)."""
        return next((m for m in self.miles if m.id == mile_id), self.primary_mile)

    @property
    def primary_mile(self) -> Mile | None:
        """The mile the map opens on."""
        return next((m for m in self.miles if m.is_primary), self.miles[0] if self.miles else None)

"""Listings (requests and offers) and where they are shown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..geo import LatLon, grid_cell, point_latlon
from ._states import states
from ._time import utcnow
from .organisation import ActedBy
from .protection import Protected

if TYPE_CHECKING:
    from .member import Member
    from .mile import Mile


ListingKind = states("ListingKind", "request", "offer")
OfferType = states("OfferType", "give", "lend", "barter", "service")
# Stored: open, done, closed. EXPIRED is only shown: an open listing past its expiry.
ListingStatus = states("ListingStatus", "open", "done", "closed", "expired")
# Why a listing is hidden: a moderator hid it, or its author was suspended
# (it comes back when they are reinstated).
HiddenReason = states("HiddenReason", "moderation", "suspension")
LISTING_KINDS = tuple(ListingKind)
OFFER_TYPES = tuple(OfferType)
CATEGORIES = ("carpooling", "diy", "repairs", "lessons", "leisure", "goods", "other")
STATUSES = tuple(ListingStatus)
# How precisely a listing is shown on the map (see listings.placement):
# approximate = near the author's mile, shifted by a stable offset (the default);
# meeting_place = exactly at a public place the author picked (a café, a library, a station);
# mile_only = no marker at all, only listed (lists, nearest panel) with a distance band.
LOCATION_MODES = ("approximate", "meeting_place", "mile_only")
MAX_LISTING_PHOTOS = 4
# An open ad offers its author to renew it in its last week (and once closed or expired).
RENEWAL_OFFERED_WITHIN = timedelta(days=7)


class Listing(ActedBy, Protected, db.Model):
    """An ad: a request for help or an offer to give, lend, barter or serve."""

    # Trust rule (models.protection): suspending the author stamps `hidden_at` on the rows.
    __owner_column__ = "author_id"
    __suspension_hides_rows__ = True

    __tablename__ = "listing"
    __table_args__ = (
        Index("ix_listing_status_expires", "status", "expires_at"),
        Index("ux_listing_author_client_key", "author_id", "client_key", unique=True),
        Index("ux_listing_share_token", "share_token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    offer_type: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=ListingStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime]
    location_mode: Mapped[str] = mapped_column(String(16), default="approximate", server_default="approximate")
    # Hidden by moderation: gone for everyone but moderators. `hidden_reason` is
    # "moderation" (a moderator hid it) or "suspension" (its author was suspended: it comes
    # back when they are reinstated).
    hidden_at: Mapped[datetime | None]
    # One-time key of the form that posted it (the offline outbox): a replay is recognised.
    client_key: Mapped[str | None] = mapped_column(String(36))
    hidden_reason: Mapped[str | None] = mapped_column(String(12))
    # An offer its author ended by marking it "given" or "taken" (status closed).
    ended_as: Mapped[str | None] = mapped_column(String(8))
    # Set while the author shares the ad outside 1Mile (listings.sharing): the public page's
    # unguessable key. None = not shared (the page is gone); turning sharing on again makes
    # a new one, so an old link stays dead.
    share_token: Mapped[str | None] = mapped_column(String(32))

    author: Mapped[Member] = relationship(back_populates="listings", foreign_keys=[author_id])
    placements: Mapped[list[ListingPlacement]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingPlacement.id"
    )
    # Up to MAX_LISTING_PHOTOS, the first is the cover (listings.photos keeps the files).
    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingPhoto.position, ListingPhoto.id"
    )

    @property
    def on_map(self) -> bool:
        """False when the author asked for no marker (mile only)."""
        return self.location_mode != "mile_only"

    @property
    def layer(self) -> str:
        """The map layer this listing belongs to."""
        return "requests" if self.kind == ListingKind.REQUEST else "offers"

    def is_open_at(self, now: datetime) -> bool:
        """Open, not past its expiry and not hidden by moderation."""
        return self.status == ListingStatus.OPEN and self.expires_at > now and self.hidden_at is None

    @classmethod
    def public_clause(cls, now: datetime) -> ColumnElement[bool]:
        """Open and not past its expiry: on the map, in lists, on its page for everyone."""
        return (cls.status == ListingStatus.OPEN) & (cls.expires_at > now)

    def is_public_at(self, now: datetime) -> bool:
        """Python twin of `public_clause`."""
        return self.status == ListingStatus.OPEN and self.expires_at > now

    def state_at(self, now: datetime) -> str:
        """The status members see: an open listing past its expiry is "expired"."""
        return ListingStatus.EXPIRED if self.status == ListingStatus.OPEN and self.expires_at <= now else self.status

    def worth_renewing_at(self, now: datetime) -> bool:
        """Whether its author is offered to renew it: closed, expired or ending within a week
        (renewing an ad posted a moment ago changes nothing they can see); never once done."""
        state = self.state_at(now)
        if state == ListingStatus.DONE:
            return False
        return state != ListingStatus.OPEN or self.expires_at - now <= RENEWAL_OFFERED_WITHIN


class ListingPlacement(db.Model):
    """A listing shown in one of its author's miles, at a public (shifted) point.

    The point is the mile's centre moved by a stable offset, so the author's exact place
    never leaves the database through a listing.
    """

    __tablename__ = "listing_placement"
    __table_args__ = (
        UniqueConstraint("listing_id", "mile_id"),
        Index("ix_listing_placement_cell_listed", "cell", "listed_at", "listing_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    mile_id: Mapped[int] = mapped_column(ForeignKey("mile.id", ondelete="CASCADE"), index=True)
    point = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # Denormalised so the hot map queries filter without joining listing first.
    kind: Mapped[str] = mapped_column(String(8))
    # The grid cell of the point and the listing's date, so that the mile's list reads each
    # cell newest first from ix_listing_placement_cell_listed (geo.grid_cell; see
    # listings.services.search_mile). Set with the point by `place`. Nullable in the schema
    # only because SQLite cannot add a NOT NULL column to a filled table without rebuilding it.
    cell: Mapped[int | None] = mapped_column(Integer)
    listed_at: Mapped[datetime | None] = mapped_column()

    listing: Mapped[Listing] = relationship(back_populates="placements")
    mile: Mapped[Mile] = relationship()

    @property
    def latlon(self) -> LatLon:
        """The public point as LatLon."""
        return point_latlon(self.point)

    def place(self, point: LatLon) -> None:
        """Put the placement at its public point (and in that point's grid cell)."""
        self.point = point.wkt()
        self.cell = grid_cell(point)


class ListingPhoto(db.Model):
    """A photo of an ad: a stored picture name from onemile.images (never a path, never the
    upload). Shown only where the ad is (listings.photos answers the image URL too)."""

    __tablename__ = "listing_photo"
    # Unique: serving a picture looks up the ad it belongs to by its name.
    __table_args__ = (Index("ux_listing_photo_image", "image", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), index=True)
    image: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)

    listing: Mapped[Listing] = relationship(back_populates="photos")

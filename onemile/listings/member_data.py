"""The member's listings in their data download and in an account deletion."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..geo import point_latlon
from ..images import discard_images, image_url
from ..models import Conversation, Listing, ListingStatus, Member
from .photos import photo_names


def export(member: Member, export: dict) -> None:
    """The member's listings, with where each is shown."""
    export["listings"] = [_listing(listing) for listing in _listings(member)]


def _listings(member: Member) -> list[Listing]:
    return list(
        db.session.scalars(
            select(Listing)
            .where(Listing.author_id == member.id)
            .options(selectinload(Listing.placements), selectinload(Listing.photos))
            .order_by(Listing.id)
        )
    )


def _listing(listing: Listing) -> dict:
    return {
        "id": listing.id,
        "kind": listing.kind,
        "offer_type": listing.offer_type,
        "category": listing.category,
        "title": listing.title,
        "body": listing.body,
        "status": listing.status,
        "location_mode": listing.location_mode,
        "shared_outside": listing.share_token is not None,
        "created_at": export_time(listing.created_at),
        "updated_at": export_time(listing.updated_at),
        "expires_at": export_time(listing.expires_at),
        "shown_at": [
            {"mile_id": p.mile_id, "latitude": point_latlon(p.point).lat, "longitude": point_latlon(p.point).lon}
            for p in listing.placements
        ],
        # The largest size of each photo, cover first (the upload itself was never kept).
        "photos": [image_url(photo.image, "large", external=True) for photo in listing.photos],
    }


def forget(member: Member, after_commit: list) -> None:
    """Delete the member's listings and their photos; one that others answered is kept
    closed, off the map and without its text or photos, so that their conversations stay
    (its title names the exchange)."""
    answered = set(
        db.session.scalars(
            select(Conversation.listing_id).join(Listing, Listing.id == Conversation.listing_id)
            .where(Listing.author_id == member.id)
        )
    )
    listings = list(member.listings)
    names = photo_names(listings)
    after_commit.append(lambda: discard_images(names))
    for listing in listings:
        listing.photos.clear()
        if listing.id in answered:
            listing.body = ""
            listing.status = ListingStatus.CLOSED if listing.status == ListingStatus.OPEN else listing.status
            listing.placements.clear()
        else:
            db.session.delete(listing)


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

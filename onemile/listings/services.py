"""Listing rules and queries: post, edit, close, renew, delete, and search a mile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from ..auth.gate import require_verified
from ..config import MILE_METRES
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import LatLon, dialect_of, distance_m, haversine_m, within_metres
from ..models import (
    CATEGORIES,
    LOCATION_MODES,
    OFFER_TYPES,
    Conversation,
    Listing,
    ListingKind,
    ListingPlacement,
    ListingStatus,
    Member,
    Mile,
    utcnow,
)
from ..models.protection import can_see, listed_for, withheld_from
from ..pwa.outbox import clean_client_key
from ..unit_of_work import insert_once
from .placement import place_listing, public_point

TITLE_MAX = 120
BODY_MAX = 5000
PAGE_SIZE = 20
# Deeper pages are empty anyway; the bound keeps the OFFSET inside the databases' integers.
MAX_PAGE = 1000


@dataclass(frozen=True)
class ListingData:
    """What the listing form collected."""

    kind: str
    offer_type: str | None
    category: str
    title: str
    body: str
    mile_ids: tuple[int, ...]
    location_mode: str = "approximate"
    meeting_point: LatLon | None = None  # only for location_mode "meeting_place"


def _lifetime() -> timedelta:
    return timedelta(days=current_app.config["LISTING_LIFETIME_DAYS"])


def _checked(author: Member, data: ListingData) -> tuple[ListingData, list[Mile]]:
    """Validate the rules the form cannot know; return cleaned data and the chosen miles."""
    if data.kind not in (ListingKind.REQUEST, ListingKind.OFFER):
        raise RuleError(_("Choose a request or an offer."), "kind")
    offer_type = data.offer_type if data.kind == ListingKind.OFFER else None
    if data.kind == ListingKind.OFFER and offer_type not in OFFER_TYPES:
        raise RuleError(_("Say whether you give, lend, barter or offer a service."), "offer_type")
    if data.category not in CATEGORIES:
        raise RuleError(_("Choose a category."), "category")
    title, body = " ".join(data.title.split()), data.body.strip()
    if not title or len(title) > TITLE_MAX:
        raise RuleError(_("Give a title of 1 to %(n)d characters.", n=TITLE_MAX), "title")
    if not body or len(body) > BODY_MAX:
        raise RuleError(_("Write a text of 1 to %(n)s characters.", n=format_decimal(BODY_MAX)), "body")
    own = {mile.id: mile for mile in author.miles}
    if not data.mile_ids:
        raise RuleError(_("Choose at least one of your miles."), "mile_ids")
    if any(mile_id not in own for mile_id in data.mile_ids):
        raise RuleError(_("You can only post in your own miles."), "mile_ids")
    miles = [own[mile_id] for mile_id in sorted(set(data.mile_ids))]
    meeting_point = _checked_meeting_point(data, miles)
    cleaned = ListingData(
        data.kind, offer_type, data.category, title, body, tuple(mile.id for mile in miles),
        data.location_mode, meeting_point,
    )
    return cleaned, miles


def _checked_meeting_point(data: ListingData, miles: list[Mile]) -> LatLon | None:
    """The meeting place, required in meeting_place mode and ignored otherwise. It must lie
    within one of the chosen miles: an ad is about the neighbourhood it is posted in."""
    if data.location_mode not in LOCATION_MODES:
        raise RuleError(_("Choose how precisely your listing is shown."), "location_mode")
    if data.location_mode != "meeting_place":
        return None
    if data.meeting_point is None:
        raise RuleError(_("Pick the meeting place on the map."), "latitude")
    if not any(haversine_m(mile.center_latlon, data.meeting_point) <= MILE_METRES for mile in miles):
        raise RuleError(_("Pick a meeting place inside one of the miles you post in."), "latitude")
    return data.meeting_point


def _replayed_listing(author: Member, client_key: str | None) -> Listing | None:
    if client_key is None:
        return None
    return db.session.scalar(select(Listing).where(Listing.author_id == author.id, Listing.client_key == client_key))


def create_listing(author: Member, data: ListingData, client_key: str | None = None) -> Listing:
    """Post a listing in the chosen miles; it expires after the configured lifetime.

    With a client_key (the offline outbox sending again after a lost connection), a second
    post with the same key returns the listing already posted.
    """
    require_verified(author)
    client_key = clean_client_key(client_key)
    replayed = _replayed_listing(author, client_key)
    if replayed is not None:
        return replayed
    data, miles = _checked(author, data)
    # The same key may win a race a moment ago (the page and the service worker sending at
    # once): that listing stands.
    listing, posted = insert_once(
        lambda: _replayed_listing(author, client_key),
        lambda: Listing(
            client_key=client_key,
            author_id=author.id,
            kind=data.kind,
            offer_type=data.offer_type,
            category=data.category,
            title=data.title,
            body=data.body,
            status=ListingStatus.OPEN,
            expires_at=utcnow() + _lifetime(),
            location_mode=data.location_mode,
        ),
    )
    if not posted:
        return listing
    for mile in miles:
        place_listing(listing, mile, data.meeting_point)
    db.session.flush()
    return listing


def own_listing(member: Member, listing_id: int) -> Listing:
    """The member's listing with this id; NotFoundError for anyone else's."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.author_id != member.id:
        raise NotFoundError("listing")
    return listing


def visible_listing(viewer: Member | None, listing_id: int) -> Listing:
    """A listing the viewer may read: any open one, one of their own, or one they talked
    about with its author (so a finished service stays readable to both sides).

    The trust rule decides (models.protection): a listing hidden by moderation, or whose
    author blocked the viewer or was blocked by them, is gone for everyone but moderators."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise NotFoundError("listing")
    if can_see(viewer, listing):
        return listing
    # The one addition for ads: whoever answered keeps reading it once it is closed.
    member = viewer if viewer is not None and viewer.is_authenticated else None
    if member is not None and not withheld_from(member.id, listing) and _answered(member, listing):
        return listing
    raise NotFoundError("listing")


def _answered(viewer: Member, listing: Listing) -> bool:
    return db.session.scalar(
        select(Conversation.id).where(Conversation.listing_id == listing.id, Conversation.responder_id == viewer.id)
    ) is not None


def update_listing(author: Member, listing_id: int, data: ListingData) -> Listing:
    """Edit a listing; its miles may change too."""
    listing = own_listing(author, listing_id)
    data, miles = _checked(author, data)
    listing.kind, listing.offer_type, listing.category = data.kind, data.offer_type, data.category
    listing.title, listing.body = data.title, data.body
    listing.location_mode = data.location_mode
    wanted = {mile.id: mile for mile in miles}
    for placement in list(listing.placements):
        if placement.mile_id not in wanted:
            listing.placements.remove(placement)
        else:
            placement.kind = data.kind
            # The mode or the meeting place may have changed: every point follows.
            placement.point = public_point(listing, wanted[placement.mile_id], data.meeting_point).wkt()
    db.session.flush()
    present = {placement.mile_id for placement in listing.placements}
    for mile in miles:
        if mile.id not in present:
            place_listing(listing, mile, data.meeting_point)
    db.session.flush()
    return listing


def close_listing(author: Member, listing_id: int) -> Listing:
    """Take a listing off the map without deleting it."""
    listing = own_listing(author, listing_id)
    listing.status = ListingStatus.CLOSED
    db.session.flush()
    return listing


def renew_listing(author: Member, listing_id: int) -> Listing:
    """Open a closed or expiring listing again for a full lifetime."""
    listing = own_listing(author, listing_id)
    if listing.status == ListingStatus.DONE:
        raise RuleError(_("A finished listing cannot be renewed."))
    listing.status = ListingStatus.OPEN
    listing.expires_at = utcnow() + _lifetime()
    db.session.flush()
    return listing


def delete_listing(author: Member, listing_id: int) -> None:
    """Delete a listing for good."""
    db.session.delete(own_listing(author, listing_id))
    db.session.flush()


@dataclass(frozen=True)
class SearchFilters:
    """Filters of the list of listings in a mile."""

    kind: str | None = None
    category: str | None = None
    words: str | None = None


def _apply_filters(stmt: Select, filters: SearchFilters) -> Select:
    if filters.kind in (ListingKind.REQUEST, ListingKind.OFFER):
        stmt = stmt.where(ListingPlacement.kind == filters.kind)
    if filters.category in CATEGORIES:
        stmt = stmt.where(Listing.category == filters.category)
    for word in (filters.words or "").split()[:8]:
        pattern = f"%{_escape_like(word.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Listing.title).like(pattern, escape="\\"),
                func.lower(Listing.body).like(pattern, escape="\\"),
            )
        )
    return stmt


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FoundListing:
    """A listing with its distance from where the search was made."""

    listing: Listing
    distance_m: float


def search_mile(
    center: LatLon, filters: SearchFilters, page: int = 1, viewer_id: int | None = None
) -> tuple[list[FoundListing], bool]:
    """Open listings shown within the mile around center, newest first, leaving out the
    members the viewer blocked or was blocked by.

    Returns one page and whether there is a next page.
    """
    session = db.session
    dialect = dialect_of(session)
    distance = distance_m(dialect, ListingPlacement.point, center)
    stmt = (
        select(ListingPlacement.listing_id, func.min(distance).label("distance_m"))
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(within_metres(dialect, ListingPlacement.point, ListingPlacement.id, center, MILE_METRES))
        .where(listed_for(viewer_id, Listing))
        .group_by(ListingPlacement.listing_id, Listing.created_at)
        .order_by(Listing.created_at.desc(), ListingPlacement.listing_id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((min(max(page, 1), MAX_PAGE) - 1) * PAGE_SIZE)
    )
    rows = session.execute(_apply_filters(stmt, filters)).all()
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    listings = {
        listing.id: listing
        for listing in session.scalars(
            select(Listing).where(Listing.id.in_([row.listing_id for row in rows])).options(selectinload(Listing.author))
        )
    }
    return [FoundListing(listings[row.listing_id], row.distance_m) for row in rows], has_more


def my_listings(member: Member) -> list[Listing]:
    """All of a member's listings, newest first, whatever their state."""
    return list(
        db.session.scalars(
            select(Listing).where(Listing.author_id == member.id).order_by(Listing.created_at.desc())
        )
    )

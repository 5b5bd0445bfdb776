"""Listing rules and queries: post, edit, close, renew, delete, and search a mile."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import selectinload

from ..alerts import services as alerts
from ..auth.gate import require_verified
from ..config import MILE_METRES
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import (
    LatLon,
    PointParameter,
    dialect_of,
    distance_m,
    exactly_within,
    grid_cells_within,
    haversine_m,
    within_metres,
)
from ..models import (
    CATEGORIES,
    LOCATION_MODES,
    MAX_DATABASE_ID,
    OFFER_TYPES,
    Conversation,
    Listing,
    ListingKind,
    ListingPhoto,
    ListingPlacement,
    ListingStatus,
    Member,
    Mile,
    utcnow,
)
from ..models.protection import (
    LISTED_NOW,
    LISTED_VIEWER,
    can_see,
    listed_for,
    listed_values,
    withheld_from,
)
from ..pwa.outbox import clean_client_key
from ..unit_of_work import insert_once
from .photos import (
    PhotoChange,
    apply_photos,
    check_count,
    discard_after_commit,
    listings_with_photos,
)
from .placement import place_listing, public_point

TITLE_MAX = 120
BODY_MAX = 5000
PAGE_SIZE = 20


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
    # New pictures (uploaded files), and on edit what becomes of the ad's photos.
    new_photos: tuple = ()
    photo_changes: tuple[PhotoChange, ...] = ()


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
    cleaned = replace(
        data, offer_type=offer_type, title=title, body=body, mile_ids=tuple(mile.id for mile in miles),
        meeting_point=meeting_point,
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
    check_count(None, (), data.new_photos)
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
    apply_photos(listing, (), data.new_photos)
    db.session.flush()
    # In this unit of work: a post that does not commit alerts nobody.
    alerts.listing_posted(listing)
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
    if listing is None or not _readable(viewer, listing):
        raise NotFoundError("listing")
    return listing


def _readable(viewer: Member | None, listing: Listing) -> bool:
    if can_see(viewer, listing):
        return True
    # The one addition for ads: whoever answered keeps reading it once it is closed.
    member = viewer if viewer is not None and viewer.is_authenticated else None
    return member is not None and not withheld_from(member.id, listing) and _answered(member, listing)


def photo_allowed(viewer, name: str) -> bool | None:
    """images guard: a photo of an ad is for signed-in members who may read the ad (its
    page asks for a member too); None for a picture that is no ad's."""
    listing = db.session.scalar(select(Listing).join(ListingPhoto).where(ListingPhoto.image == name))
    if listing is None:
        return None
    return viewer is not None and viewer.is_authenticated and _readable(viewer, listing)


def _answered(viewer: Member, listing: Listing) -> bool:
    return db.session.scalar(
        select(Conversation.id).where(Conversation.listing_id == listing.id, Conversation.responder_id == viewer.id)
    ) is not None


def update_listing(author: Member, listing_id: int, data: ListingData) -> Listing:
    """Edit a listing; its miles may change too."""
    listing = own_listing(author, listing_id)
    data, miles = _checked(author, data)
    check_count(listing, data.photo_changes, data.new_photos)
    apply_photos(listing, data.photo_changes, data.new_photos)
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
            placement.place(public_point(listing, wanted[placement.mile_id], data.meeting_point))
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
    """Delete a listing for good (its photos' files once that is committed)."""
    listing = own_listing(author, listing_id)
    discard_after_commit([listing])
    db.session.delete(listing)
    db.session.flush()


@dataclass(frozen=True)
class SearchFilters:
    """Filters of the list of listings in a mile."""

    kind: str | None = None
    category: str | None = None
    words: str | None = None


    def values(self) -> dict[str, object]:
        """What the list's statement binds for these filters: `kind`, `category` and one
        `word_<n>` pattern a word (eight at most), each only when it filters."""
        values: dict[str, object] = {}
        if self.kind in (ListingKind.REQUEST, ListingKind.OFFER):
            values["kind"] = self.kind
        if self.category in CATEGORIES:
            values["category"] = self.category
        for index, word in enumerate((self.words or "").split()[:8]):
            values[f"word_{index}"] = f"%{_escape_like(word.lower())}%"
        return values


def _apply_filters(stmt: Select, names: tuple[str, ...]) -> Select:
    """The conditions of the filters SearchFilters.values names, their values bound."""
    for name in names:
        if name == "kind":
            stmt = stmt.where(ListingPlacement.kind == bindparam("kind"))
        elif name == "category":
            stmt = stmt.where(Listing.category == bindparam("category"))
        else:
            pattern = bindparam(name, type_=String())
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


@dataclass(frozen=True)
class ListCursor:
    """Where a page of the mile's list ends: the next page holds what was listed before it
    (keyset pagination: a page costs the same however deep it is)."""

    listed_at: datetime
    listing_id: int

    def to_param(self) -> str:
        return f"{self.listed_at.strftime('%Y%m%d%H%M%S%f')}-{self.listing_id}"

    @classmethod
    def parse(cls, value: str | None) -> ListCursor | None:
        """The cursor a "next page" link carries; None (the first page) for anything else."""
        stamp, _sep, listing_id = (value or "").partition("-")
        if not (listing_id.isascii() and listing_id.isdigit() and len(listing_id) <= 10):
            return None
        try:
            return cls(datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), min(int(listing_id), MAX_DATABASE_ID))
        except ValueError:
            return None


@dataclass(frozen=True)
class _ListShape:
    """What the statement of one page of the mile's list depends on besides its values:
    built once per shape (geo.PointParameter says why)."""

    dialect: str
    cells: int | None  # grid cells the mile touches; None: the spatial index alone
    frames: int  # SpatiaLite's search frames when cells is None
    filters: tuple[str, ...]  # SearchFilters.values names
    paged: bool  # after a cursor
    member: bool  # a member's list leaves out who they blocked or were blocked by

    @property
    def center(self) -> PointParameter:
        """The mile's centre, bound when the statement runs."""
        return PointParameter("mile", self.frames)


@lru_cache(maxsize=256)
def _list_statement(shape: _ListShape) -> Select:
    """One SELECT per grid cell that the mile touches, each reading its cell newest first
    from ix_listing_placement_cell_listed and keeping what lies in the mile; the UNION ALL is
    ordered by date, so the database merges the cells and stops after the LIMIT. Without
    cells (near the poles), one SELECT through the spatial index."""
    dialect, center = shape.dialect, shape.center
    limit = bindparam("page_limit", type_=Integer())
    distance = distance_m(dialect, ListingPlacement.point, center)
    # What every arm shares is built once (the visibility rule alone is a dozen clauses).
    shared = (
        select(ListingPlacement.listing_id, ListingPlacement.listed_at, distance.label("distance_m"))
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(listed_for(LISTED_VIEWER if shape.member else None, Listing, LISTED_NOW))
    )
    if shape.paged:
        shared = shared.where(tuple_(ListingPlacement.listed_at, ListingPlacement.listing_id)
                              < tuple_(bindparam("before_listed_at", type_=ListingPlacement.listed_at.type),
                                       bindparam("before_listing_id", type_=Integer())))
    shared = _apply_filters(shared, shape.filters)
    if shape.cells is None:
        arms = [shared.where(within_metres(dialect, ListingPlacement.point, ListingPlacement.id, center, MILE_METRES))]
    else:
        inside = exactly_within(dialect, ListingPlacement.point, center, MILE_METRES)
        arms = [shared.where(ListingPlacement.cell == bindparam(f"cell_{index}", type_=Integer()), inside)
                for index in range(shape.cells)]
    if dialect == "postgresql" and len(arms) > 1:
        # Each cell ordered and bounded on its own: PostgreSQL then merges the cells'
        # backward index scans (Merge Append) and reads no more than the page needs.
        arms = [arm.order_by(ListingPlacement.listed_at.desc(), ListingPlacement.listing_id.desc()).limit(limit)
                for arm in arms]
    order = (literal_column("listed_at").desc(), literal_column("listing_id").desc())
    return (union_all(*arms) if len(arms) > 1 else arms[0]).order_by(*order).limit(limit)


def search_mile(
    center: LatLon, filters: SearchFilters, before: ListCursor | None = None, viewer_id: int | None = None
) -> tuple[list[FoundListing], ListCursor | None]:
    """Open listings shown within the mile around center, newest first, leaving out the
    members the viewer blocked or was blocked by (`viewer_id` as listed_for takes it: see
    models.protection.list_viewer_id): one page listed before `before` (the newest page
    without it), and the cursor of the next page (None on the last one)."""
    session = db.session
    dialect = dialect_of(session)
    cells = grid_cells_within(center, MILE_METRES)
    filter_values = filters.values()
    shape = _ListShape(
        dialect, None if cells is None else len(cells),
        PointParameter.frame_count(dialect, center, MILE_METRES) if cells is None else 1,
        tuple(filter_values), before is not None, viewer_id is not None,
    )
    values = {
        **shape.center.values(dialect, center, MILE_METRES if cells is None else None),
        **listed_values(viewer_id),
        **filter_values,
        **{f"cell_{index}": cell for index, cell in enumerate(cells or ())},
    }
    if before is not None:
        values.update(before_listed_at=before.listed_at, before_listing_id=before.listing_id)
    # A listing posted in two of its author's miles may be in this one twice: read a little
    # more than a page, and more again in the rare case that duplicates ate into it.
    limit = 2 * (PAGE_SIZE + 1)
    while True:
        rows = session.execute(_list_statement(shape), {**values, "page_limit": limit}).all()
        nearest_by_listing: dict[int, object] = {}
        for row in rows:
            seen = nearest_by_listing.get(row.listing_id)
            if seen is None or row.distance_m < seen.distance_m:
                nearest_by_listing[row.listing_id] = row
        if len(nearest_by_listing) > PAGE_SIZE or len(rows) < limit:
            break
        limit *= 4
    page = list(nearest_by_listing.values())[:PAGE_SIZE]
    next_page = (ListCursor(page[-1].listed_at, page[-1].listing_id)
                 if len(nearest_by_listing) > PAGE_SIZE else None)
    listings = listings_with_photos(row.listing_id for row in page)
    return [FoundListing(listings[row.listing_id], row.distance_m) for row in page], next_page


def my_listings(member: Member) -> list[Listing]:
    """All of a member's listings, newest first, whatever their state."""
    return list(
        db.session.scalars(
            select(Listing).where(Listing.author_id == member.id).order_by(Listing.created_at.desc())
            .options(selectinload(Listing.photos))
        )
    )

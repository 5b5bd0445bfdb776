"""Map queries: markers in the visible area and the nearest open listings."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..geo import (
    METRES_PER_DEGREE_LAT,
    METRES_PER_DEGREE_LON_EQUATOR,
    LatLon,
    dialect_of,
    in_box,
    latlon_columns,
    nearest,
)
from ..listings.services import open_listings_filter
from ..models import Listing, ListingPlacement, Member, utcnow
from ..models.member import MAP_LAYERS

LISTING_LAYERS = {"requests": "request", "offers": "offer"}
NEAREST_COUNT = 5


@dataclass(frozen=True)
class Box:
    """The visible area of the map, in degrees."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, center: LatLon, metres: float) -> Box:
        """A box that contains the circle of `metres` around center."""
        dlat = metres / METRES_PER_DEGREE_LAT
        dlon = metres / (METRES_PER_DEGREE_LON_EQUATOR * max(0.01, math.cos(math.radians(center.lat))))
        return cls(
            max(-90.0, center.lat - dlat),
            max(-180.0, center.lon - dlon),
            min(90.0, center.lat + dlat),
            min(180.0, center.lon + dlon),
        )


@dataclass(frozen=True)
class Marker:
    """One listing at its public point, with what a popup shows (no author, ever)."""

    listing_id: int
    layer: str
    kind: str
    offer_type: str | None
    category: str
    title: str
    lat: float
    lon: float
    is_own: bool


@dataclass(frozen=True)
class Nearby:
    """A listing near the avatar, with its distance in metres (shown only as a band)."""

    listing: Listing
    lat: float
    lon: float
    distance_m: float


def parse_layers(values) -> set[str]:
    """Keep only known layer names."""
    return {value for value in values if value in MAP_LAYERS}


def set_member_layers(member: Member, layers: set[str]) -> None:
    """Remember which layers the member keeps switched on."""
    member.map_layers = ",".join(layer for layer in MAP_LAYERS if layer in layers)
    db.session.commit()


def _listing_kinds(layers: set[str]) -> list[str]:
    return [kind for layer, kind in LISTING_LAYERS.items() if layer in layers]


def markers_in_box(box: Box, layers: set[str], viewer_id: int | None, cap: int) -> tuple[list[Marker], bool]:
    """Open listings shown in the box for the enabled layers, at most `cap`.

    Returns the markers and whether some were left out (the member should zoom in).
    Projects and mags have no data yet: their layers add nothing.
    """
    kinds = _listing_kinds(layers)
    if not kinds:
        return [], False
    session = db.session
    lat, lon = latlon_columns(ListingPlacement.point)
    stmt = (
        select(
            Listing.id, Listing.kind, Listing.offer_type, Listing.category, Listing.title, Listing.author_id, lat, lon
        )
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(in_box(dialect_of(session), ListingPlacement.point, ListingPlacement.id, box.south, box.west, box.north, box.east))
        .where(ListingPlacement.kind.in_(kinds))
        .where(open_listings_filter(utcnow()))
        .order_by(Listing.created_at.desc())
        .limit(cap + 1)
    )
    rows = session.execute(stmt).all()
    markers = [
        Marker(
            listing_id=row.id,
            layer="requests" if row.kind == "request" else "offers",
            kind=row.kind,
            offer_type=row.offer_type,
            category=row.category,
            title=row.title,
            lat=round(row.lat, 6),
            lon=round(row.lon, 6),
            is_own=viewer_id is not None and row.author_id == viewer_id,
        )
        for row in rows[:cap]
    ]
    return markers, len(rows) > cap


def nearest_listings(point: LatLon, layers: set[str], count: int = NEAREST_COUNT) -> list[Nearby]:
    """The `count` open listings nearest to point, among the enabled listing layers.

    A listing shown in two miles appears once, at its nearest placement.
    """
    kinds = _listing_kinds(layers)
    if not kinds:
        return []
    session = db.session
    lat, lon = latlon_columns(ListingPlacement.point)
    base = (
        select(ListingPlacement.listing_id, lat, lon)
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(ListingPlacement.kind.in_(kinds))
        .where(open_listings_filter(utcnow()))
    )
    # A listing has at most one placement per mile (5 miles): over-fetch, then keep the first.
    rows = nearest(session, base, ListingPlacement.point, ListingPlacement.id, point, count * 5)
    seen: dict[int, tuple] = {}
    for row in rows:
        seen.setdefault(row.listing_id, row)
        if len(seen) == count:
            break
    listings = {
        listing.id: listing for listing in session.scalars(select(Listing).where(Listing.id.in_(list(seen))))
    }
    return [Nearby(listings[lid], row.lat, row.lon, row.distance_m) for lid, row in seen.items()]

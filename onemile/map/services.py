"""Map queries: markers in the visible area and the nearest open listings."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

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
from ..listings.labels import CATEGORY_LABELS, KIND_LABELS, OFFER_TYPE_LABELS
from ..listings.services import not_hidden_from, open_listings_filter
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
    """One thing on the map at its public point, with what its popup shows.

    Every layer speaks this shape, so the fragment, the list and the glue JavaScript draw
    listings, projects and mags alike. `label` is text (never HTML); `endpoint` and
    `url_args` build the link; `answerable` adds the "Answer" link of listings.
    """

    id: int
    layer: str
    title: str
    label: str
    lat: float
    lon: float
    endpoint: str
    url_args: dict = field(default_factory=dict)
    is_own: bool = False
    answerable: bool = False
    public: bool = False  # its page is readable by visitors (else visitors are sent to sign up)


# A layer source answers the markers of its layer in the box: (box, viewer id, cap) -> up to
# cap + 1 markers, so that the caller knows whether some were left out.
LayerSource = Callable[[Box, "int | None", int], list[Marker]]
_layer_sources: dict[str, LayerSource] = {}


def register_layer(layer: str, source: LayerSource) -> None:
    """Let a feature (projects, mags) put its markers on the map under `layer`."""
    if layer not in MAP_LAYERS:
        raise ValueError(f"unknown map layer {layer!r}")
    _layer_sources[layer] = source


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
    """Markers shown in the box for the enabled layers, at most `cap` per layer.

    Returns the markers and whether some were left out (the member should zoom in).
    """
    per_layer = [_listing_markers(box, layers, viewer_id, cap)] if _listing_kinds(layers) else []
    per_layer += [source(box, viewer_id, cap) for layer, source in _layer_sources.items() if layer in layers]
    markers = [marker for found in per_layer for marker in found[:cap]]
    return markers, any(len(found) > cap for found in per_layer)


def _listing_markers(box: Box, layers: set[str], viewer_id: int | None, cap: int) -> list[Marker]:
    """Open listings of the enabled listing layers in the box: up to cap + 1, newest first."""
    session = db.session
    lat, lon = latlon_columns(ListingPlacement.point)
    stmt = (
        select(
            Listing.id, Listing.kind, Listing.offer_type, Listing.category, Listing.title, Listing.author_id, lat, lon
        )
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(in_box(dialect_of(session), ListingPlacement.point, ListingPlacement.id, box.south, box.west, box.north, box.east))
        .where(ListingPlacement.kind.in_(_listing_kinds(layers)))
        .where(open_listings_filter(utcnow()))
        # "Mile only" listings have no marker: their point is never sent (see listings.placement).
        .where(Listing.location_mode != "mile_only")
        .where(not_hidden_from(viewer_id))
        .order_by(Listing.created_at.desc())
        .limit(cap + 1)
    )
    markers = []
    for row in session.execute(stmt):
        is_own = viewer_id is not None and row.author_id == viewer_id
        label = [KIND_LABELS[row.kind]]
        if row.offer_type:
            label.append(OFFER_TYPE_LABELS[row.offer_type])
        label.append(CATEGORY_LABELS[row.category])
        markers.append(
            Marker(
                id=row.id,
                layer="requests" if row.kind == "request" else "offers",
                title=row.title,
                label=" · ".join(str(part) for part in label),
                lat=round(row.lat, 6),
                lon=round(row.lon, 6),
                endpoint="listings.detail",
                url_args={"listing_id": row.id},
                is_own=is_own,
                answerable=viewer_id is not None and not is_own,
            )
        )
    return markers


def nearest_listings(
    point: LatLon, layers: set[str], count: int = NEAREST_COUNT, viewer_id: int | None = None
) -> list[Nearby]:
    """The `count` open listings nearest to point, among the enabled listing layers, leaving
    out members the viewer blocked or was blocked by.

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
        .where(not_hidden_from(viewer_id))
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

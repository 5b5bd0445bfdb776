"""Map queries: markers in the visible area and the nearest open listings."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Select, case, false, func, literal, or_, select

from ..extensions import db
from ..geo import (
    Box,
    LatLon,
    dialect_of,
    in_box,
    latlon_columns,
    nearest,
)
from ..listings.labels import CATEGORY_LABELS, KIND_LABELS, OFFER_TYPE_LABELS
from ..listings.photos import listings_with_photos
from ..models import Listing, ListingKind, ListingPhoto, ListingPlacement, Member
from ..models.member import MAP_LAYERS
from ..models.protection import LISTED_NOW, LISTED_VIEWER, listed_for, listed_values

LISTING_LAYERS = {"requests": ListingKind.REQUEST, "offers": ListingKind.OFFER}
NEAREST_COUNT = 5
# Zoomed out past about a town (a box taller than ~28 km, or wider than twice that), listings
# are counted per grid cell in the database instead of being sent one by one: the fragment
# stays small whatever the density. The grid has about CLUSTER_ROWS cells across the box's
# larger side, on a ladder of powers of two so that cells stay put while the member pans.
CLUSTER_ABOVE_DEGREES = 0.25
CLUSTER_ROWS = 8
# Zoomed in but crowded (past the cap), a finer grid: on a phone a cell is about the size of
# a finger, and a cell with one listing shows that listing's own marker.
ZOOMED_IN_ROWS = 16
# The page's first view draws the mile in a circle 250 to 450 px across: a grid half as fine,
# so that a crowded mile comes as groups a finger can tell apart (16 rows gave a dense town's
# mile 336 badges, 17 KB of the page) instead of a carpet of them.
FIRST_VIEW_ROWS = 8
# Projects and mags are few next to listings; zoomed out they keep individual markers, fewer.
ZOOMED_OUT_CAP = 50


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
    icon: str = ""  # what the marker's symbol shows: a listing's category; empty: its layer's
    photo: str | None = None  # a stored picture (onemile.images) for the popup, members only


def public_marker(row, layer: str, label: str, endpoint: str, id_arg: str, viewer_id: int | None) -> Marker:
    """The marker of an owned thing whose page visitors may read (a mag, a project), from a
    row of its id, title, owner_id, lat and lon."""
    return Marker(
        id=row.id,
        layer=layer,
        title=row.title,
        label=label,
        lat=round(row.lat, 6),
        lon=round(row.lon, 6),
        endpoint=endpoint,
        url_args={id_arg: row.id},
        is_own=viewer_id is not None and row.owner_id == viewer_id,
        public=True,
    )


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
class Cluster:
    """The open listings of one grid cell, counted in the database (zoomed-out maps).

    Its point is the mean of the listings' public points, so it reveals no more than they do.
    """

    requests: int
    offers: int
    lat: float
    lon: float
    south: float
    west: float
    north: float
    east: float
    # The placement of a cell holding one listing only (it is then drawn as its marker).
    single_placement_id: int | None = None

    @property
    def count(self) -> int:
        return self.requests + self.offers

    @property
    def dominant_layer(self) -> str:
        """The layer most of its listings belong to (the badge's colour); offers on a tie."""
        return "requests" if self.requests > self.offers else "offers"


@dataclass(frozen=True)
class MapMarkers:
    """What the markers fragment draws: individual markers, clusters, and whether to zoom in."""

    markers: list[Marker]
    clusters: list[Cluster]
    truncated: bool


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
    db.session.flush()


def _listing_kinds(layers: set[str]) -> list[str]:
    return [kind for layer, kind in LISTING_LAYERS.items() if layer in layers]


def markers_in_box(
    box: Box, layers: set[str], viewer_id: int | None, cap: int, crowded_rows: int = ZOOMED_IN_ROWS
) -> MapMarkers:
    """What the map shows in the box for the enabled layers.

    Zoomed in, every layer sends individual markers, at most `cap` per layer (truncated
    tells the member to zoom in). Listings come as clusters counted in the database instead
    when zoomed out (`clusters_wanted`) or when more than `cap` of them are in the box (then
    on a grid of about `crowded_rows` cells across); the other layers send at most
    ZOOMED_OUT_CAP markers each when zoomed out.
    """
    zoomed_out = clusters_wanted(box)
    per_layer: list[list[Marker]] = []
    clusters: list[Cluster] = []
    if _listing_kinds(layers):
        # Whether to group is decided on every listing layer, whichever are switched on:
        # switching a layer off must never turn groups into more symbols (it drew 27, then 73).
        listing_markers = [] if zoomed_out else _listing_markers(box, set(LISTING_LAYERS), viewer_id, cap)
        if zoomed_out or len(listing_markers) > cap:
            # Too many to send one by one (or too far out): counts per cell instead. Zoomed
            # in, the grid is finer and a cell holding a single listing shows its marker. The
            # viewer's own listings always come as markers (at their public points), never
            # in a count: who just posted an ad sees it on their map at once.
            clusters = listing_clusters(box, layers, viewer_id, rows=CLUSTER_ROWS if zoomed_out else crowded_rows)
            singles = set()
            if not zoomed_out:
                singles = {c.single_placement_id for c in clusters if c.single_placement_id is not None}
                clusters = [c for c in clusters if c.single_placement_id is None]
            per_layer.append(_listing_markers(box, layers, viewer_id, len(singles) + cap, placement_ids=singles))
        else:
            per_layer.append([marker for marker in listing_markers if marker.layer in layers])
    layer_cap = min(cap, ZOOMED_OUT_CAP) if zoomed_out else cap
    per_layer += [source(box, viewer_id, layer_cap) for layer, source in _layer_sources.items() if layer in layers]
    markers = [marker for found in per_layer for marker in found[:layer_cap]]
    return MapMarkers(markers, clusters, any(len(found) > layer_cap for found in per_layer))


def clusters_wanted(box: Box) -> bool:
    """True when the box is zoomed out enough for listings to be shown as clusters."""
    return box.north - box.south > CLUSTER_ABOVE_DEGREES or box.east - box.west > 2 * CLUSTER_ABOVE_DEGREES


def cluster_cell_degrees(box: Box, rows: int = CLUSTER_ROWS) -> float:
    """The grid step for this box: a power of two, about `rows` cells across."""
    span = max(box.north - box.south, (box.east - box.west) / 2, 1e-9)
    return 2.0 ** math.ceil(math.log2(span / rows))


def listing_clusters(box: Box, layers: set[str], viewer_id: int | None, rows: int = CLUSTER_ROWS) -> list[Cluster]:
    """Open listings of the enabled listing layers in the box, counted per grid cell, leaving
    out the viewer's own (markers_in_box sends them one by one).

    One grouped query through the spatial index; at most about (rows + 1) × (2 × rows + 1)
    cells whatever the number of listings.
    """
    session = db.session
    cell = cluster_cell_degrees(box, rows)
    lat, lon = func.ST_Y(ListingPlacement.point), func.ST_X(ListingPlacement.point)
    row, col = func.floor(lat / cell).label("row"), func.floor(lon / cell).label("col")
    stmt = (
        select(
            row,
            col,
            func.sum(case((ListingPlacement.kind == ListingKind.REQUEST, 1), else_=0)).label("requests"),
            func.count().label("total"),
            func.avg(lat).label("lat"),
            func.avg(lon).label("lon"),
            func.min(ListingPlacement.id).label("first_placement"),
        )
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(in_box(dialect_of(session), ListingPlacement.point, ListingPlacement.id, box.south, box.west, box.north, box.east))
        .where(*_on_the_map(layers, viewer_id))
        .group_by(row, col)
    )
    if viewer_id is not None:
        stmt = stmt.where(Listing.author_id != viewer_id)
    clusters = []
    for found in session.execute(stmt):
        south, west = found.row * cell, found.col * cell
        clusters.append(
            Cluster(
                requests=int(found.requests),
                offers=int(found.total - found.requests),
                lat=round(float(found.lat), 5),
                lon=round(float(found.lon), 5),
                south=max(-90.0, south),
                west=max(-180.0, west),
                north=min(90.0, south + cell),
                east=min(180.0, west + cell),
                single_placement_id=int(found.first_placement) if found.total == 1 else None,
            )
        )
    return sorted(clusters, key=lambda c: (-c.count, c.lat, c.lon))


def _on_the_map(layers: set[str], viewer_id: int | None) -> tuple:
    """Conditions on listing placements shown on the map, as markers or in clusters alike."""
    return (
        ListingPlacement.kind.in_(_listing_kinds(layers)),
        listed_for(viewer_id, Listing),
        # "Mile only" listings have no marker: their point is never sent (see listings.placement).
        Listing.location_mode != "mile_only",
    )


def _listing_markers(box: Box, layers: set[str], viewer_id: int | None, cap: int,
                     placement_ids: set[int] | None = None) -> list[Marker]:
    """Open listings of the enabled listing layers in the box: up to cap + 1, newest first
    (when `placement_ids` is given, only these placements, the single listings of cells, and
    the viewer's own listings, theirs first)."""
    if placement_ids is not None and not placement_ids and viewer_id is None:
        return []
    session = db.session
    lat, lon = latlon_columns(ListingPlacement.point)
    # The cover photo for members' popups (visitors get none: the picture is for members).
    cover = (
        select(ListingPhoto.image).where(ListingPhoto.listing_id == Listing.id)
        .order_by(ListingPhoto.position, ListingPhoto.id).limit(1).scalar_subquery()
        if viewer_id is not None else literal(None)
    )
    stmt = (
        select(
            Listing.id, Listing.kind, Listing.offer_type, Listing.category, Listing.title, Listing.author_id, lat, lon,
            cover.label("photo"),
        )
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(in_box(dialect_of(session), ListingPlacement.point, ListingPlacement.id, box.south, box.west, box.north, box.east))
        .where(*_on_the_map(layers, viewer_id))
    )
    order = [Listing.created_at.desc()]  # newest first
    if placement_ids is not None:
        chosen = ListingPlacement.id.in_(sorted(placement_ids)) if placement_ids else false()
        if viewer_id is not None:
            own = Listing.author_id == viewer_id
            chosen, order = or_(chosen, own), [own.desc(), *order]  # theirs first: within the cap
        stmt = stmt.where(chosen)
    stmt = stmt.order_by(*order).limit(cap + 1)
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
                layer="requests" if row.kind == ListingKind.REQUEST else "offers",
                title=row.title,
                label=" · ".join(str(part) for part in label),
                lat=round(row.lat, 6),
                lon=round(row.lon, 6),
                endpoint="listings.detail",
                url_args={"listing_id": row.id},
                icon=row.category,
                is_own=is_own,
                answerable=viewer_id is not None and not is_own,
                photo=row.photo,
            )
        )
    return markers


def nearest_listings(
    point: LatLon, layers: set[str], count: int = NEAREST_COUNT, viewer_id: int | None = None
) -> list[Nearby]:
    """The `count` open listings nearest to point, among the enabled listing layers, leaving
    out members the viewer blocked or was blocked by (`viewer_id` as listed_for takes it:
    see models.protection.list_viewer_id).

    A listing shown in two miles appears once, at its nearest placement.
    """
    kinds = _listing_kinds(layers)
    if not kinds:
        return []
    base = _nearest_base(tuple(sorted(kinds)), viewer_id is not None)
    # A listing has at most one placement per mile (5 miles): over-fetch, then keep the first.
    rows = nearest(db.session, base, ListingPlacement.point, ListingPlacement.id, point, count * 5,
                   listed_values(viewer_id))
    seen: dict[int, tuple] = {}
    for row in rows:
        seen.setdefault(row.listing_id, row)
        if len(seen) == count:
            break
    listings = listings_with_photos(seen)
    return [Nearby(listings[lid], row.lat, row.lon, row.distance_m) for lid, row in seen.items()]


@lru_cache(maxsize=8)
def _nearest_base(kinds: tuple[str, ...], member: bool) -> Select:
    """The placements nearest_listings reads, built once per shape (geo.nearest)."""
    lat, lon = latlon_columns(ListingPlacement.point)
    return (
        select(ListingPlacement.listing_id, lat, lon)
        .join(Listing, Listing.id == ListingPlacement.listing_id)
        .where(ListingPlacement.kind.in_(kinds))
        .where(listed_for(LISTED_VIEWER if member else None, Listing, LISTED_NOW))
    )

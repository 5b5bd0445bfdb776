"""Geography shared by every feature: the SRID, the mile, points, public offsets, and the
spatial query helpers that keep each hot query on its spatial index on both backends.

PostGIS stores geometry(Point, 4326) with two GiST indexes: one on the column (for map
rectangles) and one on the expression ``CAST(point AS geography)`` (for metres: radius and
nearest). Queries must use exactly that expression, built here by :func:`geography`.
SpatiaLite's R*Tree is only reached through its ``SpatialIndex`` virtual table, and holds
single-precision boxes, so every candidate set is refined with an exact distance.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from functools import lru_cache

from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape
from shapely import wkt as _wkt
from sqlalchemy import (
    Float,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from .config import MILE_METRES

SRID = 4326
EARTH_RADIUS_M = 6_371_008.8
# Shortest metres per degree of latitude (at the equator); dividing by it over-covers slightly.
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
# The R*Tree keeps 32-bit floats: widen every search frame so no candidate is lost.
FRAME_PADDING_DEG = 1e-4
HALF_EARTH_M = math.pi * EARTH_RADIUS_M
NEAREST_FIRST_RADIUS_M = 250.0

__all__ = ["MILE_METRES", "SRID"]


class InvalidCoordinates(ValueError):
    """Raised when a latitude/longitude pair is not a point on the globe."""


@dataclass(frozen=True)
class LatLon:
    """A point on the globe in degrees (WGS 84)."""

    lat: float
    lon: float

    @classmethod
    def parse(cls, lat: object, lon: object) -> LatLon:
        """Build a point from untrusted values; raise InvalidCoordinates when off the globe.

        Strings may use a decimal comma, as French keyboards type it ("47,75").
        """
        try:
            lat_f, lon_f = (
                float(v.strip().replace(",", ".") if isinstance(v, str) else v)  # type: ignore[arg-type]
                for v in (lat, lon)
            )
        except (TypeError, ValueError) as exc:
            raise InvalidCoordinates("not a number") from exc
        if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
            raise InvalidCoordinates("not finite")
        if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
            raise InvalidCoordinates("off the globe")
        return cls(round(lat_f, 7), round(lon_f, 7))

    @classmethod
    def from_args(cls, args, default: LatLon) -> LatLon:
        """The point a page was asked for as `lat` and `lon` (query arguments); `default`
        when the request names none (one of the two missing is none either). Raises
        InvalidCoordinates when it names one that is not on the globe: the web answers 400
        (security.py), a malformed address is not silently another place."""
        if "lat" not in args or "lon" not in args:
            return default
        return cls.parse(args["lat"], args["lon"])

    def wkt(self) -> WKTElement:
        """This point as a geometry value for the database."""
        return WKTElement(f"POINT({self.lon!r} {self.lat!r})", srid=SRID)


class InvalidBox(ValueError):
    """Raised when the four sides of a map box do not make an area on the globe."""


BOX_SIDES = ("south", "west", "north", "east")


@dataclass(frozen=True)
class Box:
    """The visible area of the map, in degrees."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, center: LatLon, metres: float = MILE_METRES) -> Box:
        """A box that contains the circle of `metres` (a mile unless told) around center."""
        dlat = metres / METRES_PER_DEGREE_LAT
        dlon = metres / (METRES_PER_DEGREE_LON_EQUATOR * max(0.01, math.cos(math.radians(center.lat))))
        return cls(
            max(-90.0, center.lat - dlat),
            max(-180.0, center.lon - dlon),
            min(90.0, center.lat + dlat),
            min(180.0, center.lon + dlon),
        )

    @classmethod
    def from_args(cls, args) -> Box | None:
        """The box the map sent as `south`, `west`, `north` and `east` (query arguments).

        None when the request names no box (one side missing is no box either). Raises
        InvalidBox when it names one that is not an area on the globe: not a number, NaN or
        infinite, off the globe, or inverted (south above north, west east of east). Each
        side is parsed like a point, so a French decimal comma is fine. No box can be larger
        than the globe once its sides are on it: a huge area is the caller's to cluster.
        Pages let InvalidBox through: the web answers 400 (security.py).
        """
        if not all(side in args for side in BOX_SIDES):
            return None
        south, west, north, east = (args[side] for side in BOX_SIDES)
        try:
            low, high = LatLon.parse(south, west), LatLon.parse(north, east)
        except InvalidCoordinates as error:
            raise InvalidBox(str(error)) from error
        if low.lat > high.lat or low.lon > high.lon:
            raise InvalidBox("inverted")
        return cls(low.lat, low.lon, high.lat, high.lon)


# A fixed grid of 0.01° cells (about 1.1 km × 0.75 km in France) for the mile's list, newest
# first: each placement carries the cell of its public point, and a B-tree on (cell,
# listed_at) lets the database read each cell that the mile touches in date order and merge
# them, stopping after one page, instead of taking every ad of the mile through the spatial
# index and sorting them all (634 ads in a town's mile at 1M, 2,013 at p95).
GRID_DEGREES = 0.01
GRID_COLUMNS = 36_000  # 360 / GRID_DEGREES: cell = row * GRID_COLUMNS + column, < 2**31
GRID_MAX_CELLS = 64  # beyond (near the poles, where a mile spans many columns) no grid


def grid_cell(point: LatLon) -> int:
    """The grid cell of a point (the same arithmetic as migration 0022's backfill)."""
    row = math.floor((point.lat + 90.0) / GRID_DEGREES)
    column = math.floor((point.lon + 180.0) / GRID_DEGREES) % GRID_COLUMNS
    return row * GRID_COLUMNS + column


def grid_cells_within(center: LatLon, metres: float) -> list[int] | None:
    """The grid cells that the circle of `metres` around center touches (a cell whose
    nearest point lies farther is left out); None when they would be too many."""
    box = Box.around(center, metres)
    # Longitudes are not clamped to the globe's edge: past the antimeridian the columns wrap.
    dlon = -Box.around(LatLon(center.lat, 0.0), metres).west
    rows = range(math.floor((box.south + 90.0) / GRID_DEGREES), math.floor((box.north + 90.0) / GRID_DEGREES) + 1)
    columns = range(math.floor((center.lon - dlon + 180.0) / GRID_DEGREES),
                    math.floor((center.lon + dlon + 180.0) / GRID_DEGREES) + 1)
    if len(rows) * len(columns) > GRID_MAX_CELLS:
        return None
    cells = []
    for row in rows:
        south = row * GRID_DEGREES - 90.0
        for column in columns:
            west = column * GRID_DEGREES - 180.0
            # The cell's point nearest the centre (haversine wraps the longitudes); a metre of
            # slack for the float edges.
            nearest_point = LatLon(min(max(center.lat, south), south + GRID_DEGREES),
                                   min(max(center.lon, west), west + GRID_DEGREES))
            if haversine_m(center, nearest_point) <= metres + 1.0:
                cells.append(row * GRID_COLUMNS + column % GRID_COLUMNS)
    return cells


def point_latlon(value) -> LatLon:
    """A loaded point value (WKB from the database, or WKT just assigned) as LatLon."""
    if isinstance(value, WKTElement):
        shape = _wkt.loads(value.data)
    else:
        shape = to_shape(value)
    return LatLon(shape.y, shape.x)


def latlon_columns(geom_col) -> tuple[ColumnElement, ColumnElement]:
    """Latitude and longitude of a point column, for select lists."""
    return func.ST_Y(geom_col).label("lat"), func.ST_X(geom_col).label("lon")


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres (sphere); for bands and tests, not for queries."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def destination(origin: LatLon, bearing_deg: float, metres: float) -> LatLon:
    """The point reached from origin after metres along bearing (sphere)."""
    delta = metres / EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    phi1, lmb1 = math.radians(origin.lat), math.radians(origin.lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lon = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return LatLon(round(math.degrees(phi2), 7), round(lon, 7))


def stable_offset(
    origin: LatLon, secret: str, key: str, min_m: float, max_m: float
) -> LatLon:
    """Shift origin by a distance in [min_m, max_m] and a bearing derived from (secret, key).

    The same key always gives the same shift, so reloading a page cannot average it away,
    and without the secret the shift cannot be undone.
    """
    digest = hmac.new(secret.encode(), key.encode(), hashlib.sha256).digest()
    bearing = int.from_bytes(digest[:4], "big") / 2**32 * 360.0
    # Uniform over the ring's area, so shifts do not cluster near the inner edge.
    u = int.from_bytes(digest[4:8], "big") / 2**32
    distance = math.sqrt(min_m**2 + u * (max_m**2 - min_m**2))
    return destination(origin, bearing, distance)


def dialect_of(session: Session) -> str:
    """'postgresql' or 'sqlite'."""
    return session.get_bind().dialect.name


class _Geography(UserDefinedType):
    """Plain `geography`, without the typmod GeoAlchemy2 adds: `CAST(point AS geography)`
    must be written exactly as the expression index was, or PostgreSQL ignores the index."""

    cache_ok = True

    def get_col_spec(self) -> str:
        return "geography"


def geography(geom_col) -> ColumnElement:
    """The geometry column seen as geography: the exact expression PostGIS indexes."""
    return cast(geom_col, _Geography())


@dataclass(frozen=True)
class PointParameter:
    """A point bound when a statement runs, instead of written into it when it is built.

    A hot query keeps one statement per shape (`functools.lru_cache` on the function that
    builds it) and binds each request's values: SQLAlchemy then neither builds the
    statement again nor walks it for its cache key, which cost the mile's list more than
    its SQL did (issue 17). The helpers below take one wherever they take a point and write
    the same SQL. A search of SpatiaLite's index within a radius of the point also binds
    the search frames around it: how many (two across the antimeridian, `frame_count`) is
    part of the shape.
    """

    name: str = "point"
    frames: int = 1

    @staticmethod
    def frame_count(dialect: str, point: LatLon, metres: float) -> int:
        """The `frames` of a statement that searches within `metres` of `point`."""
        return len(_spatialite_frames(_search_frame(point, metres))) if dialect == "sqlite" else 1

    def values(self, dialect: str, point: LatLon, metres: float | None = None) -> dict[str, object]:
        """The parameters for `point`; with `metres`, also SpatiaLite's search frames of
        `within_metres` (their number must be `frames`)."""
        if dialect == "postgresql":
            return {f"{self.name}_ewkt": _ewkt(point)}
        values: dict[str, object] = {f"{self.name}_lon": point.lon, f"{self.name}_lat": point.lat}
        if metres is not None:
            frames = _spatialite_frames(_search_frame(point, metres))
            if len(frames) != self.frames:
                raise ValueError(f"{len(frames)} search frames for a statement built with {self.frames}")
            for index, frame in enumerate(frames):
                values.update(zip(_frame_names(f"{self.name}_frame{index}"), frame))
        return values


def _ewkt(point: LatLon) -> str:
    return f"SRID={SRID};POINT({point.lon!r} {point.lat!r})"


def _geog_point(point: LatLon | PointParameter) -> ColumnElement:
    if isinstance(point, PointParameter):
        return func.ST_GeogFromText(bindparam(f"{point.name}_ewkt", type_=String()))
    return func.ST_GeogFromText(literal(_ewkt(point)))


def _spatialite_point(point: LatLon | PointParameter) -> ColumnElement:
    if isinstance(point, PointParameter):
        return func.MakePoint(bindparam(f"{point.name}_lon", type_=Float()),
                              bindparam(f"{point.name}_lat", type_=Float()), SRID)
    return func.MakePoint(literal(point.lon), literal(point.lat), SRID)


def _search_frame(center: LatLon, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box (west, south, east, north) that contains the circle around center."""
    dlat = metres / METRES_PER_DEGREE_LAT + FRAME_PADDING_DEG
    south, north = max(-90.0, center.lat - dlat), min(90.0, center.lat + dlat)
    widest_lat = max(abs(south), abs(north))
    cos_lat = math.cos(math.radians(widest_lat))
    if widest_lat >= 89.9 or metres >= HALF_EARTH_M:
        return -180.0, south, 180.0, north
    dlon = metres / (METRES_PER_DEGREE_LON_EQUATOR * cos_lat) + FRAME_PADDING_DEG
    if dlon >= 180.0:
        return -180.0, south, 180.0, north
    return center.lon - dlon, south, center.lon + dlon, north


def _frame_names(name: str) -> tuple[str, str, str, str]:
    return tuple(f"{name}_{side}" for side in ("w", "s", "e", "n"))


def _spatial_index_rowids(table: str, column: str, name: str, box: tuple[float, float, float, float] | None):
    """The ROWIDs whose index box meets the frame `name`: `box`, or bound when the
    statement runs (PointParameter.values) when None. Each frame has names of its own."""
    names = _frame_names(name)
    corners = ([bindparam(key, value, type_=Float()) for key, value in zip(names, box)] if box is not None
               else [bindparam(key, type_=Float()) for key in names])
    return select(text("ROWID")).select_from(text("SpatialIndex")).where(
        text("f_table_name = :spx_table AND f_geometry_column = :spx_column").bindparams(
            spx_table=table, spx_column=column
        ),
        text(f"search_frame = BuildMbr(:{names[0]}, :{names[1]}, :{names[2]}, :{names[3]}, :spx_srid)").bindparams(
            *corners, spx_srid=SRID
        ),
    )


def _spatialite_frames(box: tuple[float, float, float, float]):
    """Split a box crossing the antimeridian into boxes inside [-180, 180]."""
    west, south, east, north = box
    if west < -180.0:
        return [(west + 360.0, south, 180.0, north), (-180.0, south, east, north)]
    if east > 180.0:
        return [(west, south, 180.0, north), (-180.0, south, east - 360.0, north)]
    return [box]


def _in_spatial_index(dialect_rowid, geom_col, frames) -> ColumnElement[bool]:
    """Rows whose index box meets one of `frames`: boxes, or a PointParameter's bound frames."""
    table, column = geom_col.table.name, geom_col.name
    if isinstance(frames, PointParameter):
        named = [(f"{frames.name}_frame{index}", None) for index in range(frames.frames)]
    else:
        named = [(f"spx_frame{index}", box) for index, box in enumerate(_spatialite_frames(frames))]
    conditions = [dialect_rowid.in_(_spatial_index_rowids(table, column, name, box)) for name, box in named]
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def within_metres(
    dialect: str, geom_col, rowid_col, center: LatLon | PointParameter, metres
) -> ColumnElement[bool]:
    """Rows whose point lies within metres of center, through the spatial index. A bound
    center takes its SpatiaLite search frames from PointParameter.values(…, metres), and
    `metres` may be bound too."""
    if dialect == "postgresql":
        return func.ST_DWithin(geography(geom_col), _geog_point(center), metres)
    frames = center if isinstance(center, PointParameter) else _search_frame(center, metres)
    return and_(
        _in_spatial_index(rowid_col, geom_col, frames),
        func.PtDistWithin(geom_col, _spatialite_point(center), metres, 1) == 1,
    )


def exactly_within(dialect: str, geom_col, center: LatLon | PointParameter, metres: float) -> ColumnElement[bool]:
    """Rows whose point lies within metres of center, tested row by row (no index): the
    refinement of rows that an index already narrowed, such as one grid cell."""
    if dialect == "postgresql":
        # Not ST_DWithin: the planner would take the GiST index and lose the date order.
        return func.ST_Distance(geography(geom_col), _geog_point(center)) <= metres
    return func.PtDistWithin(geom_col, _spatialite_point(center), metres, 1) == 1


def in_box(
    dialect: str, geom_col, rowid_col, south: float, west: float, north: float, east: float
) -> ColumnElement[bool]:
    """Rows whose point lies in the lon/lat rectangle, through the spatial index."""
    lon, lat = func.ST_X(geom_col), func.ST_Y(geom_col)
    exact = and_(lat >= south, lat <= north, lon >= west, lon <= east)
    if dialect == "postgresql":
        envelope = func.ST_MakeEnvelope(west, south, east, north, SRID)
        return and_(geom_col.op("&&")(envelope), exact)
    return and_(_in_spatial_index(rowid_col, geom_col, (west, south, east, north)), exact)


def distance_m(dialect: str, geom_col, point: LatLon | PointParameter) -> ColumnElement[float]:
    """Spheroid distance in metres from point to each row's point."""
    if dialect == "postgresql":
        return func.ST_Distance(geography(geom_col), _geog_point(point))
    return func.ST_Distance(geom_col, _spatialite_point(point), 1)


def nearest(
    session: Session, base: Select, geom_col, rowid_col, point: LatLon, limit: int,
    values: dict[str, object] | None = None,
) -> list:
    """The `limit` rows of `base` nearest to point, each with a trailing `distance_m`;
    `values` binds the parameters of `base`.

    PostGIS, in one statement: the geometry index's KNN walk (plain lon/lat, no distance
    recheck) gives `limit` candidates, the farthest of which, in true metres, is the reach;
    every row within the reach is then read through the same index (a lon/lat box around the
    circle, as SpatiaLite's search frame) and ordered by its true distance: exact, and a
    third of what the geography index's KNN walk cost at 1M ads (its distance recheck). Where
    that box would cross the antimeridian or come near a pole, the geography KNN answers.

    SpatiaLite has no usable KNN here (VirtualKNN crashed once and is slow), so the search
    circle starts at 250 m and grows (4x, or 16x while still empty) until it holds `limit`
    rows whose exact distance lies inside it. Each statement is built once per `base` and
    shape (so build `base` once per shape too), the point and the radius bound when it runs
    (PointParameter).
    """
    dialect = dialect_of(session)
    values = values or {}
    if dialect == "postgresql":
        here = PointParameter("nearest")
        bound = {**values, **here.values(dialect, point)}
        stmt = _nearest_statement(dialect, base, geom_col, rowid_col, limit, here)
        rows = list(session.execute(stmt, {**bound, "nearest_lat": point.lat}))
        if rows and _frame_on_the_map(_search_frame(point, rows[0].reach_m)):
            return rows
        # Nothing found (an empty map, or candidates only across the antimeridian), or a
        # box that leaves the map: the geography index's own KNN walk.
        return list(session.execute(_knn_statement(base, geom_col, limit, here), bound))
    # Start small: in a dense town a whole mile holds hundreds of listings, each needing an
    # exact distance (make bench measured 7x from 100k to 1M with a one-mile start).
    radius = NEAREST_FIRST_RADIUS_M
    while True:
        here = PointParameter("nearest", PointParameter.frame_count(dialect, point, radius))
        stmt = _nearest_statement(dialect, base, geom_col, rowid_col, limit, here)
        rows = list(session.execute(stmt, {**values, **here.values(dialect, point, radius), "nearest_m": radius}))
        if len(rows) >= limit or radius >= HALF_EARTH_M:
            return rows
        # Nothing yet: the neighbourhood is empty, leap further.
        radius = min(radius * (4 if rows else 16), HALF_EARTH_M)


def _frame_on_the_map(frame: tuple[float, float, float, float]) -> bool:
    """Whether a search frame is a plain lon/lat box: not the whole world (a pole), not
    across the antimeridian."""
    west, _south, east, _north = frame
    return -180.0 < west and east < 180.0


@lru_cache(maxsize=8)
def _knn_statement(base: Select, geom_col, limit: int, here: PointParameter) -> Select:
    """PostGIS: `base` nearest first along the geography index (true distance, the
    antimeridian and the poles included), with its `distance_m`."""
    distance = distance_m("postgresql", geom_col, here).label("distance_m")
    return base.add_columns(distance).order_by(geography(geom_col).op("<->")(_geog_point(here))).limit(limit)


def _geom_point(point: PointParameter) -> ColumnElement:
    return func.ST_GeomFromEWKT(bindparam(f"{point.name}_ewkt", type_=String()))


@lru_cache(maxsize=64)
def _nearest_statement(dialect: str, base: Select, geom_col, rowid_col, limit: int, here: PointParameter) -> Select:
    """`base` with the distance to the bound point `here`, nearest first (PostGIS: as
    `nearest` says, with the reach `reach_m`; SpatiaLite: within the bound radius
    `nearest_m`)."""
    distance = distance_m(dialect, geom_col, here)
    if dialect == "postgresql":
        centre = _geom_point(here)
        candidates = base.add_columns(distance.label("d")).order_by(geom_col.op("<->")(centre)).limit(limit).subquery()
        # A CTE, evaluated once however often the statement names the reach.
        reach_of = select(func.max(candidates.c.d).label("metres")).cte("reach")
        reach = select(reach_of.c.metres).scalar_subquery()
        # The box of _search_frame around the circle of the reach (checked there afterwards).
        dlat = reach / METRES_PER_DEGREE_LAT + FRAME_PADDING_DEG
        widest = func.least(89.9, func.abs(bindparam("nearest_lat", type_=Float())) + dlat)
        dlon = reach / (METRES_PER_DEGREE_LON_EQUATOR * func.cos(func.radians(widest))) + FRAME_PADDING_DEG
        return (
            base.add_columns(distance.label("distance_m"), reach.label("reach_m"))
            .where(geom_col.op("&&")(func.ST_Expand(centre, dlon, dlat)), distance <= reach)
            .order_by(distance, rowid_col)
            .limit(limit)
        )
    distance = distance.label("distance_m")
    return (
        base.add_columns(distance)
        .where(within_metres(dialect, geom_col, rowid_col, here, bindparam("nearest_m", type_=Float())))
        .order_by(distance)
        .limit(limit)
    )

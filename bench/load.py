"""Bulk loading of a Dataset into a migrated database, by each backend's fastest honest path.

PostgreSQL: COPY into every table, indexes live (GiST on the column and on the geography
expression are maintained row by row, as in production), then VACUUM ANALYZE.
SpatiaLite: executemany inside one transaction, geometry built by MakePoint, with
SpatiaLite's own triggers (type checks and R*Tree index) active, then ANALYZE.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from werkzeug.security import generate_password_hash

from onemile.geo import LatLon, grid_cell

from .dataset import BODY, CATEGORIES, KINDS, OFFER_TYPES, TITLES, VIEWER_MILES, Dataset

VIEWER_PASSWORD = "bench-password-not-secret"
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
MEMBER_COLUMNS = (
    "id", "email", "password_hash", "first_name", "last_name", "postal_code", "country", "kind",
    "language", "map_layers", "referral_code", "email_notifications", "created_at",
)
MILE_COLUMNS = ("id", "member_id", "name", "center", "is_primary", "created_at")
LISTING_COLUMNS = (
    "id", "author_id", "kind", "offer_type", "category", "title", "body", "status",
    "created_at", "updated_at", "expires_at",
)
PLACEMENT_COLUMNS = ("id", "listing_id", "mile_id", "kind", "point", "cell", "listed_at")
LAYERS = "requests,offers,projects,mags"


def viewer_email(index: int) -> str:
    return f"bench-viewer-{index}@1mile.local"


class Plan:
    """Ids of everything loaded: authors 1..A with mile i, then viewers with up to 5 miles
    each, one per query point (the mile search runs around a member's own mile)."""

    def __init__(self, data: Dataset, points: list[tuple[float, float]]):
        self.data, self.points = data, points
        self.now = _now()
        self.authors = data.author_count
        self.viewers = (len(points) + VIEWER_MILES - 1) // VIEWER_MILES
        # query point k is mile (authors + 1 + k) of viewer (authors + 1 + k // 5)
        self.point_mile = [self.authors + 1 + k for k in range(len(points))]
        self.point_viewer = [k // VIEWER_MILES for k in range(len(points))]

    def members(self, fmt):
        created = fmt(self.now - timedelta(days=60))
        for i in range(self.authors):
            yield (i + 1, f"bench-author-{i + 1}@1mile.local", "!", "Auteur", "Banc", "75001", "FR",
                   "person", "fr", LAYERS, f"a{i + 1}", False, created)
        hashed = generate_password_hash(VIEWER_PASSWORD, "scrypt:4096:8:1")
        for v in range(self.viewers):
            yield (self.authors + 1 + v, viewer_email(v), hashed, "Lecteur", "Banc", "75001", "FR",
                   "person", "fr", LAYERS, f"v{v}", False, created)

    def miles(self, fmt, point):
        created = fmt(self.now - timedelta(days=60))
        d = self.data
        for i in range(self.authors):
            yield (i + 1, i + 1, "Chez moi", point(d.author_lon[i], d.author_lat[i]), True, created)
        for k, (lat, lon) in enumerate(self.points):
            viewer_id = self.authors + 1 + self.point_viewer[k]
            yield (self.point_mile[k], viewer_id, f"Point {k}", point(lon, lat),
                   k % VIEWER_MILES == 0, created)

    def listings(self, fmt):
        d, now = self.data, self.now
        kinds, offer_types, categories, titles = (
            KINDS.tolist(), OFFER_TYPES.tolist(), CATEGORIES.tolist(), TITLES.tolist()
        )
        kind, offer, category, title = (
            d.kind.tolist(), d.offer_type.tolist(), d.category.tolist(), d.title.tolist()
        )
        author, age, expires = (
            d.listing_author.tolist(), d.age_minutes.tolist(), d.expires_in_minutes.tolist()
        )
        for i in range(d.size):
            k = kinds[kind[i]]
            created = fmt(now - timedelta(minutes=age[i]))
            yield (i + 1, author[i] + 1, k, offer_types[offer[i]] if k == "offer" else None,
                   categories[category[i]], titles[title[i]], BODY, "open", created, created,
                   fmt(now + timedelta(minutes=expires[i])))

    def placements(self, fmt, point):
        d, now = self.data, self.now
        kinds = KINDS.tolist()
        kind, author, lat, lon = d.kind.tolist(), d.listing_author.tolist(), d.lat.tolist(), d.lon.tolist()
        age = d.age_minutes.tolist()
        for i in range(d.size):
            yield (i + 1, i + 1, author[i] + 1, kinds[kind[i]], point(lon[i], lat[i]),
                   grid_cell(LatLon(lat[i], lon[i])), fmt(now - timedelta(minutes=age[i])))


def _now() -> datetime:
    from onemile.models import utcnow

    return utcnow()


def _timed(timings: dict, name: str, action) -> None:
    start = time.perf_counter()
    action()
    timings[name] = time.perf_counter() - start


def load_spatialite(raw_connection, plan: Plan, analyze: bool = True) -> dict[str, float]:
    """Insert everything in one transaction, then ANALYZE (unless told not to); return
    seconds per step. Without ANALYZE's statistics SQLite drives the spatial queries from
    the listing status index instead of the R*Tree (see the README's Benchmarks)."""
    fmt = lambda value: value.strftime(SQLITE_TIME)
    as_pair = lambda lon, lat: (float(lon), float(lat))
    cur = raw_connection.cursor()
    timings: dict[str, float] = {}

    def insert(table, columns, rows, geometry: str | None = None):
        marks = []
        for column in columns:
            marks.append("MakePoint(?, ?, 4326)" if column == geometry else "?")
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
        if geometry:
            position = columns.index(geometry)
            rows = (row[:position] + row[position] + row[position + 1:] for row in rows)
        cur.executemany(sql, rows)

    start = time.perf_counter()
    _timed(timings, "members", lambda: insert("member", MEMBER_COLUMNS, plan.members(fmt)))
    _timed(timings, "miles", lambda: insert("mile", MILE_COLUMNS, plan.miles(fmt, as_pair), "center"))
    _timed(timings, "listings", lambda: insert("listing", LISTING_COLUMNS, plan.listings(fmt)))
    _timed(timings, "placements", lambda: insert(
        "listing_placement", PLACEMENT_COLUMNS, plan.placements(fmt, as_pair), "point"))
    _timed(timings, "commit", raw_connection.commit)
    timings["total"] = time.perf_counter() - start
    if analyze:
        _timed(timings, "analyze", lambda: (cur.execute("ANALYZE"), raw_connection.commit()))
    cur.close()
    return timings


def load_postgis(pg_connection, plan: Plan) -> dict[str, float]:
    """COPY everything in one transaction, fix the id sequences, VACUUM ANALYZE."""
    fmt = lambda value: value
    ewkt = lambda lon, lat: f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})"
    timings: dict[str, float] = {}

    def copy(table, columns, rows):
        with pg_connection.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
            for row in rows:
                out.write_row(row)

    start = time.perf_counter()
    _timed(timings, "members", lambda: copy("member", MEMBER_COLUMNS, plan.members(fmt)))
    _timed(timings, "miles", lambda: copy("mile", MILE_COLUMNS, plan.miles(fmt, ewkt)))
    _timed(timings, "listings", lambda: copy("listing", LISTING_COLUMNS, plan.listings(fmt)))
    _timed(timings, "placements", lambda: copy(
        "listing_placement", PLACEMENT_COLUMNS, plan.placements(fmt, ewkt)))
    with pg_connection.cursor() as cur:
        for table in ("member", "mile", "listing", "listing_placement"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    _timed(timings, "commit", pg_connection.commit)
    timings["total"] = time.perf_counter() - start
    pg_connection.autocommit = True
    _timed(timings, "analyze", lambda: pg_connection.execute("VACUUM ANALYZE"))
    return timings

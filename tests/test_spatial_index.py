"""Each hot spatial query reaches its spatial index on both backends.

The real service calls run against 8,000 placements; their SQL is captured as executed and
explained by the database itself. PostgreSQL must plan an index scan on the GiST index of
the exact expression queried (no sequential scan of the placements); SpatiaLite must reach
the placements through the SpatialIndex virtual table (no full scan of the table).
"""

import random
import re

import pytest
from conftest import insert_open_offers
from sqlalchemy import event, text

from onemile.extensions import db
from onemile.geo import LatLon, destination
from onemile.listings.services import SearchFilters, search_mile
from onemile.map.services import (
    Box,
    clusters_wanted,
    listing_clusters,
    markers_in_box,
    nearest_listings,
)
from onemile.models import Block, Member

MULHOUSE = LatLon(47.7508, 7.3359)
COUNT = 8000


@pytest.fixture(params=["visitor", "member"])
def viewer_id(request):
    """Who looks: a visitor (no block filter), or a member who blocked someone (the views
    of logged-in members always carry the block filter, so it must not cost the index)."""
    return request.param


@pytest.fixture
def crowded(app, ctx, viewer_id):
    """8,000 open offers scattered within 30 km of Mulhouse; returns the viewer's id."""
    rng = random.Random(1609)
    insert_open_offers(
        [destination(MULHOUSE, rng.uniform(0, 360), 30_000 * rng.random() ** 0.5) for _ in range(COUNT)]
    )
    viewer = None
    if viewer_id == "member":
        people = [
            Member(email=f"{name}@example.org", password_hash="x", first_name=name, last_name="X",
                   postal_code="68100", country="FR", kind="person", language="fr")
            for name in ("viewer", "blocked")
        ]
        db.session.add_all(people)
        db.session.flush()
        db.session.add(Block(blocker_id=people[0].id, blocked_id=people[1].id))
        db.session.commit()
        viewer = people[0].id
    _fresh_statistics("listing_placement", "listing")
    return viewer


def _fresh_statistics(*tables):
    """Table statistics as production has them after a bulk of inserts."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Autovacuum would do it in its own time; the test cannot wait for it.
        for table in tables:
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    else:
        # As after a restart: new connections, which keep SQLite's statistics fresh.
        db.session.remove()
        db.engine.dispose()


def _captured(call, table: str = "listing_placement"):
    """Run call() and return the (statement, parameters) that touched `table`."""
    engine = db.engine
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if table in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen, f"the service ran no query on {table}"
    return result, seen


def _plan(statement, parameters) -> str:
    connection = db.session.connection().connection.driver_connection
    cursor = connection.cursor()
    if db.engine.dialect.name == "postgresql":
        cursor.execute("EXPLAIN " + statement, parameters)
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    rows = cursor.fetchall()
    return "\n".join(" | ".join(str(col) for col in row) for row in rows)


def _assert_uses_index(statement, parameters, postgres_index: str):
    plan = _plan(statement, parameters)
    if db.engine.dialect.name == "postgresql":
        assert postgres_index in plan, plan
        assert "Seq Scan on listing_placement" not in plan, plan
    else:
        assert "SpatialIndex" in plan and "VIRTUAL TABLE" in plan, plan
        assert "SCAN listing_placement" not in plan, plan
        # Nor may the planner walk every open listing and use the R*Tree only as a filter.
        assert "SCAN listing " not in plan + " " and not re.search(r"SEARCH listing USING INDEX ix_listing_status", plan), plan


def test_within_the_mile_reads_its_grid_cells_newest_first_from_the_index(crowded):
    """The mile's list takes each grid cell the mile touches from the (cell, listed_at) index,
    newest first, and merges them: no table scan, no sort of the whole mile."""
    (found, _next), statements = _captured(lambda: search_mile(MULHOUSE, SearchFilters(), viewer_id=crowded))
    assert found, "the crowded mile should have open listings"
    for statement, parameters in statements:
        plan = _plan(statement, parameters)
        if db.engine.dialect.name == "postgresql":
            assert "Merge Append" in plan, plan
            assert "Index Scan Backward using ix_listing_placement_cell_listed" in plan, plan
            assert "Seq Scan on listing_placement" not in plan and "Bitmap" not in plan.split("SubPlan")[0], plan
            assert not re.search(r"(^|->)\s*Sort\s+\(cost", plan, re.MULTILINE), plan
        else:
            assert "MERGE (UNION ALL)" in plan, plan
            assert "USING INDEX ix_listing_placement_cell_listed (cell=?)" in plan, plan
            assert "SCAN listing_placement" not in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_nearest_five_uses_the_spatial_index(crowded):
    here = destination(MULHOUSE, 10, 800)
    nearby, statements = _captured(lambda: nearest_listings(here, {"requests", "offers"}, viewer_id=crowded))
    assert len(nearby) == 5
    distances = [item.distance_m for item in nearby]
    assert distances == sorted(distances)
    for statement, parameters in statements:
        # PostGIS: the geometry index twice, for the KNN candidates and for the circle of
        # their reach (geo.nearest).
        _assert_uses_index(statement, parameters, "idx_listing_placement_point")
        if db.engine.dialect.name == "postgresql":
            assert _plan(statement, parameters).count("Index Scan using idx_listing_placement_point") == 2


def test_markers_of_the_visible_area_use_the_spatial_index(crowded):
    box = Box.around(MULHOUSE, 2000)
    shown, statements = _captured(lambda: markers_in_box(box, {"offers"}, crowded, cap=300))
    assert shown.markers and not shown.clusters
    for statement, parameters in statements:
        _assert_uses_index(statement, parameters, "idx_listing_placement_point")


def test_a_crowded_first_view_and_a_zoomed_out_map_use_the_spatial_index(crowded):
    """Past the cap: the counts per cell, then the single ads of their cells with the
    viewer's own (a member's own ads always come as markers), both through the index."""
    for box, cap, rows in ((Box.around(MULHOUSE), 10, 8), (Box.around(destination(MULHOUSE, 45, 32_000), 15_000), 100, 16)):
        shown, statements = _captured(lambda box=box, cap=cap, rows=rows: markers_in_box(box, {"offers"}, crowded, cap, rows))
        assert shown.clusters and statements
        *searches, last = statements
        for statement, parameters in searches:
            _assert_uses_index(statement, parameters, "idx_listing_placement_point")
        if crowded is not None and clusters_wanted(box) and db.engine.dialect.name == "postgresql":
            # Zoomed out, the last asks for the viewer's own ads alone: PostgreSQL may start
            # from the author's few through their index; never a scan.
            plan = _plan(*last)
            assert "ix_listing_author_id" in plan or "idx_listing_placement_point" in plan, plan
            assert "Seq Scan on listing" not in plan, plan
        else:
            _assert_uses_index(*last, "idx_listing_placement_point")


def test_clusters_of_a_zoomed_out_map_use_the_spatial_index(crowded):
    # A box about 30 km tall whose corner only touches the crowd: zoomed out, and selective.
    box = Box.around(destination(MULHOUSE, 45, 32_000), 15_000)
    assert clusters_wanted(box)
    clusters, statements = _captured(lambda: listing_clusters(box, {"offers"}, crowded))
    assert clusters and all(cluster.offers > 0 and cluster.requests == 0 for cluster in clusters)
    for statement, parameters in statements:
        _assert_uses_index(statement, parameters, "idx_listing_placement_point")


# --- Alerts: a new ad's public point against every mile centre --------------------------------


def _insert_members_with_miles(points) -> list[int]:
    """One member and one mile per point, bulk-inserted (thousands in a second)."""
    from sqlalchemy import insert, select

    from onemile.models import Mile

    db.session.execute(insert(Member), [
        {"email": f"near{i}@example.org", "password_hash": "x", "first_name": "N", "last_name": "X",
         "postal_code": "68100", "country": "FR", "kind": "person", "language": "fr", "map_layers": "requests",
         "email_notifications": True, "is_moderator": False, "referral_code": f"near{i}"}
        for i in range(len(points))
    ])
    ids = db.session.scalars(select(Member.id).where(Member.email.like("near%")).order_by(Member.id)).all()
    db.session.execute(insert(Mile), [
        {"member_id": member_id, "name": "m", "center": point.wkt(), "is_primary": True}
        for member_id, point in zip(ids, points)
    ])
    db.session.commit()
    return list(ids)


@pytest.fixture
def crowded_miles(app, ctx):
    """8,000 members whose miles are scattered within 30 km of Mulhouse, one of whom blocked
    the author; returns the author's id."""
    rng = random.Random(1610)
    ids = _insert_members_with_miles(
        [destination(MULHOUSE, rng.uniform(0, 360), 30_000 * rng.random() ** 0.5) for _ in range(COUNT)]
    )
    author_id = ids[0]
    db.session.add(Block(blocker_id=ids[1], blocked_id=author_id))
    db.session.commit()
    _fresh_statistics("mile", "member")
    return author_id


def test_alert_fan_out_finds_the_miles_around_an_ad_through_the_spatial_index(crowded_miles):
    from onemile.alerts.services import recipients

    found, seen = _captured(lambda: recipients([MULHOUSE], "requests", crowded_miles, None), "FROM mile")
    assert found and crowded_miles not in {r.member_id for r in found}
    assert all(r.distance_m <= 1609.344 + 1 for r in found)
    for statement, parameters in seen:
        plan = _plan(statement, parameters)
        if db.engine.dialect.name == "postgresql":
            assert "ix_mile_center_geog" in plan, plan
            assert "Seq Scan on mile" not in plan, plan
        else:
            assert "SpatialIndex" in plan and "VIRTUAL TABLE" in plan, plan
            assert "SCAN mile" not in plan + " " and "SCAN member" not in plan + " ", plan

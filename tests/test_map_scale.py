"""The markers fragment stays small at 100,000 listings, whatever the zoom.

The listings are the benchmark's (`bench/`): spread like real ads over France, bulk-loaded
by each backend's fast path into the test database. Sizes are asserted (they are facts of
the response), never timings.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bench.databases import pg_connect
from bench.dataset import FRANCE_BOX, generate
from bench.load import Plan, load_postgis, load_spatialite
from onemile.extensions import db
from onemile.geo import LatLon
from onemile.map.services import Box
from onemile.models import ListingPlacement

LISTINGS = 100_000
HX = {"HX-Request": "true"}
# What a phone shows zoomed in on a town centre, and a desktop showing all of France.
FRAGMENT_BUDGET_BYTES = 40_000


@pytest.fixture
def france(app):
    """100,000 open listings over France in the test database."""
    plan = Plan(generate(LISTINGS, seed=2026), points=[])
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if uri.startswith("postgresql"):
            with pg_connect(uri, autocommit=False) as connection:
                load_postgis(connection, plan)
        else:
            raw = db.engine.raw_connection()
            try:
                load_spatialite(raw.driver_connection, plan)
            finally:
                raw.close()
            db.engine.dispose()  # fresh connections pick up ANALYZE's statistics
    return plan


def _markers(client, box: Box, **extra) -> str:
    query = {"south": box.south, "west": box.west, "north": box.north, "east": box.east, **extra}
    response = client.get("/map/markers", query_string=query, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_whole_country_view_is_a_small_fragment_of_clusters(app, client, france):
    south, west, north, east = FRANCE_BOX
    html = _markers(client, Box(south, west, north, east))
    assert len(html.encode()) < FRAGMENT_BUDGET_BYTES, len(html.encode())
    assert 'data-id="' not in html, "no individual marker at the scale of a country"
    counts = [int(value) for value in re.findall(r'data-cluster="(\d+)"', html)]
    with app.app_context():
        in_france = db.session.scalar(
            select(func.count()).select_from(ListingPlacement).where(
                func.ST_Y(ListingPlacement.point).between(south, north),
                func.ST_X(ListingPlacement.point).between(west, east),
            )
        )
    # Every open listing is counted once, in one cluster: the clusters are real counts.
    assert in_france > LISTINGS * 0.95 and sum(counts) == in_france
    assert 4 <= len(counts) <= 200


def test_zoomed_in_on_a_crowded_town_listings_cluster_past_the_cap(app, client, france):
    # The first author's town at street level holds more listings than the cap.
    plan = france
    densest = LatLon(float(plan.data.author_lat[0]), float(plan.data.author_lon[0]))
    box = Box.around(densest, 3_000)
    html = _markers(client, box, lat=densest.lat, lon=densest.lon)
    assert len(html.encode()) < FRAGMENT_BUDGET_BYTES, len(html.encode())
    # Grouped; only cells that hold a single ad show it as its own marker (issue 15).
    assert 'data-cluster="' in html

    # Zoomed in further, around one listing: a handful of listings, shown one by one.
    listing = LatLon(float(plan.data.lat[0]), float(plan.data.lon[0]))
    html = _markers(client, Box.around(listing, 100), lat=listing.lat, lon=listing.lon)
    assert 0 < html.count('data-id="') <= app.config["MAP_MARKER_CAP"]
    assert 'data-cluster="' not in html

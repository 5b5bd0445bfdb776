"""The mile's list, newest first, page after page, is exactly what a brute-force reading of
every listing says: all the open listings within 1609.344 m of the mile's centre, each once,
ordered by date — across the grid cells it is read from, at cell edges, and near the pole
where it falls back to the spatial index alone."""

from __future__ import annotations

import random

import pytest
from conftest import insert_open_offers

from onemile.extensions import db
from onemile.geo import GRID_DEGREES, LatLon, destination, grid_cell, grid_cells_within, haversine_m
from onemile.listings.services import PAGE_SIZE, SearchFilters, search_mile
from onemile.models import Listing

MILE = 1609.344


def _every_page(center: LatLon) -> list[tuple[int, float]]:
    found, cursor, pages = [], None, 0
    while True:
        page, cursor = search_mile(center, SearchFilters(), cursor)
        assert len(page) <= PAGE_SIZE
        found += [(item.listing.id, item.distance_m) for item in page]
        pages += 1
        assert pages < 100, "the pages never end"
        if cursor is None:
            return found


@pytest.mark.parametrize("center", [
    LatLon(47.7508, 7.3359),  # Mulhouse
    # On a cell corner: the mile is read from cells on every side of it.
    LatLon(47.75, 7.34),
    LatLon(-33.8688, 151.2093),  # Sydney: negative latitudes
    LatLon(89.99, 10.0),  # near the pole: too many cells, the spatial index alone
    LatLon(0.001, 179.999),  # the antimeridian
], ids=["mulhouse", "cell-corner", "sydney", "pole", "antimeridian"])
def test_the_mile_list_is_every_open_listing_within_a_mile_newest_first(app, ctx, center):
    rng = random.Random(f"{center.lat},{center.lon}")
    # Inside, near the edge (on both sides: 20 m, more than the sphere used here and the
    # spheroid the databases use can disagree by at a mile) and outside the mile.
    distances = ([rng.uniform(0, 1500) for _ in range(45)] + [MILE - 20, MILE + 20] * 5
                 + [rng.uniform(1700, 4000) for _ in range(30)])
    points = [destination(center, rng.uniform(0, 360), metres) for metres in distances]
    points = [LatLon(p.lat, ((p.lon + 180) % 360) - 180) for p in points]
    ids = insert_open_offers(points)

    found = _every_page(center)
    listed_at = {listing.id: listing.created_at for listing in db.session.query(Listing)}
    expected = [lid for lid, point in zip(ids, points) if haversine_m(center, point) <= MILE]
    expected.sort(key=lambda lid: (listed_at[lid], lid), reverse=True)
    assert [lid for lid, _ in found] == expected
    for (lid, distance), point in zip(found, (points[ids.index(lid)] for lid, _ in found)):
        assert distance == pytest.approx(haversine_m(center, point), abs=15)


def test_grid_cells_cover_the_mile_and_no_more_than_it_touches():
    rng = random.Random(7)
    for _ in range(200):
        center = LatLon(rng.uniform(-70, 70), rng.uniform(-180, 180))
        cells = set(grid_cells_within(center, MILE))
        for _ in range(50):
            inside = destination(center, rng.uniform(0, 360), MILE * rng.random() ** 0.5)
            inside = LatLon(inside.lat, ((inside.lon + 180) % 360) - 180)
            assert grid_cell(inside) in cells, (center, inside)
        # A cell is at most GRID_DEGREES wide: the mile never needs more than its box of cells.
        assert len(cells) <= (2 * MILE / 111_000 / GRID_DEGREES + 2) * (2 * MILE / (111_000 * 0.34) / GRID_DEGREES + 2)
    assert grid_cells_within(LatLon(89.99, 0), MILE) is None

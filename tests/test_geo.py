"""Geography helpers: parsing, offsets, bands (no database) and the spatial queries on both
backends, including the proof that each hot query uses its spatial index."""

import math
import random

import pytest
from conftest import insert_open_offers
from sqlalchemy import select

from onemile.config import MILE_METRES
from onemile.extensions import db
from onemile.geo import (
    InvalidCoordinates,
    LatLon,
    destination,
    dialect_of,
    haversine_m,
    nearest,
    stable_offset,
    within_metres,
)
from onemile.models import ListingPlacement

MULHOUSE = LatLon(47.7508, 7.3359)


@pytest.mark.parametrize(
    "lat, lon",
    [(91, 0), (-90.5, 0), (0, 180.01), (0, -181), ("abc", 1), (None, 2), ("nan", 0), (0, "inf"), ("", "")],
)
def test_latlon_parse_refuses_points_off_the_globe(lat, lon):
    with pytest.raises(InvalidCoordinates):
        LatLon.parse(lat, lon)


def test_latlon_parse_accepts_strings_and_edges():
    assert LatLon.parse("47.75", "7.33") == LatLon(47.75, 7.33)
    assert LatLon.parse(" 47,75 ", "7,33") == LatLon(47.75, 7.33)
    assert LatLon.parse(-90, 180) == LatLon(-90.0, 180.0)


def test_destination_and_haversine_agree():
    for bearing in (0, 45, 90, 200, 359):
        moved = destination(MULHOUSE, bearing, 1234.5)
        assert haversine_m(MULHOUSE, moved) == pytest.approx(1234.5, abs=0.5)


def test_stable_offset_is_stable_and_inside_its_ring():
    seen = set()
    for key in range(200):
        shifted = stable_offset(MULHOUSE, "secret", f"mile:{key}", 150, 300)
        assert shifted == stable_offset(MULHOUSE, "secret", f"mile:{key}", 150, 300)
        assert 149.5 <= haversine_m(MULHOUSE, shifted) <= 300.5
        seen.add(shifted)
    assert len(seen) == 200
    # Another secret gives other points: the offset cannot be undone without it.
    assert stable_offset(MULHOUSE, "other", "mile:1", 150, 300) != stable_offset(MULHOUSE, "secret", "mile:1", 150, 300)


def test_stable_offsets_do_not_average_back_to_the_centre_by_bearing_bias():
    bearings = []
    for key in range(400):
        p = stable_offset(MULHOUSE, "secret", f"k{key}", 150, 300)
        bearings.append(math.atan2(p.lon - MULHOUSE.lon, p.lat - MULHOUSE.lat))
    # Bearings spread over the whole circle (each quadrant gets a fair share).
    quadrants = [sum(1 for b in bearings if q * math.pi / 2 - math.pi <= b < (q + 1) * math.pi / 2 - math.pi) for q in range(4)]
    assert min(quadrants) > 60


def _seed_points(app, points):
    return insert_open_offers(points)


def _ids_within(center, metres):
    dialect = dialect_of(db.session)
    stmt = select(ListingPlacement.listing_id).where(
        within_metres(dialect, ListingPlacement.point, ListingPlacement.id, center, metres)
    )
    return set(db.session.scalars(stmt))


def test_within_the_mile_is_exact_at_the_edge(app, ctx):
    inside = [destination(MULHOUSE, b, 1560) for b in (0, 90, 180, 270)]
    outside = [destination(MULHOUSE, b, 1660) for b in (45, 135, 225, 315)]
    ids = _seed_points(app, inside + outside)
    assert _ids_within(MULHOUSE, MILE_METRES) == set(ids[:4])


def test_within_works_across_the_antimeridian_and_near_a_pole(app, ctx):
    east = LatLon(10.0, 179.995)
    west = LatLon(10.0, -179.995)  # about 1.1 km from `east`, across the antimeridian
    east_friend = LatLon(10.0, 179.999)  # on east's side: SpatiaLite's other search frame
    pole = LatLon(89.995, 0.0)
    pole_friend = LatLon(89.995, 120.0)  # about 1.0 km away, far in longitude
    ids = _seed_points(app, [west, pole_friend, east_friend])
    assert _ids_within(east, MILE_METRES) == {ids[0], ids[2]}
    assert _ids_within(west, MILE_METRES) == {ids[0], ids[2]}
    assert _ids_within(pole, MILE_METRES) == {ids[1]}


@pytest.mark.parametrize(
    "centre",
    [MULHOUSE, LatLon(69.65, 18.96), LatLon(-17.7, 179.97), LatLon(89.8, 40.0)],
    ids=["mulhouse", "tromso", "fiji-antimeridian", "near-the-pole"],
)
def test_nearest_matches_brute_force(app, ctx, centre):
    # Far north a degree of longitude is short: lon/lat distance (PostGIS's geometry KNN)
    # ranks points otherwise than metres do, which the reach then corrects. Across the
    # antimeridian and at the pole, the geography KNN answers.
    rng = random.Random(7)
    points = [destination(centre, rng.uniform(0, 360), rng.uniform(10, 40_000)) for _ in range(60)]
    ids = _seed_points(app, points)
    here = destination(centre, 30, 2500)
    base = select(ListingPlacement.listing_id)
    rows = nearest(db.session, base, ListingPlacement.point, ListingPlacement.id, here, 5)
    expected = sorted(zip(ids, points), key=lambda pair: haversine_m(here, pair[1]))[:5]
    assert [row.listing_id for row in rows] == [lid for lid, _ in expected]
    for row, (_, point) in zip(rows, expected):
        # Spheroid (database) and sphere (haversine) distances differ by well under 1 %.
        assert row.distance_m == pytest.approx(haversine_m(here, point), rel=0.01)


def test_nearest_finds_far_away_points_when_none_is_close(app, ctx):
    far = [LatLon(-33.86, 151.21), LatLon(40.71, -74.0)]  # Sydney, New York
    ids = _seed_points(app, far)
    rows = nearest(db.session, select(ListingPlacement.listing_id), ListingPlacement.point,
                   ListingPlacement.id, MULHOUSE, 5)
    assert [row.listing_id for row in rows] == [ids[1], ids[0]]

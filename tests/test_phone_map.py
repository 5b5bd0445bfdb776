"""Markers and groups that read well on a phone (issue 15, item 3): what the markers fragment
sends. Every test runs on SpatiaLite and PostGIS."""

from __future__ import annotations

import re

from helpers import html, logged_in

from onemile.extensions import db
from onemile.geo import Box, destination
from onemile.models import Member

HX = {"HX-Request": "true"}


def _symbols(page: str) -> tuple[int, int]:
    """(individual markers, groups) in a markers fragment."""
    return page.count('data-id="'), len(re.findall(r'data-cluster="(\d+)"', page))


def _box_query(box: Box) -> str:
    return f"south={box.south}&west={box.west}&north={box.north}&east={box.east}"


def _centre(app, member):
    with app.app_context():
        return db.session.get(Member, member.id).primary_mile.center_latlon


def test_switching_a_layer_off_never_draws_more_symbols(make_app):
    """Eight ads at one meeting place, past a cap of five: one group. With offers off, the four
    requests left are under the cap, yet they stay a group: the symbols never multiply."""
    from conftest import Factory

    app = make_app(MAP_MARKER_CAP=5)
    factory = Factory(app)
    anne = factory.member(first_name="Anne")
    here = destination(_centre(app, anne), 90, 400)
    for i in range(4):
        factory.listing(anne, kind="request", offer_type=None, title=f"Demande {i}", location_mode="meeting_place", meeting_point=here)
        factory.listing(anne, title=f"Offre {i}", location_mode="meeting_place", meeting_point=here)
    client = logged_in(app, factory.member(first_name="Bruno"))
    query = "/map/markers?" + _box_query(Box.around(here, 1609))
    both = html(client.get(query, headers=HX))
    assert _symbols(both) == (0, 1) and 'data-cluster="8"' in both
    client.post("/map/layers", data={"layer": ["requests"]})
    requests_only = html(client.get(query, headers=HX))
    assert _symbols(requests_only) == (0, 1) and 'data-cluster="4"' in requests_only
    assert 'data-layer="requests"' in requests_only  # coloured by its (only) layer


def test_a_crowded_map_shows_lone_ads_as_markers_and_groups_by_their_main_layer(make_app):
    from conftest import Factory

    app = make_app(MAP_MARKER_CAP=3)
    factory = Factory(app)
    anne = factory.member(first_name="Anne")
    crowd = destination(_centre(app, anne), 0, 300)
    alone = destination(crowd, 180, 1200)
    for i in range(3):
        factory.listing(anne, kind="request", offer_type=None, title=f"Demande {i}", location_mode="meeting_place", meeting_point=crowd)
    factory.listing(anne, title="Offre du groupe", location_mode="meeting_place", meeting_point=crowd)
    factory.listing(anne, title="Perceuse seule", category="diy", location_mode="meeting_place", meeting_point=alone)
    client = logged_in(app, factory.member(first_name="Bruno"))
    page = html(client.get("/map/markers?" + _box_query(Box.around(crowd, 1609)), headers=HX))
    # Past the cap, grouped: the four at one place are one badge of the requests' colour; the
    # lone drill is its own marker, with its category for a symbol.
    assert _symbols(page) == (1, 1), page
    assert re.search(r'data-cluster="4" data-layer="requests"', page)
    marker = page[page.index('data-id="'):]
    assert 'data-icon="diy"' in marker[: marker.index(">")] and "Perceuse seule" in marker


def test_under_the_cap_every_ad_is_a_marker_with_its_category(app, factory):
    anne = factory.member(first_name="Anne")
    here = destination(_centre(app, anne), 45, 200)
    factory.listing(anne, title="Cours de guitare", category="lessons", location_mode="meeting_place", meeting_point=here)
    factory.listing(anne, title="Covoiturage", category="carpooling", location_mode="meeting_place", meeting_point=here)
    client = logged_in(app, factory.member(first_name="Bruno"))
    page = html(client.get("/map/markers?" + _box_query(Box.around(here, 1609)), headers=HX))
    assert _symbols(page) == (2, 0)
    assert 'data-icon="lessons"' in page and 'data-icon="carpooling"' in page

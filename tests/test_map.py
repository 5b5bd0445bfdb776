"""The map page, its fragments, layers and the visitors' read-only map."""

import re

import pytest
from helpers import assert_see_other
from test_privacy_crawl import leaks

from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.models import Member, Mile
from onemile.privacy import farthest_offset_m

HX = {"HX-Request": "true"}


def _coords(html: str, attr: str) -> list[LatLon]:
    pairs = re.findall(rf'{attr}-lat="([-\d.]+)"[^>]*{attr}-lon="([-\d.]+)"', html)
    return [LatLon(float(a), float(b)) for a, b in pairs]


def _marker_points(html: str) -> list[LatLon]:
    return [LatLon(float(a), float(b)) for a, b in re.findall(r'data-lat="([-\d.]+)" data-lon="([-\d.]+)"', html)]


def test_map_needs_login(client):
    response = client.get("/map")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_map_shows_my_mile_and_the_nearest_panel(client, auth, factory):
    anne = factory.member(first_name="Anne")
    factory.listing(anne, title="Prête une perceuse")
    auth.login(anne)
    html = client.get("/map").get_data(as_text=True)
    assert 'id="map"' in html and 'data-radius="1609.344"' in html
    assert "Mulhouse" in html
    assert "Prête une perceuse" in html
    assert 'id="nearest"' in html and 'id="markers"' in html


@pytest.mark.parametrize("path", ["/map/markers", "/map/nearest"])
def test_fragments_with_and_without_htmx(client, auth, factory, path):
    anne = factory.member()
    factory.listing(anne, title="Cours de guitare")
    auth.login(anne)
    fragment = client.get(path, headers=HX)
    page = client.get(path)
    for response in (fragment, page):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
        assert "Cours de guitare" in response.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    # A boosted or history-restore request needs the whole page.
    boosted = client.get(path, headers={**HX, "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    restore = client.get(path, headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_second_member_sees_the_offer_as_marker_and_in_nearest(client, auth, factory):
    anne = factory.member(first_name="Anne")
    bruno = factory.member(first_name="Bruno", postal_code="68200")
    listing_id = factory.listing(anne, title="Donne un canapé")
    auth.login(bruno)
    markers = client.get("/map/markers", headers=HX).get_data(as_text=True)
    assert f'data-id="offers-{listing_id}"' in markers and "Donne un canapé" in markers
    nearest = client.get("/map/nearest", headers=HX).get_data(as_text=True)
    assert "Donne un canapé" in nearest


def test_nearest_follows_the_avatar(client, auth, factory, app):
    anne = factory.member()
    with app.test_request_context():
        from onemile.miles.services import add_mile

        far = add_mile(db.session.get(Member, anne.id), "Strasbourg", LatLon(48.5734, 7.7521)).id
        db.session.commit()
    factory.listing(anne, title="Près de Mulhouse")
    factory.listing(anne, title="Près de Strasbourg", mile_ids=(far,))
    auth.login(anne)
    here = client.get("/map/nearest?lat=47.75&lon=7.34", headers=HX).get_data(as_text=True)
    there = client.get("/map/nearest?lat=48.57&lon=7.75", headers=HX).get_data(as_text=True)
    assert here.index("Près de Mulhouse") < here.index("Près de Strasbourg")
    assert there.index("Près de Strasbourg") < there.index("Près de Mulhouse")


def test_nearest_shows_at_most_five_and_distance_bands(client, auth, factory):
    anne = factory.member()
    for i in range(7):
        factory.listing(anne, title=f"Annonce {i}")
    auth.login(anne)
    html = client.get("/map/nearest", headers=HX).get_data(as_text=True)
    assert html.count("<li") == 5
    assert re.search(r"\d+[ \u00a0]k?m\b", html)
    assert not re.search(r"\b\d{3,4}\.\d+[ \u00a0]?m\b", html), "exact distances must never be shown"


def test_markers_are_never_at_the_authors_mile_centre(client, auth, factory, app):
    anne = factory.member()
    bruno = factory.member(postal_code="68400")  # Riedisheim, next to Mulhouse
    for i in range(5):
        factory.listing(anne, title=f"Objet {i}")
    with app.test_request_context():
        centre = db.session.get(Mile, anne.mile_id).center_latlon
    auth.login(bruno)
    html = client.get("/map/markers?south=47.7&west=7.25&north=47.8&east=7.4", headers=HX).get_data(as_text=True)
    points = _marker_points(html)
    assert len(points) == 5
    with app.app_context():
        farthest = farthest_offset_m(centre)
    for point in points:
        assert 150 <= haversine_m(centre, point) <= farthest
    page = client.get("/map?south=47.7&west=7.3&north=47.8&east=7.4").get_data(as_text=True)
    assert not leaks(page, [centre])


def test_layers_are_remembered_and_filter_markers(client, auth, factory, app):
    anne = factory.member()
    factory.listing(anne, kind="request", title="Cherche une échelle", offer_type=None)
    factory.listing(anne, kind="offer", title="Donne des livres")
    auth.login(anne)
    response = client.post("/map/layers", data={"layer": ["requests", "mags"]}, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "layers-changed"
    assert "<html" not in response.get_data(as_text=True)
    with app.test_request_context():
        assert db.session.get(Member, anne.id).map_layers == "requests,mags"
    markers = client.get("/map/markers", headers=HX).get_data(as_text=True)
    assert "Cherche une échelle" in markers and "Donne des livres" not in markers
    nearest = client.get("/map/nearest", headers=HX).get_data(as_text=True)
    assert "Cherche une échelle" in nearest and "Donne des livres" not in nearest
    # Without JavaScript the form posts normally and comes back to the map.
    response = client.post("/map/layers", data={"layer": ["offers"]}, headers={"Referer": "http://localhost/map"})
    assert_see_other(response, "/map")
    markers = client.get("/map/markers", headers=HX).get_data(as_text=True)
    assert "Donne des livres" in markers and "Cherche une échelle" not in markers


def test_layers_without_data_answer_an_empty_fragment(client, auth, factory):
    anne = factory.member()
    factory.listing(anne, title="Donne des livres")
    auth.login(anne)
    client.post("/map/layers", data={"layer": ["projects", "mags"]})
    markers = client.get("/map/markers", headers=HX)
    assert markers.status_code == 200
    assert 'data-count="0"' in markers.get_data(as_text=True)
    assert "Donne des livres" not in client.get("/map/nearest", headers=HX).get_data(as_text=True)


def test_unknown_layers_are_ignored(client, auth, factory, app):
    anne = factory.member()
    auth.login(anne)
    client.post("/map/layers", data={"layer": ["offers", "<script>", "x" * 5000]})
    with app.test_request_context():
        assert db.session.get(Member, anne.id).map_layers == "offers"


def _member_with_five_ads(app):
    """A logged-in client of a neighbour (same mile) of a member who posted five ads around
    her mile's centre, and the neighbour (a member's own ads always come one by one)."""
    from conftest import AuthActions, Factory

    factory = Factory(app)
    anne = factory.member()
    for i in range(5):
        factory.listing(anne, title=f"Objet {i}")
    bruno = factory.member(first_name="Bruno")
    client = app.test_client()
    AuthActions(client).login(bruno)
    return client, bruno


def test_past_the_marker_cap_listings_come_as_clusters(make_app):
    client, _ = _member_with_five_ads(make_app(MAP_MARKER_CAP=3))
    html = client.get("/map/markers", headers=HX).get_data(as_text=True)
    # Grouped per cell; a cell holding a single ad shows that ad's own marker (issue 15).
    grouped = [int(n) for n in re.findall(r'data-cluster="(\d+)"', html)]
    assert grouped and min(grouped) >= 2
    assert sum(grouped) + html.count('data-id="') == 5
    assert "zoom" in html.lower()  # "zoom in" / "zoomez"


def test_the_first_view_groups_a_crowded_mile_and_a_moved_map_uses_the_whole_cap(make_app):
    """The page's first view shows the mile in a few hundred pixels: past MAP_FIRST_VIEW_CAP
    ads it groups their crowded spots; the box the map sends once moved keeps MAP_MARKER_CAP."""
    from onemile.geo import Box

    app = make_app(MAP_FIRST_VIEW_CAP=3, MAP_MARKER_CAP=10)
    client, bruno = _member_with_five_ads(app)
    first = client.get("/map").get_data(as_text=True)
    grouped = [int(n) for n in re.findall(r'data-cluster="(\d+)"', first)]
    assert grouped and sum(grouped) + len(re.findall(r'<li data-id="', first)) == 5
    with app.app_context():
        mile = db.session.get(Member, bruno.id).miles[0]
        box = Box.around(mile.center_latlon)
    moved = client.get(f"/map/markers?south={box.south}&west={box.west}&north={box.north}&east={box.east}",
                       headers=HX).get_data(as_text=True)
    assert "data-cluster" not in moved
    assert len(re.findall(r'<li data-id="', moved)) == 5


def test_a_members_own_ads_always_come_one_by_one_at_their_public_points(make_app):
    """Who just posted sees their ads on their map at once: past the cap (the page's first
    view, a moved map, zoomed out) the viewer's own ads come as markers, never counted in a
    group, drawn at the public points everyone else gets; others still see them grouped."""
    from conftest import Factory
    from helpers import logged_in
    from sqlalchemy import select

    from onemile.geo import Box, destination, latlon_columns
    from onemile.models import ListingPlacement

    app = make_app(MAP_FIRST_VIEW_CAP=3, MAP_MARKER_CAP=3)
    factory = Factory(app)
    anne, bruno = factory.member(first_name="Anne"), factory.member(first_name="Bruno")
    with app.app_context():
        here = destination(db.session.get(Member, anne.id).primary_mile.center_latlon, 45, 300)
    spot = {"location_mode": "meeting_place", "meeting_point": here}
    for i in range(6):
        factory.listing(bruno, title=f"Voisin {i}", **spot)
    mine = {factory.listing(anne, title=f"Mon annonce {i}", **spot) for i in range(2)}
    with app.app_context():
        lat, lon = latlon_columns(ListingPlacement.point)
        public = {(row.listing_id, round(row.lat, 6), round(row.lon, 6)) for row in db.session.execute(
            select(ListingPlacement.listing_id, lat, lon).where(ListingPlacement.listing_id.in_(mine)))}
    own_marker = re.compile(r'<li data-id="offers-(\d+)"[^>]* data-lat="([-\d.]+)" data-lon="([-\d.]+)" data-own="1"')
    moved = Box.around(here, 1609)
    zoomed_out = Box.around(here, 30_000)
    pages = {
        "first view": "/map",
        "moved map": f"/map/markers?south={moved.south}&west={moved.west}&north={moved.north}&east={moved.east}",
        "zoomed out": f"/map/markers?south={zoomed_out.south}&west={zoomed_out.west}&north={zoomed_out.north}&east={zoomed_out.east}",
    }
    chloe = factory.member(first_name="Chloe")
    for client, own in ((logged_in(app, anne), True), (logged_in(app, chloe), False)):
        for name, path in pages.items():
            page = client.get(path, headers=HX if "markers" in path else {}).get_data(as_text=True)
            drawn = {(int(i), float(a), float(b)) for i, a, b in own_marker.findall(page)}
            grouped = sum(int(n) for n in re.findall(r'data-cluster="(\d+)"', page))
            singles = len(re.findall(r'<li data-id="offers-', page))
            if own:
                assert drawn == public, (name, page)  # every one, at its public point
                assert grouped and grouped + singles == 8, name  # the neighbour's, grouped
                assert "Mon annonce 0" in page and "Mon annonce 1" in page
            else:
                assert not drawn and grouped + singles == 8 and grouped >= 6, name


def test_a_dense_mile_comes_as_a_few_groups_a_finger_can_tell_apart_at_first_sight(make_app):
    """A town's mile at 1M ads holds thousands: the first view (the mile in a few hundred
    pixels) groups them on a grid half as fine as a moved map's, a few dozen groups instead
    of hundreds of badges piled on one another."""
    import random

    from conftest import AuthActions, Factory, insert_open_offers
    from test_geo import destination

    from onemile.geo import Box

    app = make_app(MAP_FIRST_VIEW_CAP=10, MAP_MARKER_CAP=10)
    factory = Factory(app)
    anne = factory.member()
    with app.app_context():
        centre = db.session.get(Member, anne.id).miles[0].center_latlon
    rng = random.Random(3)
    with app.app_context():
        insert_open_offers([destination(centre, rng.uniform(0, 360), 1600 * rng.random() ** 0.5) for _ in range(600)])
    client = app.test_client()
    AuthActions(client).login(anne)
    first = client.get("/map").get_data(as_text=True)
    box = Box.around(centre)
    moved = client.get(f"/map/markers?south={box.south}&west={box.west}&north={box.north}&east={box.east}",
                       headers=HX).get_data(as_text=True)
    first_groups, moved_groups = (re.findall(r'data-cluster="(\d+)"', page) for page in (first, moved))
    shown = [sum(map(int, groups)) + len(re.findall(r'<li data-id="offers-', page))
             for page, groups in ((first, first_groups), (moved, moved_groups))]
    # The first view accounts for every ad, in a few dozen groups; a moved map's grid has
    # four times the cells (and shows at most the cap of single ads).
    assert shown[0] == 600 and shown[1] <= 600
    assert len(first_groups) <= 9 * 17 and 2 * len(first_groups) < len(moved_groups)


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ("south=abc&west=1&north=2&east=3", ("/map", "/map/markers")),  # not a number
        ("south=91&west=0&north=92&east=1", ("/map", "/map/markers")),  # off the globe
        ("south=10&west=0&north=5&east=1", ("/map", "/map/markers")),  # south above north
        ("lat=999&lon=0", ("/map", "/map/markers", "/map/nearest")),
        ("lat=nan&lon=inf", ("/map", "/map/markers", "/map/nearest")),
    ],
)
def test_a_malformed_map_box_or_point_is_refused_with_a_clear_message(client, auth, factory, query, paths):
    anne = factory.member()
    factory.listing(anne, title="Donne un vélo")
    auth.login(anne)
    for path in paths:
        for headers in (HX, {}):
            response = client.get(f"{path}?{query}", headers=headers)
            assert response.status_code == 400, (path, query, headers)
            page = response.get_data(as_text=True)
            assert "(south, west, north, east)" in page or "(lat, lon)" in page  # which, in either language
            assert "Donne un vélo" not in page, "no other place shown instead"
    visitor = client.application.test_client()
    assert visitor.get(f"/explore?{query}").status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "south=47.7&west=7.2&north=47.8",  # a side missing: no box, the mile's
        "lat=47.75",  # half a point: none, the mile's centre
        "mile=999999",  # not my mile: my primary one
        "mile=abc",
        "",
    ],
)
def test_missing_map_parameters_keep_their_defaults(client, auth, factory, query):
    anne = factory.member()
    factory.listing(anne, title="Donne un vélo")
    auth.login(anne)
    for path in ("/map", "/map/markers", "/map/nearest"):
        response = client.get(f"{path}?{query}", headers=HX)
        assert response.status_code == 200, (path, query)
        assert "Donne un vélo" in response.get_data(as_text=True), (path, query)


def test_box_query_finds_markers_far_from_my_mile(client, auth, factory, app):
    anne = factory.member()
    bruno = factory.member(postal_code="67000")  # Strasbourg
    factory.listing(bruno, title="Vélo à Strasbourg")
    auth.login(anne)
    near_home = client.get("/map/markers", headers=HX).get_data(as_text=True)
    assert "Vélo à Strasbourg" not in near_home
    box = "south=48.5&west=7.6&north=48.7&east=7.9"
    assert "Vélo à Strasbourg" in client.get(f"/map/markers?{box}", headers=HX).get_data(as_text=True)


def test_user_text_is_escaped_in_every_map_output(client, auth, factory):
    anne = factory.member()
    factory.listing(anne, title='<img src=x onerror="alert(1)">')
    auth.login(anne)
    for path in ("/map", "/map/markers", "/map/nearest"):
        html = client.get(path, headers=HX).get_data(as_text=True)
        assert "<img src=x" not in html
        assert "&lt;img src=x" in html


def test_visitors_get_a_read_only_map_without_names(client, factory):
    anne = factory.member(first_name="Anneliese", last_name="Zimmermann")
    listing_id = factory.listing(anne, title="Donne une table")
    html = client.get("/explore?lat=47.7508&lon=7.3359").get_data(as_text=True)
    assert "Donne une table" in html
    assert "Anneliese" not in html and "Zimmermann" not in html
    # The ad's links lead to sign-up, which then leads to the ad (tests/test_auth.py).
    assert html.count(f'href="/auth/signup?next=/listings/{listing_id}"') == 2  # its marker and its line
    assert 'href="/listings/' not in html, "visitors get no link to member-only pages"
    assert 'action="/listings/new"' not in html
    fragment = client.get("/map/nearest?lat=47.7508&lon=7.3359", headers=HX).get_data(as_text=True)
    assert "Donne une table" in fragment and "Anneliese" not in fragment


def test_visitors_pick_a_place_by_postal_code(client):
    response = client.get("/explore?postal_code=67000&country=FR")
    assert response.status_code == 302
    assert "lat=48.5" in response.headers["Location"]
    # The map shown says which place it is: the search field keeps the place's name.
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="place"[^>]*value="Strasbourg[^"]*"|<input[^>]*value="Strasbourg[^"]*"[^>]*name="place"', shown)
    unknown = client.get("/explore?postal_code=00000&country=FR")
    assert unknown.status_code == 422
    assert 'aria-invalid="true"' in unknown.get_data(as_text=True)


def test_visitors_layers_live_in_their_session(client, factory):
    anne = factory.member()
    factory.listing(anne, title="Donne une table")
    client.post("/map/layers", data={"layer": ["requests"]})
    html = client.get("/map/markers?lat=47.7508&lon=7.3359", headers=HX).get_data(as_text=True)
    assert "Donne une table" not in html


def test_home_sends_members_to_their_map(client, auth, factory):
    assert b"1Mile" in client.get("/").data
    auth.login(factory.member())
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/map")

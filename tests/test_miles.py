"""Miles, on both backends: add (at most 5), rename, move (listings move along), make
primary, delete (never the last; orphaned listings move to the primary mile), bad input,
and other members' miles (404, nothing changed).

Members are created with `language="en"` and pages asked in English, so the assertions on
messages hold whatever the French catalog says.
"""

from __future__ import annotations

import pytest
from helpers import assert_see_other, html
from sqlalchemy import select

from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.miles.services import add_mile as add_mile_service
from onemile.models import MAX_MILES, ListingPlacement, Member, Mile
from onemile.privacy import farthest_offset_m

MULHOUSE = LatLon(47.75, 7.33333)
ILLZACH = LatLon(47.7818, 7.3465)
BAD_POINTS = (
    ("91", "7.3"),
    ("-91", "7.3"),
    ("47.7", "181"),
    ("47.7", "-180.5"),
    ("abc", "7.3"),
    ("47.7", "x"),
    ("nan", "7.3"),
    ("47.7", "NaN"),
    ("inf", "7.3"),
    ("47.7", "-inf"),
    ("1e400", "0"),
    ("sNaN", "0"),
    ("", "7.3"),
    ("47.7", ""),
)


@pytest.fixture
def member(app, client, factory, auth):
    """A logged-in member (pages in English) with one mile around Mulhouse."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    ref = factory.member(language="en")
    assert auth.login(ref).status_code == 303
    return ref


def miles_of(app, member_id: int) -> list[dict]:
    """The member's miles as plain values, read in a fresh session."""
    with app.app_context():
        rows = db.session.scalars(select(Mile).where(Mile.member_id == member_id).order_by(Mile.id))
        return [
            {"id": m.id, "name": m.name, "primary": m.is_primary, "center": m.center_latlon}
            for m in rows
        ]


def placements_of(app, listing_id: int) -> dict[int, LatLon]:
    """mile id -> public point of each placement of a listing."""
    with app.app_context():
        rows = db.session.scalars(
            select(ListingPlacement).where(ListingPlacement.listing_id == listing_id)
        )
        return {p.mile_id: p.latlon for p in rows}


def add_mile(client, name: str, point: LatLon):
    return client.post(
        "/miles/", data={"name": name, "latitude": str(point.lat), "longitude": str(point.lon)}
    )


def flashed_error(client, response) -> str:
    """Follow a redirect back to the miles page and return its error flash."""
    assert_see_other(response)
    page = html(client.get(response.headers["Location"]))
    marker = 'class="flash flash-error">'
    assert marker in page, "an error must be shown"
    return page.split(marker, 1)[1].split("</p>", 1)[0]


def test_add_up_to_five_miles_then_a_clear_refusal(app, client, member):
    for i in range(2, MAX_MILES + 1):
        response = add_mile(client, f"Mile {i}", LatLon(47.75 + i / 100, 7.33))
        assert_see_other(response)  # i
    miles = miles_of(app, member.id)
    assert len(miles) == MAX_MILES
    assert [m["primary"] for m in miles] == [True] + [False] * (MAX_MILES - 1)
    assert haversine_m(miles[-1]["center"], LatLon(47.80, 7.33)) < 1

    refused = add_mile(client, "One too many", ILLZACH)
    assert refused.status_code == 422
    assert f"You already have {MAX_MILES} miles, the most allowed." in html(refused)
    assert miles_of(app, member.id) == miles


def test_add_refuses_bad_names_and_points(app, client, member):
    before = miles_of(app, member.id)
    for name in ("", "   ", "x" * 10_000):
        response = add_mile(client, name, ILLZACH)
        assert response.status_code == 422, name[:10]
        assert 'class="error"' in html(response)
    for lat, lon in BAD_POINTS:
        response = client.post("/miles/", data={"name": "Work", "latitude": lat, "longitude": lon})
        assert response.status_code == 422, (lat, lon)
        assert 'class="error"' in html(response), (lat, lon)
    assert 'value="Work"' in html(response), "what was typed is kept"
    assert miles_of(app, member.id) == before


def test_rename_a_mile_and_refuse_bad_names(app, client, member):
    response = client.post(f"/miles/{member.mile_id}/rename", data={"name": "  Chez   moi  "})
    assert_see_other(response)
    assert miles_of(app, member.id)[0]["name"] == "Chez moi"

    for name in ("", "   ", "x" * 10_000):
        response = client.post(f"/miles/{member.mile_id}/rename", data={"name": name})
        assert flashed_error(client, response)
    assert miles_of(app, member.id)[0]["name"] == "Chez moi"


def test_moving_a_mile_moves_its_listings(app, client, factory, member):
    with app.test_request_context():
        work = add_mile_service(db.session.get(Member, member.id), "Travail", ILLZACH).id
        db.session.commit()
    only_home = factory.listing(member)
    home_and_work = factory.listing(member, mile_ids=(member.mile_id, work))
    [old_point] = placements_of(app, only_home).values()
    assert haversine_m(old_point, MULHOUSE) > 50, "the public point is never the centre"
    work_point = placements_of(app, home_and_work)[work]
    new_center = LatLon(47.70, 7.25)

    response = client.post(
        f"/miles/{member.mile_id}/move",
        data={"latitude": str(new_center.lat), "longitude": str(new_center.lon)},
    )

    assert_see_other(response)
    assert haversine_m(miles_of(app, member.id)[0]["center"], new_center) < 1
    [new_point] = placements_of(app, only_home).values()
    assert new_point != old_point
    offset_min = app.config["PUBLIC_OFFSET_MIN_M"]
    with app.app_context():
        farthest = farthest_offset_m(new_center)
    for point in (new_point, placements_of(app, home_and_work)[member.mile_id]):
        assert offset_min <= haversine_m(point, new_center) <= farthest
        assert haversine_m(point, MULHOUSE) > 5000
    assert placements_of(app, home_and_work)[work] == work_point, "the other mile's point stays"


def test_move_refuses_points_off_the_globe(app, client, member):
    before = miles_of(app, member.id)
    for lat, lon in BAD_POINTS:
        response = client.post(
            f"/miles/{member.mile_id}/move", data={"latitude": lat, "longitude": lon}
        )
        assert flashed_error(client, response), (lat, lon)
    assert miles_of(app, member.id) == before


def test_make_primary_keeps_exactly_one(app, client, member):
    add_mile(client, "Travail", ILLZACH)
    first, second = miles_of(app, member.id)

    response = client.post(f"/miles/{second['id']}/primary")

    assert_see_other(response)
    assert [m["primary"] for m in miles_of(app, member.id)] == [False, True]
    assert "Travail" in html(client.get("/map")), "the map opens on the primary mile"
    client.post(f"/miles/{first['id']}/primary")
    assert [m["primary"] for m in miles_of(app, member.id)] == [True, False]


def test_delete_moves_orphaned_listings_and_never_removes_the_last_mile(
    app, client, factory, member
):
    add_mile(client, "Travail", ILLZACH)
    add_mile(client, "Parents", LatLon(47.80, 7.30))
    home, work, parents = (m["id"] for m in miles_of(app, member.id))
    only_work = factory.listing(member, title="Only at work", mile_ids=(work,))
    work_and_parents = factory.listing(member, title="Work and parents", mile_ids=(work, parents))
    only_home = factory.listing(member, title="Only at home", mile_ids=(home,))

    assert client.post(f"/miles/{work}/delete").status_code == 303
    assert [m["id"] for m in miles_of(app, member.id)] == [home, parents]
    assert set(placements_of(app, only_work)) == {home}, "moved to the primary mile"
    assert set(placements_of(app, work_and_parents)) == {parents}
    assert set(placements_of(app, only_home)) == {home}

    # Deleting the primary mile promotes the other one, and its listings follow.
    assert client.post(f"/miles/{home}/delete").status_code == 303
    [remaining] = miles_of(app, member.id)
    assert remaining["id"] == parents and remaining["primary"]
    for listing_id in (only_work, work_and_parents, only_home):
        assert set(placements_of(app, listing_id)) == {parents}, listing_id
    [point] = placements_of(app, only_home).values()
    assert haversine_m(point, remaining["center"]) < 400

    refused = client.post(f"/miles/{parents}/delete")
    assert "You cannot delete your only mile." in flashed_error(client, refused)
    assert miles_of(app, member.id) == [remaining]


def test_another_members_miles_are_out_of_reach(app, client, factory, member):
    other = factory.member(first_name="Other")
    factory.listing(other, title="Other's listing")
    # A second mile, so that deleting the other member's first one would otherwise be allowed.
    with app.test_request_context():
        add_mile_service(db.session.get(Member, other.id), "Second", ILLZACH)
        db.session.commit()
    before_other, before_mine = miles_of(app, other.id), miles_of(app, member.id)
    assert len(before_other) == 2

    for mile_id in (other.mile_id, before_other[1]["id"], 999_999):
        for action, data in (
            ("rename", {"name": "Hacked"}),
            ("move", {"latitude": "0", "longitude": "0"}),
            ("primary", {}),
            ("delete", {}),
        ):
            response = client.post(f"/miles/{mile_id}/{action}", data=data)
            assert response.status_code == 404, (mile_id, action)
    assert miles_of(app, other.id) == before_other
    assert miles_of(app, member.id) == before_mine


def test_miles_page_lists_my_miles_only(client, factory, member):
    factory.member(first_name="Other")
    page = client.get("/miles/")
    assert page.status_code == 200
    assert html(page).count('class="card" data-mile=') == 1


def test_mile_ids_out_of_range_are_not_found_not_errors(client, member):
    for mile_id in (2**31, 10**20):
        assert client.post(f"/miles/{mile_id}/rename", data={"name": "x"}).status_code == 404
        assert client.post(f"/miles/{mile_id}/delete").status_code == 404


def test_a_mile_can_be_moved_with_decimal_commas(client, auth, factory, app):
    """French keyboards type "47,76": it means 47.76, with or without JavaScript."""
    from onemile.extensions import db as _db
    from onemile.models import Mile

    anne = factory.member()
    auth.login(anne)
    response = client.post(f"/miles/{anne.mile_id}/move", data={"latitude": "47,76", "longitude": "7,35"})
    assert_see_other(response)
    with app.app_context():
        centre = _db.session.get(Mile, anne.mile_id).center_latlon
    assert (centre.lat, centre.lon) == (47.76, 7.35)

"""Places members publish (mags, projects) near their own miles, and the upgrade that
re-derived every public point (migration 0011)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations

from onemile.extensions import db
from onemile.geo import LatLon, destination, haversine_m
from onemile.models import ListingPlacement, Mag, Member, Mile, Project
from onemile.privacy import NEAR_MILE_M, listing_point

MAG = {"title": "Le journal du quartier", "kind": "person", "about": "Des nouvelles.", "cover_alt": ""}
PROJECT = {"title": "Une boîte à livres", "summary": "Des livres à partager.", "description": "Une boîte en bois.",
           "money_target": "", "charter": "y"}
FORMS = {"mag": ("/mags/new", MAG, Mag), "project": ("/projects/new", PROJECT, Project)}


def _centre(app, member) -> LatLon:
    with app.app_context():
        return db.session.get(Mile, member.mile_id).center_latlon


def _publish(app, client, kind: str, point: LatLon, public_place: bool = False):
    path, fields, model = FORMS[kind]
    data = {**fields, "latitude": str(point.lat), "longitude": str(point.lon)}
    if public_place:
        data["public_place"] = "y"
    response = client.post(path, data=data, follow_redirects=True)
    assert response.status_code == 200
    with app.app_context():
        newest = db.session.query(model).order_by(model.id.desc()).first()
        return newest.latlon, newest.id, response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["mag", "project"])
def test_a_place_near_ones_mile_is_shown_approximately_unless_public(app, client, auth, anne, kind):
    auth.login(anne)
    centre = _centre(app, anne)
    minimum = app.config["PUBLIC_OFFSET_MIN_M"]

    near_home = destination(centre, 70, 40)
    shown, _, page = _publish(app, client, kind, near_home)
    assert haversine_m(shown, centre) >= minimum, "published near home: shown approximately"
    assert "shown approximately" in page, "and the author is told so"

    shop = destination(centre, 200, 120)
    shown, _, page = _publish(app, client, kind, shop, public_place=True)
    assert haversine_m(shown, shop) < 0.1, "a public place the author confirms is exact"
    assert "shown approximately" not in page

    far = destination(centre, 10, NEAR_MILE_M + 400)
    shown, _, _ = _publish(app, client, kind, far)
    assert haversine_m(shown, far) < 0.1, "away from one's miles a place is shown as picked"


def test_editing_an_approximate_mag_keeps_its_point(app, client, auth, anne):
    """Saving the form again (the pin at the public point) publishes nothing new."""
    auth.login(anne)
    shown, mag_id, _ = _publish(app, client, "mag", _centre(app, anne))
    for _ in range(2):
        form = client.get(f"/mags/{mag_id}/edit").get_data(as_text=True)
        assert f'value="{shown.lat}"' in form
        client.post(f"/mags/{mag_id}/edit", data={**MAG, "title": "Nouveau titre",
                                                  "latitude": str(shown.lat), "longitude": str(shown.lon)})
        with app.app_context():
            assert db.session.get(Mag, mag_id).latlon == shown


def test_the_forms_start_empty_and_refuse_no_place(app, client, auth, anne):
    auth.login(anne)
    centre = _centre(app, anne)
    for path, fields, _ in FORMS.values():
        page = client.get(path).get_data(as_text=True)
        assert f"{centre.lat:.4f}" not in page and f"{centre.lon:.4f}" not in page
        response = client.post(path, data={**fields, "latitude": "", "longitude": ""})
        assert response.status_code == 422
        assert "Pick the place on the map" in response.get_data(as_text=True)


def _run_migration_0011(app):
    path = Path(__file__).parents[1] / "migrations" / "versions" / "0011_public_points.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        module.upgrade()


def test_the_upgrade_derives_every_public_point_again(app, factory):
    member = factory.member()
    listing_id = factory.listing(member)
    with app.test_request_context():
        owner = db.session.get(Member, member.id)
        centre = db.session.get(Mile, member.mile_id).center_latlon
        # As the old code left them: an ad at an offset keyed on the mile alone, a mag at the centre.
        placement = db.session.query(ListingPlacement).filter_by(listing_id=listing_id).one()
        placement.point = destination(centre, 33, 200).wkt()
        mag = Mag(owner_id=owner.id, title="t", about="a", kind="person", point=centre.wkt())
        shop = destination(centre, 90, 700)
        far_mag = Mag(owner_id=owner.id, title="u", about="b", kind="shop", point=shop.wkt())
        db.session.add_all([mag, far_mag])
        db.session.commit()
        mag_id, far_id = mag.id, far_mag.id
        db.session.remove()

        _run_migration_0011(app)

        placement = db.session.query(ListingPlacement).filter_by(listing_id=listing_id).one()
        assert placement.latlon == listing_point(member.id, centre, listing_id)
        assert haversine_m(db.session.get(Mag, mag_id).latlon, centre) >= app.config["PUBLIC_OFFSET_MIN_M"]
        assert haversine_m(db.session.get(Mag, far_id).latlon, shop) < 0.1, "a place chosen elsewhere stays"

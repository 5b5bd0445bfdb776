"""Share an ad (issue 16, item 5), on both backends: off by default, the author turns it on
and off, visitors read the public page behind an unguessable token with its area as a
band from a public place name, never a point; closed, expired, hidden, blocked or suspended
ads are gone or "no longer available"; nobody else can toggle it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import english, html, logged_in

from onemile import places
from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.listings.services import close_listing
from onemile.models import Listing, Member, Mile, utcnow
from onemile.moderation import services as moderation
from onemile.privacy import distance_band

NUMBER = re.compile(r"-?\d{1,3}[.,]\d{4,}")
XSS = "<script>alert(1)</script>"


@pytest.fixture
def author(app, factory):
    return factory.member(language="en", first_name="Author")


def _share(app, author_ref, listing_id, on=True):
    client = logged_in(app, author_ref, language="en")
    response = client.post(f"/listings/{listing_id}/sharing", data={"share": "on" if on else "off"})
    assert response.status_code == 303
    with app.app_context():
        return db.session.get(Listing, listing_id).share_token


def _visitor(app):
    return english(app.test_client())


def test_sharing_is_off_by_default_and_the_author_turns_it_on(app, factory, author):
    listing_id = factory.listing(author, title="Lends a ladder", body="Three metres, " + XSS)
    page = html(logged_in(app, author, language="en").get(f"/listings/{listing_id}"))
    assert "Share this ad outside 1Mile" in page and "/listings/shared/" not in page
    with app.app_context():
        assert db.session.get(Listing, listing_id).share_token is None

    token = _share(app, author, listing_id)
    assert token and len(token) >= 20 and str(listing_id) != token
    page = html(logged_in(app, author, language="en").get(f"/listings/{listing_id}"))
    assert f"/listings/shared/{token}" in page and "Stop sharing" in page

    response = _visitor(app).get(f"/listings/shared/{token}")
    body = html(response)
    assert response.status_code == 200
    assert "Lends a ladder" in body and "Three metres" in body
    assert XSS not in body and "&lt;script&gt;" in body
    assert "Offer" in body and "Goods" in body
    assert 'href="/auth/signup"' in body and "Join 1Mile to answer" in body
    assert '<meta property="og:title" content="Lends a ladder">' in body
    assert f'<meta property="og:url" content="http://localhost/listings/shared/{token}">' in body
    assert 'property="og:description"' in body
    assert "data-share" in body and f'value="http://localhost/listings/shared/{token}"' in body


def test_the_area_is_a_band_from_a_public_place_never_a_point(app, factory, author):
    listing_id = factory.listing(author, title="Cours de piano")
    token = _share(app, author, listing_id)
    body = html(_visitor(app).get(f"/listings/shared/{token}"))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        listing = db.session.get(Listing, listing_id)
        point = listing.placements[0].latlon
        centre = db.session.get(Mile, author.mile_id).center_latlon
        town = places.nearest_town("FR", point.lat, point.lon)
        band = distance_band(haversine_m(LatLon(town.latitude, town.longitude), point))
    assert town.label and f"{band} from {town.label}" in body.replace("&#39;", "'")
    assert not NUMBER.search(body), NUMBER.search(body)
    for secret in (point, centre):
        assert f"{secret.lat:.4f}"[:-1] not in body


def test_turning_sharing_off_kills_the_link_and_a_new_link_is_new(app, factory, author):
    listing_id = factory.listing(author)
    first = _share(app, author, listing_id)
    assert _share(app, author, listing_id, on=False) is None
    assert _visitor(app).get(f"/listings/shared/{first}").status_code == 404
    second = _share(app, author, listing_id)
    assert second and second != first
    assert _visitor(app).get(f"/listings/shared/{first}").status_code == 404
    assert _visitor(app).get(f"/listings/shared/{second}").status_code == 200
    assert _visitor(app).get("/listings/shared/not-a-token").status_code == 404


def test_another_member_cannot_share_or_unshare(app, factory, author):
    listing_id = factory.listing(author)
    other = factory.member(email="other@example.org")
    client = logged_in(app, other)
    assert client.post(f"/listings/{listing_id}/sharing", data={"share": "on"}).status_code == 404
    with app.app_context():
        assert db.session.get(Listing, listing_id).share_token is None
    token = _share(app, author, listing_id)
    assert client.post(f"/listings/{listing_id}/sharing", data={"share": "off"}).status_code == 404
    with app.app_context():
        assert db.session.get(Listing, listing_id).share_token == token


def test_closed_and_expired_ads_are_no_longer_available(app, factory, author):
    closed = factory.listing(author, title="Closed secret title")
    expired = factory.listing(author, title="Expired secret title")
    closed_token, expired_token = _share(app, author, closed), _share(app, author, expired)
    factory.act(lambda member: close_listing(member, closed), author)
    with app.app_context():
        db.session.get(Listing, expired).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    for token, title in ((closed_token, "Closed secret title"), (expired_token, "Expired secret title")):
        response = _visitor(app).get(f"/listings/shared/{token}")
        assert response.status_code == 410
        assert "No longer available" in html(response) and title not in html(response)


def test_hidden_suspended_and_blocked_ads_are_not_found(app, factory, author):
    hidden = factory.listing(author, title="Hidden one")
    kept = factory.listing(author, title="Kept one")
    hidden_token, kept_token = _share(app, author, hidden), _share(app, author, kept)
    modo = factory.moderator()
    blocked = factory.member(email="blocked@example.org")
    factory.block(author, blocked)
    with app.test_request_context():
        moderation.moderate(db.session.get(Member, modo.id), "listing", hidden, "hide", None)
        db.session.commit()
    assert _visitor(app).get(f"/listings/shared/{hidden_token}").status_code == 404
    assert _visitor(app).get(f"/listings/shared/{kept_token}").status_code == 200
    assert logged_in(app, blocked).get(f"/listings/shared/{kept_token}").status_code == 404
    with app.test_request_context():
        moderation.suspend(db.session.get(Member, author.id))
        db.session.commit()
    assert _visitor(app).get(f"/listings/shared/{kept_token}").status_code == 404


def test_a_member_is_sent_to_the_ad_itself(app, factory, author):
    listing_id = factory.listing(author)
    token = _share(app, author, listing_id)
    reader = factory.member(email="reader@example.org", language="en")
    body = html(logged_in(app, reader, language="en").get(f"/listings/shared/{token}"))
    assert f'href="/listings/{listing_id}"' in body and "Answer on 1Mile" in body

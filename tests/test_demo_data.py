"""The Mulhouse demo neighbourhood: loaded through the real services, on both backends."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from onemile.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from onemile.auth.services import authenticate
from onemile.demo import load_demo
from onemile.demo_data.cast import MEMBERS, NEIGHBOURHOODS
from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.listings.demo import ADS
from onemile.models import (
    CATEGORIES,
    MAX_MILES,
    MEMBER_KINDS,
    OFFER_TYPES,
    Listing,
    Member,
    Mile,
    utcnow,
)

MULHOUSE = LatLon(47.7508, 7.3359)


def test_ads_are_well_formed():
    """Every written ad names a real category, kind and author, and says something."""
    keys = {spec.key for spec in MEMBERS}
    for who, kind, category, title, body in ADS:
        assert category in CATEGORIES, title
        assert kind == "request" or kind in OFFER_TYPES, title
        assert who is None or who in keys or who in NEIGHBOURHOODS, title
        assert 5 <= len(title) <= 120 and len(body) >= 60, title
    assert len({ad[3] for ad in ADS}) == len(ADS)
    assert len({ad[4] for ad in ADS}) == len(ADS)


def test_demo_loads_a_lively_neighbourhood(app):
    # The CLI path: an app context but no request context.
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output

    with app.test_request_context():
        members = db.session.scalars(select(Member)).all()
        assert 38 <= len(members) <= 45
        assert {m.kind for m in members} == set(MEMBER_KINDS)
        assert all(m.organisation_name for m in members if m.kind != "person")
        assert len({m.email for m in members}) == len(members)

        for member in members:
            assert 1 <= len(member.miles) <= MAX_MILES, member.email
            assert sum(mile.is_primary for mile in member.miles) == 1, member.email
            for mile in member.miles:
                assert haversine_m(MULHOUSE, mile.center_latlon) < 6_500, (member.email, mile.name)
        # Miles were moved off the postal-code centroid onto each member's own place.
        centres = {mile.center_latlon for member in members for mile in member.miles}
        assert len(centres) == db.session.scalar(select(func.count()).select_from(Mile))

        listings = db.session.scalars(select(Listing)).all()
        assert len(listings) >= 140
        assert {listing.category for listing in listings} == set(CATEGORIES)
        offers = [listing for listing in listings if listing.kind == "offer"]
        assert {listing.offer_type for listing in offers} == set(OFFER_TYPES)
        assert all(listing.offer_type is None for listing in listings if listing.kind == "request")
        assert len({listing.title for listing in listings}) == len(listings)

        now = utcnow()
        states = Counter(listing.status for listing in listings)
        assert states["closed"] >= 3 and states["expired"] >= 3
        open_now = [listing for listing in listings if listing.is_open_at(now)]
        assert len(open_now) >= 0.8 * len(listings)
        ages = [(now - listing.created_at).days for listing in open_now]
        assert max(ages) <= 25 and len(set(ages)) >= 15
        expired = [listing for listing in listings if listing.status == "expired"]
        assert all(listing.expires_at < now for listing in expired)

        placed_twice = 0
        for listing in listings:
            own_miles = {mile.id: mile for mile in listing.author.miles}
            assert listing.placements, listing.title
            placed_twice += len(listing.placements) == 2
            for placement in listing.placements:
                mile = own_miles[placement.mile_id]
                # Shown at a shifted public point, never at the mile's private centre.
                assert haversine_m(placement.latlon, mile.center_latlon) >= 149
        assert placed_twice >= 10

        demo = authenticate(DEMO_EMAIL, DEMO_PASSWORD)
        assert demo is not None and demo.kind == "person"
        assert len(demo.miles) == 2
        assert authenticate("lea.muller@demo.1mile.local", DEMO_PASSWORD) is not None
        assert authenticate(DEMO_EMAIL, "not-the-demo-password") is None

        with pytest.raises(RuntimeError, match="already has members"):
            load_demo()
    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert again.exit_code != 0 and "already has members" in again.output
    assert "Traceback" not in again.output
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == len(members)


def test_demo_shows_a_living_exchange(app, outbox):
    """Conversations, paid services and a confirmation waiting for the demo account."""
    from onemile.models import Completion, Conversation, Transfer
    from onemile.smiles.services import balance_of, verify

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) >= 40
        paid = db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service"))
        confirmed = db.session.scalar(
            select(func.count()).select_from(Completion).where(Completion.status == "confirmed")
        )
        assert paid == confirmed >= 15
        demo = db.session.scalar(select(Member).where(Member.email == DEMO_EMAIL))
        waiting = db.session.scalar(
            select(Completion).where(Completion.beneficiary_id == demo.id, Completion.status == "pending")
        )
        assert waiting is not None and balance_of(demo.id) >= 1
        assert verify() == []
        assert all(m.email_notifications for m in db.session.scalars(select(Member)))
        # Projects: approved ones with pledges, smiles and volunteers; one waits for the demo
        # account, a moderator.
        from onemile.models import Pledge, Project, Volunteer

        assert demo.is_moderator
        statuses = db.session.scalars(select(Project.status)).all()
        assert statuses.count("approved") >= 4 and statuses.count("pending") == 1
        assert db.session.scalar(select(func.count()).select_from(Pledge)) >= 8
        assert db.session.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.status == "accepted")) >= 4
        assert db.session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.reason == "project_support")
        ) >= 3
    assert not list(outbox.glob("*.eml")), "demo addresses are fake: no e-mail may be written"

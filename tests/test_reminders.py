"""Reminders: three days before an ad expires its author gets a notification with a one-tap
renew; an offer marked given or taken ends and tells those who asked."""

from __future__ import annotations

from datetime import timedelta

from helpers import count, csrf_token_in, html, logged_in
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import ExpiryReminder, Listing, Notification, utcnow


def _expire_in(app, listing_id, delta):
    with app.app_context():
        db.session.get(Listing, listing_id).expires_at = utcnow() + delta
        db.session.commit()


def _tick(app):
    result = app.test_cli_runner().invoke(args=["alerts", "tick"])
    assert result.exit_code == 0, result.output
    return result.output


def _reminders(app, member_id):
    return count(app, Notification, Notification.member_id == member_id, Notification.kind == "expiry_reminder")


def test_an_ad_expiring_within_three_days_reminds_its_author_once(app, factory, anne):
    soon = factory.listing(anne, title="Bientôt fini")
    later = factory.listing(anne, title="Pas encore")
    _expire_in(app, soon, timedelta(days=2, hours=23))
    _expire_in(app, later, timedelta(days=3, hours=1))
    assert "1 expiry reminder(s)" in _tick(app)
    assert "0 expiry reminder(s)" in _tick(app)  # run again: nothing twice
    assert _reminders(app, anne.id) == 1
    with app.app_context():
        assert db.session.scalar(select(Notification.target_id).where(Notification.kind == "expiry_reminder")) == soon


def test_the_reminder_renews_in_one_tap_and_the_next_expiry_gets_its_own(make_app):
    from conftest import Factory

    app = make_app(WTF_CSRF_ENABLED=True)
    factory = Factory(app)
    anne = factory.member(language="en")
    listing_id = factory.listing(anne, title="À renouveler")
    _expire_in(app, listing_id, timedelta(days=1))
    _tick(app)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token_in(html(client.get("/auth/login")))
    client.post("/auth/login", data={"email": anne.email, "password": anne.password, "csrf_token": token})
    page = html(client.get("/notifications/"))
    assert "expires soon" in page
    action = f'action="/listings/{listing_id}/renew"'
    assert action in page
    form = page[page.index(action):]
    # Without the token the renewal is refused; with the button's token it is done.
    assert client.post(f"/listings/{listing_id}/renew").status_code == 400
    renewed = client.post(f"/listings/{listing_id}/renew", data={"csrf_token": csrf_token_in(form)})
    assert renewed.status_code == 303
    with app.app_context():
        assert db.session.get(Listing, listing_id).expires_at > utcnow() + timedelta(days=29)
    # The renewed ad is reminded again before its new expiry, once.
    _expire_in(app, listing_id, timedelta(days=2))
    _tick(app)
    _tick(app)
    assert _reminders(app, anne.id) == 2
    assert count(app, ExpiryReminder) == 2


def test_closed_hidden_or_far_from_expiry_ads_are_not_reminded(app, factory, anne):
    closed = factory.listing(anne)
    hidden = factory.listing(anne)
    for listing_id in (closed, hidden):
        _expire_in(app, listing_id, timedelta(days=1))
    with app.app_context():
        db.session.get(Listing, closed).status = "closed"
        db.session.get(Listing, hidden).hidden_at = utcnow()
        db.session.commit()
    _tick(app)
    assert _reminders(app, anne.id) == 0


def test_an_offer_marked_given_ends_and_tells_those_who_asked(app, factory, anne, bruno):
    camille = factory.member(language="en")
    offer = factory.listing(anne, kind="offer", title="Donne une table")
    bruno_conversation = factory.conversation(bruno, offer, "Je peux la prendre ?")
    factory.conversation(camille, offer, "Moi aussi !")
    client = logged_in(app, anne, language="en")
    response = client.post(f"/alerts/listings/{offer}/end", data={"outcome": "given"})
    assert response.status_code == 303
    with app.app_context():
        listing = db.session.get(Listing, offer)
        assert (listing.status, listing.ended_as) == ("closed", "given")
        told = db.session.execute(
            select(Notification.member_id, Notification.target_id).where(Notification.kind == "offer_ended")
        ).all()
    assert sorted(member for member, _ in told) == sorted([bruno.id, camille.id])
    assert (bruno.id, bruno_conversation) in [tuple(row) for row in told]
    page = html(logged_in(app, bruno, language="en").get("/notifications/"))
    assert "“Donne une table”, an offer you asked about, has been given" in page
    # Once ended it cannot end again.
    again = client.post(f"/alerts/listings/{offer}/end", data={"outcome": "taken"}, follow_redirects=True)
    assert "already ended" in html(again)
    with app.app_context():
        assert db.session.get(Listing, offer).ended_as == "given"


def test_only_the_author_ends_an_offer_and_only_an_offer(app, factory, anne, bruno):
    offer = factory.listing(anne, kind="offer")
    request_id = factory.listing(anne, kind="request", offer_type=None)
    intruder = logged_in(app, bruno, language="en")
    assert intruder.post(f"/alerts/listings/{offer}/end", data={"outcome": "taken"}).status_code == 404
    refused = logged_in(app, anne, language="en").post(f"/alerts/listings/{request_id}/end", data={"outcome": "given"},
                                                        follow_redirects=True)
    assert "Only an offer" in html(refused)
    odd = logged_in(app, anne, language="en").post(f"/alerts/listings/{offer}/end", data={"outcome": "stolen"},
                                                   follow_redirects=True)
    assert "given or taken" in html(odd)
    with app.app_context():
        assert db.session.get(Listing, offer).status == "open"
        assert db.session.get(Listing, request_id).status == "open"
    assert count(app, Notification, Notification.kind == "offer_ended") == 0

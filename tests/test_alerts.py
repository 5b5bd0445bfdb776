"""Alerts for new ads: who hears about a new listing, project or mag, how, and when."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import count, csrf_token_in, html, logged_in, no_quiet_hours
from sqlalchemy import select, update

from onemile.alerts import reminders, services
from onemile.extensions import db
from onemile.models import AdAlert, AlertPreference, Listing, Member, Notification, utcnow


def _alerts_of(app, member_id):
    with app.app_context():
        notifications = db.session.execute(
            select(Notification.kind, Notification.target_id, Notification.detail)
            .where(Notification.member_id == member_id, Notification.kind.like("new_%"))
        ).all()
        waiting = db.session.execute(
            select(AdAlert.target_type, AdAlert.target_id, AdAlert.delivery).where(AdAlert.member_id == member_id)
        ).all()
        return [tuple(n) for n in notifications], [tuple(w) for w in waiting]


def test_a_request_alerts_neighbours_at_once_and_an_offer_waits_for_the_digest(app, factory, anne, bruno):
    no_quiet_hours(app, anne, bruno)
    request_id = factory.listing(anne, kind="request", offer_type=None, category="diy", title="Besoin d'une perceuse")
    offer_id = factory.listing(anne, kind="offer", title="Donne un vélo")
    instant, waiting = _alerts_of(app, bruno.id)
    assert [(kind, target) for kind, target, _ in instant] == [("new_listing", request_id)]
    assert waiting == [("listing", offer_id, "digest")]
    # The author hears nothing about their own ads.
    assert _alerts_of(app, anne.id) == ([], [])
    # The distance is kept only as metres for the band: within a mile of the ad.
    assert 0 <= int(instant[0][2]) <= 1609.344 + 1


def test_the_alert_shows_a_distance_band_never_metres(app, factory, anne, bruno):
    no_quiet_hours(app, bruno)
    factory.listing(anne, kind="request", offer_type=None, title="Besoin d'aide")
    page = html(logged_in(app, bruno, language="en").get("/notifications/"))
    line = re.search(r"New request near you: “Besoin d(?:&#39;|')aide” \(([^)]+)\)", page)
    assert line, page
    assert line.group(1) in ("less than 500\u00a0m", "less than 1\u00a0km", "about 2\u00a0km")
    with app.app_context():
        detail = db.session.scalar(select(Notification.detail).where(Notification.member_id == bruno.id))
    assert f"{detail} m" not in page and f">{detail}<" not in page


def test_choices_per_mile_off_and_categories(app, factory, anne, bruno):
    no_quiet_hours(app, bruno)
    with app.app_context():
        db.session.add_all([
            AlertPreference(member_id=bruno.id, mile_id=bruno.mile_id, subject="requests", mode="instant",
                            categories="lessons,repairs"),
            AlertPreference(member_id=bruno.id, mile_id=bruno.mile_id, subject="offers", mode="off"),
        ])
        db.session.commit()
    factory.listing(anne, kind="request", offer_type=None, category="diy")
    lesson = factory.listing(anne, kind="request", offer_type=None, category="lessons")
    factory.listing(anne, kind="offer")
    instant, waiting = _alerts_of(app, bruno.id)
    assert [target for _, target, _ in instant] == [lesson]
    assert waiting == []


def test_blocked_and_suspended_members_never_reach_each_other(app, factory, anne, bruno):
    camille = factory.member(language="en")
    no_quiet_hours(app, anne, bruno, camille)
    factory.block(bruno, anne)
    factory.listing(anne, kind="request", offer_type=None)
    factory.listing(bruno, kind="request", offer_type=None)
    assert _alerts_of(app, bruno.id) == ([], [])
    assert _alerts_of(app, anne.id) == ([], [])
    assert len(_alerts_of(app, camille.id)[0]) == 2
    # A suspended member hears nothing.
    with app.test_request_context():
        from onemile.moderation.services import suspend

        suspend(db.session.get(Member, camille.id))
        db.session.commit()
    factory.listing(anne, kind="request", offer_type=None, title="Encore")
    assert len(_alerts_of(app, camille.id)[0]) == 2


def test_a_post_that_rolls_back_alerts_nobody(app, anne, bruno):
    no_quiet_hours(app, bruno)
    from onemile.listings.services import ListingData, create_listing

    with app.test_request_context():
        member = db.session.get(Member, anne.id)
        create_listing(member, ListingData("request", None, "diy", "Aide", "Texte", (anne.mile_id,)))
        db.session.flush()
        assert db.session.scalar(select(Notification.id).where(Notification.member_id == bruno.id)) is not None
        db.session.rollback()
    assert count(app, Notification, Notification.member_id == bruno.id) == 0
    assert count(app, Listing) == 0


def test_members_far_away_hear_nothing(app, factory, anne):
    far = factory.member(postal_code="75001", language="en")
    no_quiet_hours(app, far)
    factory.listing(anne, kind="request", offer_type=None)
    assert _alerts_of(app, far.id) == ([], [])


def test_the_daily_cap_sends_the_rest_to_the_digest(make_app, factory_for):
    app = make_app(ALERT_DAILY_CAP=2)
    factory = factory_for(app)
    anne, bruno = factory.member(), factory.member()
    no_quiet_hours(app, bruno)
    ids = [factory.listing(anne, kind="request", offer_type=None, title=f"R{i}") for i in range(3)]
    instant, waiting = _alerts_of(app, bruno.id)
    assert [target for _, target, _ in instant] == ids[:2]
    assert waiting == [("listing", ids[2], "digest")]


def _quiet_now(app, ref):
    """Quiet hours around the present hour of the member's zone (Europe/Paris)."""
    from onemile.alerts import timing

    hour = timing.local(utcnow(), "Europe/Paris").hour
    with app.app_context():
        db.session.execute(update(Member).where(Member.id == ref.id)
                           .values(quiet_start=hour, quiet_end=(hour + 2) % 24))
        db.session.commit()


def test_the_author_is_told_when_neighbours_learn_of_the_new_ad_never_how_many(app, factory, anne, bruno):
    """Posted in the evening, an ad reaches some neighbours at once and others in the morning
    or in their digest: the author is told so, not left wondering why nobody answers. Never
    how many: a count that changes with the ad's point (a meeting place is exact) would let
    an author trace the edge of a lone neighbour's mile, and so find its centre."""
    no_quiet_hours(app, bruno)
    chloe = factory.member(language="en", first_name="Chloé")
    _quiet_now(app, chloe)
    client = logged_in(app, anne, "en")
    posted = client.post("/listings/new", data={
        "kind": "request", "category": "diy", "title": "Lend me a drill", "body": "For Saturday.",
        "miles": [str(anne.mile_id)], "location_mode": "approximate"})
    page = html(client.get(posted.headers["Location"]))
    assert "Your listing is online." in page
    flashes = re.search(r'<div class="flashes"[^>]*>(.*?)</div>', page, re.DOTALL).group(1)
    assert ("Neighbours who asked for alerts are told now, or after their quiet hours, or in their digest, "
            "as each of them chose.") in flashes
    assert not re.search(r"\d", flashes), flashes
    with app.app_context():  # one told at once, one held: the same words either way
        assert db.session.scalar(select(AdAlert.member_id)) == chloe.id


def test_in_quiet_hours_an_instant_alert_is_held_until_the_morning(app, factory, anne, bruno):
    _quiet_now(app, bruno)
    listing_id = factory.listing(anne, kind="request", offer_type=None)
    instant, waiting = _alerts_of(app, bruno.id)
    assert instant == [] and waiting == [("listing", listing_id, "held")]
    with app.app_context():
        due_at = db.session.scalar(select(AdAlert.due_at))
        assert due_at > utcnow()
    with app.test_request_context():
        assert reminders.release_held(due_at - timedelta(minutes=1)) == 0
        db.session.commit()
    with app.test_request_context():
        assert reminders.release_held(due_at) == 1
        db.session.commit()
    instant, waiting = _alerts_of(app, bruno.id)
    assert [target for _, target, _ in instant] == [listing_id] and waiting == []
    with app.test_request_context():  # idempotent
        assert reminders.release_held(due_at + timedelta(hours=1)) == 0
        db.session.commit()


def test_a_held_alert_of_an_ad_hidden_meanwhile_is_dropped(app, factory, anne, bruno):
    _quiet_now(app, bruno)
    listing_id = factory.listing(anne, kind="request", offer_type=None)
    with app.app_context():
        db.session.get(Listing, listing_id).hidden_at = utcnow()
        db.session.commit()
    with app.test_request_context():
        assert reminders.release_held(utcnow() + timedelta(days=1)) == 0
        db.session.commit()
    assert _alerts_of(app, bruno.id) == ([], [])


def test_an_instant_alert_of_an_ad_hidden_later_leaves_the_page(app, factory, anne, bruno):
    no_quiet_hours(app, bruno)
    listing_id = factory.listing(anne, kind="request", offer_type=None, title="Titre à cacher")
    client = logged_in(app, bruno, language="en")
    assert "Titre à cacher" in html(client.get("/notifications/"))
    with app.app_context():
        db.session.get(Listing, listing_id).hidden_at = utcnow()
        db.session.commit()
    assert "Titre à cacher" not in html(client.get("/notifications/"))


def test_a_new_project_and_a_new_mag_alert_in_the_digest_by_default(app, factory, anne, bruno):
    moderator = factory.moderator()
    no_quiet_hours(app, bruno)
    project_id = factory.project(anne, approved_by=moderator)
    mag_id = factory.mag(anne)
    _, waiting = _alerts_of(app, bruno.id)
    assert sorted(waiting) == sorted([("project", project_id, "digest"), ("mag", mag_id, "digest")])


def test_settings_page_per_mile_in_both_languages(app, factory, bruno):
    client = logged_in(app, bruno, language="en")
    page = html(client.get("/alerts/settings"))
    base = f"mile-{bruno.mile_id}"
    assert f'name="{base}-requests" value="instant" checked' in page
    assert f'name="{base}-offers" value="digest" checked' in page
    assert f'<label for="{base}-requests-instant">' in page
    french = logged_in(app, factory.member(language="fr"))
    page = html(french.get("/alerts/settings"))
    assert "Alertes pour les nouvelles annonces" in page and "Tout de suite" in page


def test_settings_are_saved_and_bad_input_is_refused_on_the_form(app, factory, bruno):
    other = factory.member()
    client = logged_in(app, bruno, language="en")
    form = {
        f"mile-{bruno.mile_id}-requests": "digest",
        f"mile-{bruno.mile_id}-offers": "instant",
        f"mile-{bruno.mile_id}-offers-categories": ["goods", "diy"],
        f"mile-{bruno.mile_id}-projects": "off",
        f"mile-{bruno.mile_id}-mags": "off",
        f"mile-{other.mile_id}-requests": "off",  # not Bruno's: ignored
        "digest_frequency": "weekly", "quiet_start": "23", "quiet_end": "7",
    }
    bad = client.post("/alerts/settings", data={**form, "quiet_start": "25"})
    assert bad.status_code == 422 and count(app, AlertPreference) == 0
    worse = client.post("/alerts/settings", data={**form, f"mile-{bruno.mile_id}-offers": "loud"})
    assert worse.status_code == 422 and count(app, AlertPreference) == 0
    assert client.post("/alerts/settings", data=form).status_code == 303
    # The quiet hours say in which zone they are; the zone is set in one place, the account page.
    with app.app_context():
        db.session.get(Member, bruno.id).timezone = "America/Montreal"
        db.session.commit()
    page = html(client.get("/alerts/settings"))
    assert "America/Montreal" in page and 'href="/account/#time"' in page and 'name="timezone"' not in page
    with app.app_context():
        member = db.session.get(Member, bruno.id)
        choices = services.choices_of(member)[bruno.mile_id]
        assert choices["requests"].mode == "digest"
        assert choices["offers"] == services.Choice("instant", frozenset({"goods", "diy"}))
        assert (member.digest_frequency, member.quiet_start, member.quiet_end) == ("weekly", 23, 7)
        assert db.session.scalar(select(AlertPreference).where(AlertPreference.member_id == other.id)) is None


def test_settings_need_a_login_and_a_csrf_token(make_app, factory_for):
    app = make_app(WTF_CSRF_ENABLED=True)
    bruno = factory_for(app).member()
    client = app.test_client()
    assert client.get("/alerts/settings").status_code == 302
    client = logged_in_with_csrf(app, bruno)
    response = client.post("/alerts/settings", data={"digest_frequency": "never", "quiet_start": "0",
                                                     "quiet_end": "0"})
    assert response.status_code in (400, 422)
    with app.app_context():
        assert db.session.get(Member, bruno.id).digest_frequency == "daily"


def logged_in_with_csrf(app, ref):
    client = app.test_client()
    token = csrf_token_in(html(client.get("/auth/login")))
    assert client.post("/auth/login", data={"email": ref.email, "password": ref.password,
                                            "csrf_token": token}).status_code == 303
    return client


@pytest.fixture
def factory_for():
    from conftest import Factory

    return Factory


def test_settings_are_in_the_data_download_and_go_with_the_account(app, factory, anne, bruno):
    factory.listing(anne, kind="offer")  # waits in Bruno's digest
    client = logged_in(app, bruno, language="en")
    client.post("/alerts/settings", data={f"mile-{bruno.mile_id}-requests": "off", "digest_frequency": "weekly",
                                          "quiet_start": "21", "quiet_end": "9"})
    from onemile.account.services import export_data

    with app.test_request_context():
        exported = export_data(db.session.get(Member, bruno.id))["alerts"]
    assert exported["digest_frequency"] == "weekly" and exported["quiet_hours"] == [21, 9]
    assert exported["miles"][str(bruno.mile_id)]["requests"]["mode"] == "off"
    assert client.post("/account/delete", data={"password": bruno.password, "confirm": "y"}).status_code == 303
    assert count(app, AlertPreference) == 0 and count(app, AdAlert) == 0

"""Local time (issue 14, item 6): times in the reader's zone and in their language's format,
on pages, in e-mails and push texts; the zone comes from the member's choice, their browser,
their country, or UTC."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask_babel import format_datetime
from helpers import html, logged_in
from sqlalchemy import update

from onemile import timezones
from onemile.extensions import db
from onemile.models import Member, Notification

# 00:39 UTC on 7 December 2026 is 01:39 in Paris and 19:39 the day before in New York.
AT = datetime(2026, 12, 7, 0, 39)


def _answered_at(app, factory, author, responder) -> None:
    """`responder` answers `author`'s listing; the author's notification dated AT (UTC)."""
    listing_id = factory.listing(author)
    factory.conversation(responder, listing_id)
    with app.app_context():
        db.session.execute(update(Notification).where(Notification.member_id == author.id).values(created_at=AT))
        db.session.commit()


def _zone(app, member) -> str | None:
    with app.app_context():
        return db.session.get(Member, member.id).timezone


def test_member_in_paris_reads_french_24_hour_time(app, factory):
    author, responder = factory.member(language="fr"), factory.member()
    _answered_at(app, factory, author, responder)
    client = logged_in(app, author)
    assert client.post("/account/timezone", data={"timezone": "Europe/Paris"}).status_code == 303
    page = html(client.get("/notifications/"))
    # Shown in Paris time (the list's short form, its full time in the title: see the
    # conversations list below); the machine-readable attribute stays in UTC.
    assert 'datetime="2026-12-07T00:39:00Z" title="07/12/2026 01:39">' in page


def test_english_member_in_new_york_reads_12_hour_time(app, factory):
    author, responder = factory.member(language="en"), factory.member()
    _answered_at(app, factory, author, responder)
    client = logged_in(app, author, language="en")
    assert client.post("/account/timezone", data={"timezone": "America/New_York"}).status_code == 303
    page = html(client.get("/notifications/"))
    # CLDR's short English form: month/day/year, 12-hour clock (a narrow no-break space before PM).
    assert 'datetime="2026-12-07T00:39:00Z" title="12/6/26, 7:39\u202fPM">' in page


def test_a_member_starts_in_paris_time(app, factory):
    # Every member starts with Europe/Paris (migration 0018) until their browser reports
    # another zone or they choose one.
    author, responder = factory.member(language="fr", country="FR"), factory.member()
    _answered_at(app, factory, author, responder)
    client = logged_in(app, author)
    assert _zone(app, author) == "Europe/Paris"
    assert 'title="07/12/2026 01:39"' in html(client.get("/notifications/"))


def test_a_member_without_a_valid_zone_gets_the_countrys(app, factory):
    member = factory.member()
    with app.app_context():
        record = db.session.get(Member, member.id)
        record.timezone, record.country = "Not/AZone", "BE"
        db.session.commit()
    with app.test_request_context():
        record = db.session.get(Member, member.id)
        assert timezones.zone_of(record) == "Europe/Brussels"


def test_the_browser_reports_a_zone_once_and_a_choice_stays(app, factory):
    member = factory.member()
    client = logged_in(app, member)
    page = html(client.get("/account/"))
    assert 'data-tz-report="/account/timezone/detected"' in page
    # A browser that hides its zone says UTC: that tells nothing, and the real one still comes.
    assert client.post("/account/timezone/detected", data={"timezone": "UTC"}).status_code == 204
    assert _zone(app, member) == "Europe/Paris"
    assert 'data-tz-report="/account/timezone/detected"' in html(client.get("/account/"))
    assert client.post("/account/timezone/detected", data={"timezone": "America/Montreal"}).status_code == 204
    assert _zone(app, member) == "America/Montreal"
    # No longer the zone every member starts with: the page stops asking.
    assert "data-tz-report" not in html(client.get("/account/"))
    # A later report (a trip) does not undo it; a choice on the account page does.
    assert client.post("/account/timezone/detected", data={"timezone": "Asia/Tokyo"}).status_code == 204
    assert _zone(app, member) == "America/Montreal"
    assert client.post("/account/timezone", data={"timezone": "Europe/Brussels"}).status_code == 303
    assert _zone(app, member) == "Europe/Brussels"


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 80])
def test_a_zone_outside_the_list_is_refused_on_the_form(app, factory, bad):
    member = factory.member()
    client = logged_in(app, member, language="en")
    client.post("/account/timezone", data={"timezone": "Europe/Paris"})
    response = client.post("/account/timezone", data={"timezone": bad})
    assert response.status_code == 422
    page = html(response)
    assert 'id="timezone-error"' in page
    assert _zone(app, member) == "Europe/Paris"
    assert client.post("/account/timezone/detected", data={"timezone": bad}).status_code == 422
    assert _zone(app, member) == "Europe/Paris"


def test_visitors_follow_the_browser_cookie_else_utc(app):
    with app.test_request_context(headers={"Cookie": "tz=America/New_York", "Accept-Language": "en"}):
        assert timezones.select_timezone() == "America/New_York"
        assert format_datetime(AT, "short") == "12/6/26, 7:39\u202fPM"
    with app.test_request_context(headers={"Cookie": "tz=Nowhere/Land"}):
        assert timezones.select_timezone() == "UTC"
    with app.test_request_context():
        assert timezones.select_timezone() == "UTC"


def test_country_defaults():
    assert timezones.default_for_country("FR") == "Europe/Paris"
    assert timezones.default_for_country("BE") == "Europe/Brussels"
    # Several zones: nothing to guess from the country alone.
    assert timezones.default_for_country("US") == "UTC"
    assert timezones.default_for_country(None) == "UTC"


def test_texts_written_outside_a_request_use_the_members_zone_and_language(app, factory):
    # E-mails and push texts are written by workers, with no request: as_member gives them
    # the recipient's zone and language.
    paris, new_york = factory.member(language="fr"), factory.member(language="en")
    with app.app_context():
        db.session.get(Member, new_york.id).timezone = "America/New_York"
        db.session.commit()
    with app.app_context():
        with timezones.as_member(db.session.get(Member, paris.id)):
            assert format_datetime(AT, "short") == "07/12/2026 01:39"
        with timezones.as_member(db.session.get(Member, new_york.id)):
            assert format_datetime(AT, "short") == "12/6/26, 7:39\u202fPM"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["01:39", "Hier", "vendredi", "29 nov.", "07/12/2025"]),
        ("en", ["1:39\u202fAM", "Yesterday", "Friday", "Nov 29", "12/7/25"]),
    ],
)
def test_the_conversations_list_says_when_as_a_messaging_app_does(app, factory, language, expected):
    # In the reader's zone (Paris: AT is 01:39 on Monday 7 December there) and language:
    # the time today, "yesterday", the weekday within the week, the day and month within
    # the year, the date before that.
    from datetime import timedelta

    member = factory.member(language=language)
    moments = [AT, AT - timedelta(days=1), AT - timedelta(days=3), AT - timedelta(days=8), AT - timedelta(days=365)]
    with app.app_context():
        db.session.get(Member, member.id).timezone = "Europe/Paris"
        db.session.commit()
        with timezones.as_member(db.session.get(Member, member.id)):
            assert [timezones.format_when(moment, now=AT + timedelta(hours=2)) for moment in moments] == expected


def test_the_conversations_list_shows_the_short_form_with_the_full_time_in_its_title(app, factory):
    from onemile.models import Conversation

    author, responder = factory.member(language="fr"), factory.member(language="fr")
    factory.conversation(responder, factory.listing(author))
    with app.app_context():
        db.session.execute(update(Member).values(timezone="Europe/Paris"))
        db.session.execute(update(Conversation).values(last_message_at=datetime(2025, 12, 7, 0, 39)))
        db.session.commit()
    page = html(logged_in(app, author).get("/conversations/"))
    assert 'datetime="2025-12-07T00:39:00Z" title="07/12/2025 01:39">07/12/2025</time>' in page

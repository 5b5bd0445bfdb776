"""Local time: every time shown (pages, e-mails, push texts) in the reader's own time zone.

Flask-Babel formats dates (`format_datetime` and friends) in the zone `select_timezone`
picks: a member's stored zone (set by their browser, or chosen on the account page), else
the zone their browser reports in the `tz` cookie, else the one of their country when it
has only one (Europe/Paris for France), else UTC. Outside a request (the mail worker, the
push job) `as_member(member)` gives the member's language and zone for what is written
inside it. Stored times are naive UTC (models/_time.py); Babel rebases them.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

import pytz
from babel.dates import format_skeleton
from flask import g, has_request_context, request
from flask_babel import (
    force_locale,
    format_date,
    format_datetime,
    format_time,
    get_locale,
    get_timezone,
    gettext,
    refresh,
    to_user_timezone,
)
from flask_login import current_user

from .models import utcnow

DEFAULT = "UTC"
# The cookie the page script writes with Intl.DateTimeFormat().resolvedOptions().timeZone.
COOKIE = "tz"
_FORCED = "onemile_forced_timezone"


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    # Babel converts through pytz: a name must be known to both (zoneinfo is the system's
    # list, pytz the formatter's).
    return frozenset(zoneinfo.available_timezones() & pytz.all_timezones_set)


def is_valid(name: str | None) -> bool:
    """Whether `name` is an IANA zone name dates can be shown in."""
    return bool(name) and name in _known()


def readable(name: str) -> str:
    """A zone name as people read it: "America/New York" for America/New_York."""
    return name.replace("_", " ")


@lru_cache(maxsize=1)
def choices() -> list[str]:
    """The zones offered on the account page: the canonical names, sorted."""
    return sorted(set(pytz.common_timezones) & _known())


def default_for_country(country: str | None) -> str:
    """The zone of a country that has only one (FR: Europe/Paris), else UTC."""
    zones = pytz.country_timezones.get((country or "").upper(), [])
    return zones[0] if len(zones) == 1 and is_valid(zones[0]) else DEFAULT


def zone_of(member) -> str:
    """The zone a member reads times in, outside a request: theirs, else their country's."""
    if is_valid(getattr(member, "timezone", None)):
        return member.timezone
    return default_for_country(getattr(member, "country", None))


# What every member starts with (migration 0018): their browser's report may replace it.
MEMBER_DEFAULT = "Europe/Paris"


def detection_wanted(member) -> bool:
    """Whether the member's browser should report its zone: they still have the zone every
    member starts with (or none valid), not one they chose."""
    return not is_valid(member.timezone) or member.timezone == MEMBER_DEFAULT


def browser_zone() -> str | None:
    """The zone the visitor's browser reported (the `tz` cookie), if valid."""
    if not has_request_context():
        return None
    name = request.cookies.get(COOKIE)
    return name if is_valid(name) else None


def select_timezone() -> str:
    """Flask-Babel's timezone selector (see the module's docstring)."""
    forced = g.get(_FORCED) if g else None
    if forced:
        return forced
    if current_user and current_user.is_authenticated:
        if is_valid(current_user.timezone):
            return current_user.timezone
        return browser_zone() or default_for_country(current_user.country)
    return browser_zone() or DEFAULT


@contextmanager
def force_timezone(name: str) -> Iterator[None]:
    """Format dates in zone `name` inside the block (as force_locale does for the language)."""
    previous = g.get(_FORCED)
    setattr(g, _FORCED, name if is_valid(name) else DEFAULT)
    refresh()  # Babel caches the zone per context: forget it, in and out
    try:
        yield
    finally:
        setattr(g, _FORCED, previous)
        refresh()


@contextmanager
def as_member(member) -> Iterator[None]:
    """Write for `member`: their language and their time zone (e-mails, push texts)."""
    with force_locale(member.language or "fr"), force_timezone(zone_of(member)):
        yield


def format_when(moment: datetime, now: datetime | None = None) -> str:
    """When something happened, as a list of conversations says it (short, in the reader's
    zone and language): the time today, "Yesterday", the weekday within a week, the day
    and month within the year, else the date. `moment` and `now` are naive UTC."""
    local, today = to_user_timezone(moment), to_user_timezone(now or utcnow()).date()
    days = (today - local.date()).days
    if days <= 0:
        return format_time(moment, "short")
    if days == 1:
        return gettext("Yesterday")
    if days < 7:
        return format_datetime(moment, "EEEE")
    if local.year == today.year:  # the day and month, in the language's order
        return format_skeleton("MMMd", local, tzinfo=get_timezone(), locale=get_locale())
    return format_date(moment, "short")

"""The member's clock: quiet hours and digest periods in their own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Europe/Paris"


def zone(name: str | None) -> ZoneInfo:
    """The member's zone; Europe/Paris for a name the system does not know."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local(now_utc: datetime, timezone: str | None) -> datetime:
    """A naive UTC time (as the database keeps them) in the member's zone."""
    return now_utc.replace(tzinfo=UTC).astimezone(zone(timezone))


def to_utc(moment: datetime) -> datetime:
    """An aware local time back to naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def in_quiet_hours(hour: int, start: int, end: int) -> bool:
    """Whether a local hour falls in quiet hours from `start` to `end` (across midnight
    when start > end; none when equal)."""
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def quiet_until(now_utc: datetime, timezone: str | None, start: int, end: int) -> datetime | None:
    """When the member's quiet hours end (naive UTC), or None when they are not in them."""
    here = local(now_utc, timezone)
    if not in_quiet_hours(here.hour, start, end):
        return None
    morning = here.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= here:
        morning += timedelta(days=1)
    # Rebuild from the wall clock so a change of daylight saving time lands on `end` o'clock.
    wall = datetime(morning.year, morning.month, morning.day, end, tzinfo=zone(timezone))
    return to_utc(wall)


def start_of_local_day(now_utc: datetime, timezone: str | None) -> datetime:
    """The member's last local midnight, as naive UTC (the daily cap counts from it)."""
    here = local(now_utc, timezone)
    return to_utc(datetime(here.year, here.month, here.day, tzinfo=zone(timezone)))


def digest_period(now_utc: datetime, timezone: str | None, frequency: str) -> str:
    """The key of the member's current digest period: the local date ("2026-12-07") for a
    daily digest, the ISO week ("2026-W49") for a weekly one."""
    here = local(now_utc, timezone)
    if frequency == "weekly":
        year, week, _ = here.isocalendar()
        return f"{year}-W{week:02d}"
    return here.date().isoformat()

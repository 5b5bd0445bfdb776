"""Alerts for new ads: who hears about a new listing, project or mag, and how.

When an ad becomes public, `fan_out` finds, in one spatial query per public point, every
mile centre within a mile of it (through the spatial index on both backends: PostGIS's GiST
index on `CAST(center AS geography)`, SpatiaLite's SpatialIndex), and what each mile's
member chose for that subject. The author, suspended and deleted members, and members
blocked either way with the author are left out in the same query. Each member then hears
once, through their nearest matching mile:

- instantly: an ordinary notification (the bell, and Web Push which delivers notifications),
  unless they are in their quiet hours (held until the end of them, `flask alerts tick`) or
  reached today's cap (ALERT_DAILY_CAP, then it goes to the digest);
- in the digest: an `AdAlert` row the next digest collects;
- not at all.

It runs inside the unit of work that publishes the ad: a post that rolls back alerts nobody.
An alert says no more than the ad's own public page and a distance band from the member's
own mile centre to the ad's public point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, insert, select

from ..config import MILE_METRES
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import LatLon, dialect_of, distance_m, point_latlon, within_metres
from ..models import (
    ALERT_MODES,
    ALERT_SUBJECTS,
    CATEGORIES,
    DEFAULT_ALERT_MODES,
    DIGEST_FREQUENCIES,
    AdAlert,
    AlertPreference,
    Member,
    Mile,
    Notification,
    blocked_either_way,
    utcnow,
)
from ..notifications.services import notify
from . import timing

# The notification kind of an instant alert, per target type.
ALERT_KINDS = {"listing": "new_listing", "project": "new_project", "mag": "new_mag"}
CATEGORY_SUBJECTS = ("requests", "offers")


# --- Preferences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """How a member hears about one subject in one mile."""

    mode: str
    categories: frozenset[str] = frozenset()


def choices_of(member: Member) -> dict[int, dict[str, Choice]]:
    """{mile id: {subject: Choice}} for each of the member's miles, defaults filled in."""
    stored = {
        (row.mile_id, row.subject): row
        for row in db.session.scalars(select(AlertPreference).where(AlertPreference.member_id == member.id))
    }
    result = {}
    for mile in member.miles:
        result[mile.id] = {}
        for subject in ALERT_SUBJECTS:
            row = stored.get((mile.id, subject))
            result[mile.id][subject] = (
                Choice(row.mode, frozenset(row.category_set)) if row else Choice(DEFAULT_ALERT_MODES[subject])
            )
    return result


@dataclass(frozen=True)
class Settings:
    """What the settings form collected: per mile and subject a Choice, and the member's
    digest rhythm and quiet hours (kept in their time zone, which the account page sets)."""

    choices: dict[int, dict[str, Choice]]
    digest_frequency: str
    quiet_start: int
    quiet_end: int


def save_settings(member: Member, settings: Settings) -> None:
    """Store the member's alert settings (the caller commits). Miles not the member's are
    refused; every mile and subject not named keeps its current choice."""
    own = {mile.id for mile in member.miles}
    if any(mile_id not in own for mile_id in settings.choices):
        raise NotFoundError("mile")
    if settings.digest_frequency not in DIGEST_FREQUENCIES:
        raise RuleError(_("Choose how often you get the digest."), "digest_frequency")
    for hour, field in ((settings.quiet_start, "quiet_start"), (settings.quiet_end, "quiet_end")):
        if not 0 <= hour <= 23:
            raise RuleError(_("Choose an hour between 0 and 23."), field)
    for mile_id, subjects in settings.choices.items():
        for subject, choice in subjects.items():
            if subject not in ALERT_SUBJECTS or choice.mode not in ALERT_MODES:
                raise RuleError(_("Choose how you hear about each kind of ad."), f"mile-{mile_id}-{subject}")
            if not choice.categories <= set(CATEGORIES):
                raise RuleError(_("Choose categories from the list."), f"mile-{mile_id}-{subject}-categories")
    existing = {
        (row.mile_id, row.subject): row
        for row in db.session.scalars(select(AlertPreference).where(AlertPreference.member_id == member.id))
    }
    for mile_id, subjects in settings.choices.items():
        for subject, choice in subjects.items():
            categories = ",".join(sorted(choice.categories)) if subject in CATEGORY_SUBJECTS else ""
            row = existing.get((mile_id, subject))
            if row is None:
                db.session.add(AlertPreference(member_id=member.id, mile_id=mile_id, subject=subject,
                                               mode=choice.mode, categories=categories))
            else:
                row.mode, row.categories = choice.mode, categories
    member.digest_frequency = settings.digest_frequency
    member.quiet_start, member.quiet_end = settings.quiet_start, settings.quiet_end
    db.session.flush()


def stop_digest(member_id: int) -> None:
    """The one-click unsubscribe: no more digests (instant alerts are in the bell, not
    e-mailed). The caller commits."""
    member = db.session.get(Member, member_id)
    if member is not None:
        member.digest_frequency = "never"
        db.session.flush()


# --- Fan-out -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A member one of whose miles matched, through the nearest such mile."""

    member_id: int
    mode: str
    distance_m: float
    timezone: str
    quiet_start: int
    quiet_end: int


def matching_miles_query(point: LatLon, subject: str, author_id: int, dialect: str):
    """The miles whose centre lies within a mile of `point`, with their member's choice for
    `subject` (NULL: the default) and what timing needs; never the author's, nor those of
    suspended or deleted members, nor of members blocked either way with the author."""
    distance = distance_m(dialect, Mile.center, point)
    return (
        select(
            Mile.member_id, distance.label("distance_m"), AlertPreference.mode, AlertPreference.categories,
            Member.timezone, Member.quiet_start, Member.quiet_end,
        )
        .join(Member, Member.id == Mile.member_id)
        .outerjoin(AlertPreference, and_(AlertPreference.mile_id == Mile.id, AlertPreference.subject == subject))
        .where(within_metres(dialect, Mile.center, Mile.id, point, MILE_METRES))
        .where(
            Mile.member_id != author_id,
            Member.suspended_at.is_(None),
            Member.deleted_at.is_(None),
            Mile.member_id.notin_(blocked_either_way(author_id)),
        )
    )


def recipients(points: list[LatLon], subject: str, author_id: int, category: str | None) -> list[Recipient]:
    """Who hears about an ad shown at `points` (one per placement), each through their
    nearest mile that wants it; the loudest choice wins when two miles of a member match."""
    dialect = dialect_of(db.session)
    loudness = {"instant": 2, "digest": 1}
    best: dict[int, Recipient] = {}
    for point in points:
        for row in db.session.execute(matching_miles_query(point, subject, author_id, dialect)):
            mode = row.mode or DEFAULT_ALERT_MODES[subject]
            wanted = {c for c in (row.categories or "").split(",") if c}
            if mode == "off" or (category and wanted and category not in wanted):
                continue
            found = Recipient(row.member_id, mode, float(row.distance_m), row.timezone, row.quiet_start,
                              row.quiet_end)
            known = best.get(row.member_id)
            # The loudest choice, then the nearest mile.
            if known is None or (loudness[mode], -found.distance_m) > (loudness[known.mode], -known.distance_m):
                best[row.member_id] = found
    return list(best.values())


def instant_alerts_today(members: list[Recipient], now: datetime) -> dict[int, int]:
    """How many instant alerts each member got since their local midnight (one query)."""
    if not members:
        return {}
    since = {m.member_id: timing.start_of_local_day(now, m.timezone) for m in members}
    counted: dict[int, int] = dict.fromkeys(since, 0)
    ids = sorted(since)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows = db.session.execute(
            select(Notification.member_id, Notification.created_at).where(
                Notification.member_id.in_(chunk),
                Notification.kind.in_(tuple(ALERT_KINDS.values())),
                Notification.created_at >= min(since[i] for i in chunk),
            )
        )
        for member_id, created_at in rows:
            if created_at >= since[member_id]:
                counted[member_id] += 1
    return counted


def fan_out(target_type: str, target_id: int, subject: str, author_id: int, points: list[LatLon],
            category: str | None = None) -> int:
    """Alert the neighbours of a new public ad (see the module's docstring); the number of
    members reached one way or another. The caller's unit of work commits."""
    now = utcnow()
    found = recipients(points, subject, author_id, category)
    cap = current_app.config["ALERT_DAILY_CAP"]
    instant = [r for r in found if r.mode == "instant"]
    sent_today = instant_alerts_today(instant, now)
    later = []
    for recipient in found:
        if recipient.mode == "instant":
            held_until = timing.quiet_until(now, recipient.timezone, recipient.quiet_start, recipient.quiet_end)
            if held_until is not None:
                later.append(_alert_row(recipient, target_type, target_id, "held", held_until, now))
            elif sent_today[recipient.member_id] < cap:
                # The detail keeps the distance, for the band the sentence shows (only to them).
                notify(recipient.member_id, ALERT_KINDS[target_type], target_id=target_id,
                       detail=str(round(recipient.distance_m)))
            else:
                later.append(_alert_row(recipient, target_type, target_id, "digest", None, now))
        else:
            later.append(_alert_row(recipient, target_type, target_id, "digest", None, now))
    if later:
        db.session.execute(insert(AdAlert), later)
    db.session.flush()
    return len(found)


def _alert_row(recipient: Recipient, target_type: str, target_id: int, delivery: str,
               due_at: datetime | None, now: datetime) -> dict:
    return {"member_id": recipient.member_id, "target_type": target_type, "target_id": target_id,
            "distance_m": recipient.distance_m, "delivery": delivery, "due_at": due_at, "created_at": now}


def listing_posted(listing) -> int:
    """A listing was just posted (placements flushed): alert its neighbours."""
    if listing.hidden_at is not None or not listing.is_public_at(utcnow()):
        return 0
    points = list({point_latlon(p.point) for p in listing.placements})
    subject = "requests" if listing.kind == "request" else "offers"
    return fan_out("listing", listing.id, subject, listing.author_id, points, listing.category)


def project_published(project) -> int:
    """A moderator approved a project: alert the neighbours of its public point."""
    return fan_out("project", project.id, "projects", project.owner_id, [point_latlon(project.point)])


def mag_published(mag) -> int:
    """A mag was created: alert the neighbours of its public point."""
    if mag.hidden_at is not None:
        return 0
    return fan_out("mag", mag.id, "mags", mag.owner_id, [point_latlon(mag.point)])

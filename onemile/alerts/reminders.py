"""Reminders about ads, and what `flask alerts tick` does every few minutes: remind an
author three days before their ad expires (once per expiry), release the instant alerts held
through quiet hours, and end an offer marked given or taken, telling those who asked."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..models import AdAlert, Conversation, ExpiryReminder, Listing, Mag, Member, Project, utcnow
from ..models.protection import can_list
from ..notifications.services import notify
from ..unit_of_work import insert_once
from . import timing
from .services import ALERT_KINDS, instant_alerts_today

OUTCOMES = ("given", "taken")


def end_offer(author: Member, listing_id: int, outcome: str) -> Listing:
    """The author marks their open offer given or taken: it closes, and every member who
    answered it (its conversations' responders) is told. The caller commits."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.author_id != author.id:
        raise NotFoundError("listing")
    if outcome not in OUTCOMES:
        raise RuleError(_("Say whether it was given or taken."))
    if listing.kind != "offer":
        raise RuleError(_("Only an offer can be marked as given or taken."))
    if listing.status != "open":
        raise RuleError(_("This offer has already ended."))
    listing.status, listing.ended_as = "closed", outcome
    for conversation_id, responder_id in db.session.execute(
        select(Conversation.id, Conversation.responder_id).where(Conversation.listing_id == listing.id)
    ):
        notify(responder_id, "offer_ended", actor_id=author.id, target_id=conversation_id)
    db.session.flush()
    return listing


def remind_expiring(now=None) -> int:
    """Notify the author of every open listing expiring within EXPIRY_REMINDER_DAYS, once
    per expiry (a renewal moves it: the next expiry gets its own reminder). Returns how
    many reminders were sent by this call."""
    now = now or utcnow()
    horizon = now + timedelta(days=current_app.config["EXPIRY_REMINDER_DAYS"])
    due = db.session.execute(
        select(Listing.id, Listing.author_id, Listing.expires_at).where(
            Listing.status == "open", Listing.hidden_at.is_(None),
            Listing.expires_at > now, Listing.expires_at <= horizon,
            Listing.id.notin_(select(ExpiryReminder.listing_id).where(ExpiryReminder.expires_at == Listing.expires_at)),
        ).order_by(Listing.id)
    ).all()
    sent = 0
    for listing_id, author_id, expires_at in due:
        _, created = insert_once(
            lambda listing_id=listing_id, expires_at=expires_at: db.session.scalar(
                select(ExpiryReminder).where(ExpiryReminder.listing_id == listing_id,
                                             ExpiryReminder.expires_at == expires_at)),
            lambda listing_id=listing_id, expires_at=expires_at: ExpiryReminder(
                listing_id=listing_id, expires_at=expires_at),
        )
        if created:
            notify(author_id, "expiry_reminder", target_id=listing_id)
            sent += 1
    return sent


_MODELS = {"listing": Listing, "project": Project, "mag": Mag}


def release_held(now=None) -> int:
    """Instant alerts held through quiet hours whose morning has come: sent now if the ad is
    still listed for the member and today's cap allows, else moved to the digest; an ad
    gone meanwhile (closed, hidden, a block) is dropped. Returns how many were sent."""
    now = now or utcnow()
    held = list(db.session.scalars(
        select(AdAlert).where(AdAlert.delivery == "held", AdAlert.due_at <= now).order_by(AdAlert.id)
    ))
    if not held:
        return 0
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_({a.member_id for a in held})))}
    counts = instant_alerts_today(
        [_Clock(member.id, member.timezone) for member in members.values()], now)
    cap, sent, gone = current_app.config["ALERT_DAILY_CAP"], 0, []
    for alert in held:
        target = db.session.get(_MODELS[alert.target_type], alert.target_id)
        member = members.get(alert.member_id)
        if target is None or member is None or not can_list(member.id, target, now):
            gone.append(alert.id)
        elif counts[member.id] < cap:
            notify(member.id, ALERT_KINDS[alert.target_type], target_id=alert.target_id,
                   detail=str(round(alert.distance_m)))
            counts[member.id] += 1
            gone.append(alert.id)
            sent += 1
        else:
            alert.delivery, alert.due_at = "digest", None
    if gone:
        db.session.execute(delete(AdAlert).where(AdAlert.id.in_(gone)))
    db.session.flush()
    return sent


class _Clock:
    """What instant_alerts_today needs of a member."""

    def __init__(self, member_id: int, timezone: str):
        self.member_id, self.timezone = member_id, timezone


def tick(now=None) -> dict[str, int]:
    """One pass of `flask alerts tick` (idempotent: run it every few minutes)."""
    now = now or utcnow()
    return {"reminders": remind_expiring(now), "released": release_held(now)}


__all__ = ["end_offer", "release_held", "remind_expiring", "tick", "timing"]

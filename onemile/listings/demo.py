"""The demo's ads (onemile.demo): about 150 requests and offers written in French (the text
lives in onemile/demo_data/ads.toml), posted by the demo's people through the real service and
placed in time (a few closed, a few expired), so that the neighbourhood looks lived in."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ..demo import Story
from ..demo_data import read
from ..demo_data.cast import MEMBERS
from ..extensions import db
from ..models import Listing, ListingKind, ListingStatus, Member, MemberKind
from .services import ListingData, create_listing

LISTING_SPREAD_DAYS = 25

# Every ad: (who, kind, category, title, text). kind is "request" or an offer type; who is a
# member key, a neighbourhood (a person living there writes it) or None (any person).
ADS: tuple[tuple[str | None, str, str, str, str], ...] = tuple(
    (ad.get("who"), ad["kind"], ad["category"], ad["title"], " ".join(ad["text"].strip().splitlines()))
    for ad in read("ads")["ads"]
)

CLOSED_COUNT = 9
EXPIRED_COUNT = 6
TWO_MILES_SHARE = 0.3


def ads(story: Story) -> dict:
    """Post every ad, in date order so that ids grow with time, as on a real site."""
    lifetime = timedelta(days=current_app.config["LISTING_LIFETIME_DAYS"])
    plans = _plan_listings(story.members, story.rng, story.now, lifetime)
    for plan in sorted(plans, key=lambda p: p.created_at):
        listing = create_listing(plan.author, plan.data)
        listing.created_at, listing.updated_at = plan.created_at, plan.updated_at
        listing.expires_at, listing.status = plan.expires_at, plan.status
    db.session.flush()
    return {"listings": db.session.scalar(select(func.count()).select_from(Listing))}


@dataclass(frozen=True)
class _Plan:
    author: Member
    data: ListingData
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status: str


def _plan_listings(
    members: dict[str, Member], rng: random.Random, now: datetime, lifetime: timedelta
) -> list[_Plan]:
    """Choose an author, miles, dates and a state for every ad."""
    specs = {spec.key: spec for spec in MEMBERS}
    people = [key for key, spec in specs.items() if spec.kind == MemberKind.PERSON and key != "demo"]
    load = dict.fromkeys(people, 0)

    def pick_person(neighbourhood: str | None) -> str:
        pool = [k for k in people if neighbourhood is None or specs[k].home == neighbourhood]
        fewest = min(load[k] for k in pool or people)
        key = rng.choice([k for k in pool or people if load[k] == fewest])
        load[key] += 1
        return key

    states = [ListingStatus.CLOSED] * CLOSED_COUNT + [ListingStatus.EXPIRED] * EXPIRED_COUNT
    states += [ListingStatus.OPEN] * (len(ADS) - len(states))
    rng.shuffle(states)
    plans = []
    for (who, kind, category, title, body), status in zip(ADS, states, strict=True):
        key = who if who in specs else pick_person(who)
        author = members[key]
        miles = [mile.id for mile in author.miles]
        primary = author.primary_mile.id
        chosen = (primary,)
        if len(miles) > 1 and rng.random() < TWO_MILES_SHARE:
            chosen = (primary, rng.choice([m for m in miles if m != primary]))
        data = ListingData(
            kind=ListingKind.REQUEST if kind == ListingKind.REQUEST else ListingKind.OFFER,
            offer_type=None if kind == ListingKind.REQUEST else kind,
            category=category,
            title=title,
            body=body,
            mile_ids=chosen,
        )
        plans.append(_timed(author, data, status, rng, now, lifetime))
    return plans


def _timed(author: Member, data: ListingData, status: str, rng: random.Random,
           now: datetime, lifetime: timedelta) -> _Plan:
    """Place the listing in time: posting date, last change, expiry and state."""
    if status == ListingStatus.EXPIRED:
        # Expired the way the app expires listings, a full lifetime after posting: a few
        # days ago, so these were posted a little more than a lifetime ago.
        expires = now - timedelta(minutes=rng.randrange(6 * 60, 5 * 24 * 60))
        return _Plan(author, data, expires - lifetime, expires, expires, status)
    created = now - timedelta(minutes=rng.randrange(30, LISTING_SPREAD_DAYS * 24 * 60))
    expires = created + lifetime
    updated = created
    if status == ListingStatus.CLOSED:
        updated = created + (now - created) / 2
    elif expires <= now:  # only with a lifetime shorter than the spread
        status = ListingStatus.EXPIRED
    return _Plan(author, data, created, updated, expires, status)

"""Demo data: a lively neighbourhood around Mulhouse, the first 1Mile community.

``load_demo()`` fills an empty database with 41 members (people, businesses and associations)
living in Mulhouse's neighbourhoods and the towns around it, their miles, and about 150
requests and offers written in French (the text lives in ``onemile/demo_data/*.toml``).
Everything goes through the real services
(registration, miles, listings), so validation, primary miles and the shifted public points of
listings are exactly those of the app. A fixed seed (``random.Random(1609)``) makes every run
give the same members, places and ads; only dates are relative to the moment of loading.

Every demo member signs in with the password ``entraide-mulhouse``. The easiest account to
remember is ``demo@1mile.local`` (a person living in Mulhouse centre, with two miles); the
others are ``prenom.nom@demo.1mile.local``, e.g. ``lea.muller@demo.1mile.local``.

Run it with ``flask setup`` (migrations, then the demo on an empty database) or
``flask demo load``. It refuses to run when the database already has members.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from sqlalchemy import func, select

from .auth.services import SignupData, hash_password, register
from .conversations import services as conversations
from .demo_data import read
from .extensions import db
from .geo import LatLon, destination
from .listings.services import ListingData, create_listing
from .mags.demo import load_demo_mags
from .miles.services import add_mile, move_mile, rename_mile
from .models import (
    CompletionStatus,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    MemberKind,
    Mile,
    Transfer,
    utcnow,
)
from .projects.demo import load_projects
from .smiles.services import balance_of

DEMO_PASSWORD = "entraide-mulhouse"
DEMO_EMAIL = "demo@1mile.local"
EMAIL_DOMAIN = "demo.1mile.local"
SEED = 1609
LISTING_SPREAD_DAYS = 25

_PLACES = read("neighbourhood")
# Neighbourhoods and nearby towns: centre point and postal code (all within about 6 km of
# Mulhouse's centre), and other places people go to: work, school, their parents.
NEIGHBOURHOODS: dict[str, tuple[float, float, str]] = {
    name: tuple(value) for name, value in _PLACES["neighbourhoods"].items()
}
LANDMARKS: dict[str, tuple[float, float]] = {name: tuple(value) for name, value in _PLACES["landmarks"].items()}


@dataclass(frozen=True)
class DemoMember:
    """One demo member: who they are, where they live, and their other miles."""

    key: str
    first_name: str
    last_name: str
    kind: str
    home: str
    home_mile: str = "Maison"
    organisation: str | None = None
    extra_miles: tuple[tuple[str, str], ...] = ()
    email: str | None = None


MEMBERS: tuple[DemoMember, ...] = tuple(
    DemoMember(**{**spec, "extra_miles": tuple(tuple(mile) for mile in spec.get("extra_miles", ()))})
    for spec in _PLACES["members"]
)

# Every ad: (who, kind, category, title, text). kind is "request" or an offer type; who is a
# member key, a neighbourhood (a person living there writes it) or None (any person).
ADS: tuple[tuple[str | None, str, str, str, str], ...] = tuple(
    (ad.get("who"), ad["kind"], ad["category"], ad["title"], " ".join(ad["text"].strip().splitlines()))
    for ad in read("ads")["ads"]
)

CLOSED_COUNT = 9
EXPIRED_COUNT = 6
TWO_MILES_SHARE = 0.3


def load_demo() -> dict:
    """Fill an empty database with the Mulhouse demo neighbourhood; return what was made.

    Works with or without a request context (the services translate their messages, and
    Babel's locale selector reads the request). Raises RuntimeError when members already exist.
    """
    if has_request_context():
        return _load()
    with current_app.test_request_context():
        return _load()


def _load() -> dict:
    if db.session.scalar(select(func.count()).select_from(Member)):
        raise RuntimeError(
            "The database already has members: demo data is only loaded into an empty database."
        )
    rng = random.Random(SEED)
    now = utcnow().replace(second=0, microsecond=0)
    # One scrypt hash of the shared password serves every demo member: hashing costs about
    # 0.2 s by design, which 41 sign-ups would pay for nothing.
    shared_hash = hash_password(DEMO_PASSWORD)
    members = {spec.key: _create_member(spec, rng, now, shared_hash) for spec in MEMBERS}
    lifetime = timedelta(days=current_app.config["LISTING_LIFETIME_DAYS"])
    plans = _plan_listings(members, rng, now, lifetime)
    # Created in date order so that ids grow with time, as on a real site.
    for plan in sorted(plans, key=lambda p: p.created_at):
        listing = create_listing(plan.author, plan.data)
        listing.created_at, listing.updated_at = plan.created_at, plan.updated_at
        listing.expires_at, listing.status = plan.expires_at, plan.status
    db.session.flush()
    # Demo addresses are not real: no notification e-mail may leave while the demo plays.
    for member in members.values():
        member.email_notifications = False
    exchanges = _exchanges(members, rng, now)
    exchanges.update(load_projects(members, now))  # projects of general interest (onemile.projects.demo)
    exchanges.update(load_demo_mags(members, now))
    # Notification e-mails are decided when their transaction commits: commit the whole demo
    # while e-mails are off, then turn them back on (the command's edge commits that).
    db.session.commit()
    for member in members.values():
        member.email_notifications = True
    db.session.flush()
    return {
        "members": db.session.scalar(select(func.count()).select_from(Member)),
        "miles": db.session.scalar(select(func.count()).select_from(Mile)),
        "listings": db.session.scalar(select(func.count()).select_from(Listing)),
        **exchanges,
    }


def _email(spec: DemoMember) -> str:
    if spec.email:
        return spec.email
    local = f"{spec.first_name}.{spec.last_name}".lower().replace(" ", "")
    ascii_local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return f"{ascii_local}@{EMAIL_DOMAIN}"


def _near(place: str, rng: random.Random, max_m: float = 450.0) -> LatLon:
    """A point somewhere in the neighbourhood or around the landmark."""
    lat, lon = NEIGHBOURHOODS[place][:2] if place in NEIGHBOURHOODS else LANDMARKS[place]
    return destination(LatLon(lat, lon), rng.uniform(0.0, 360.0), rng.uniform(40.0, max_m))


def _create_member(spec: DemoMember, rng: random.Random, now: datetime, password_hash: str) -> Member:
    """Sign the member up, then set the first mile on their real place and add the others,
    as a member would in the app after sign-up."""
    home = _near(spec.home, rng)
    member = register(
        SignupData(
            email=_email(spec),
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            postal_code=NEIGHBOURHOODS[spec.home][2],
            country="FR",
            kind=spec.kind,
            organisation_name=spec.organisation,
            language="fr",
            picked_point=home,
        ),
        password_hash=password_hash,
    )
    first = member.miles[0]
    # Sign-up puts every 68100/68200 member on the same Mulhouse centroid, named after the
    # town; members then move and rename it.
    rename_mile(member, first.id, spec.home_mile)
    move_mile(member, first.id, home)
    for name, place in spec.extra_miles:
        add_mile(member, name, _near(place, rng))
    joined = now - timedelta(days=rng.uniform(35, 180), minutes=rng.randrange(24 * 60))
    member.created_at = joined
    # Demo members confirmed their address when they joined: they can post and answer.
    member.email_verified_at = joined
    for mile in member.miles:
        mile.created_at = joined + timedelta(minutes=rng.randrange(5, 60 * 24 * 7))
    return member


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


# --- Conversations, finished services and smiles (the exchange loop) ----------------------

# What people say under the ads: the opener, the author's reply, a follow-up, the thanks.
OPENERS, REPLIES, FOLLOW_UPS, THANKS = (
    tuple(_PLACES["phrases"][name]) for name in ("openers", "replies", "follow_ups", "thanks")
)
CONVERSATION_COUNT = 48
FINISHED_COUNT = 18
PENDING_COUNT = 3


def _exchanges(members: dict[str, Member], rng: random.Random, now: datetime) -> dict:
    """Conversations under open listings, some services finished and paid in smiles, a few
    confirmations still pending (one of them waits for the demo account)."""
    people = list(members.values())
    demo = members_by_email(people, DEMO_EMAIL)
    listings = db.session.scalars(
        select(Listing).where(Listing.status == ListingStatus.OPEN, Listing.expires_at > now).order_by(Listing.id)
    ).all()
    chosen = rng.sample(listings, min(CONVERSATION_COUNT, len(listings)))
    # The demo account takes part: it answers two offers and a request, and its own ads get
    # answers. It is thanked with a smile for the request, and one offer waits for it to
    # confirm, so the whole loop can be tried from that account.
    others = [item for item in listings if item.author_id != demo.id]
    demo_offers = [item for item in others if item.kind == ListingKind.OFFER][:2] + [
        item for item in others if item.kind == ListingKind.REQUEST
    ][:1]
    chosen = demo_offers + [item for item in chosen if item not in demo_offers]
    threads = []
    for index, listing in enumerate(chosen):
        if index < len(demo_offers):
            responder = demo
        else:
            responder = rng.choice([m for m in people if m.id != listing.author_id])
        author = db.session.get(Member, listing.author_id)
        start = listing.created_at + timedelta(hours=rng.uniform(1, 48))
        conversation = conversations.answer(responder, listing.id, rng.choice(OPENERS))
        lines = [(author, rng.choice(REPLIES)), (responder, rng.choice(FOLLOW_UPS))]
        for sender, body in lines[: rng.randint(1, 2)]:
            conversations.post_message(sender, conversation.id, body)
        for step, message in enumerate(conversation.messages):
            message.created_at = min(now, start + timedelta(minutes=37 * step + rng.randint(0, 30)))
        conversation.created_at = conversation.messages[0].created_at
        conversation.last_message_at = conversation.messages[-1].created_at
        threads.append((conversation, author, responder))
    db.session.flush()

    finished = pending = 0
    waiting: set[int] = set()  # beneficiaries with a confirmation pending (one each)
    for conversation, author, responder in threads:
        helper_is_author = conversation.listing.kind == ListingKind.OFFER
        beneficiary = responder if helper_is_author else author
        if balance_of(beneficiary.id) < 1 or beneficiary.id in waiting:
            continue
        if helper_is_author and pending < PENDING_COUNT and (pending > 0 or beneficiary.id == demo.id):
            conversations.mark_done(author, conversation.id)  # waits for the beneficiary
            waiting.add(beneficiary.id)
            pending += 1
        elif beneficiary.id != demo.id and finished < FINISHED_COUNT:
            talked_until = conversation.last_message_at
            completion = conversations.mark_done(author, conversation.id)
            if completion.status == CompletionStatus.PENDING:
                conversations.confirm(beneficiary, completion.id)
            thanks = conversations.post_message(beneficiary, conversation.id, rng.choice(THANKS))
            # Dated like the rest of the story: the service happened after the talk.
            done_at = min(now, talked_until + timedelta(hours=rng.uniform(4, 48)))
            completion.created_at = completion.resolved_at = done_at
            paid = db.session.scalar(select(Transfer).where(Transfer.idempotency_key == f"service:{completion.id}"))
            paid.created_at = done_at
            thanks.created_at = conversation.last_message_at = min(now, done_at + timedelta(minutes=20))
            finished += 1
    db.session.flush()
    return {"conversations": len(threads), "services_finished": finished, "confirmations_pending": pending}


def members_by_email(people: list[Member], email: str) -> Member:
    """The demo member with this address."""
    return next(member for member in people if member.email == email)

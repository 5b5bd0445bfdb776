"""The demo's people (onemile.demo): 41 members (people, businesses and associations) living in
Mulhouse's neighbourhoods and the towns around it, signed up through the real services, with
their miles.

Every demo member signs in with the password ``entraide-mulhouse``. The easiest account to
remember is ``demo@1mile.local`` (a person living in Mulhouse centre, with two miles); the
others are ``prenom.nom@demo.1mile.local``, e.g. ``lea.muller@demo.1mile.local``.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..demo import Story
from ..demo_data.cast import LANDMARKS, MEMBERS, NEIGHBOURHOODS, DemoMember
from ..extensions import db
from ..geo import LatLon, destination
from ..miles.services import add_mile, move_mile, rename_mile
from ..models import Member, Mile
from .services import SignupData, hash_password, register

DEMO_PASSWORD = "entraide-mulhouse"
DEMO_EMAIL = "demo@1mile.local"
EMAIL_DOMAIN = "demo.1mile.local"



def people(story: Story) -> dict:
    """Sign every demo member up (`story.members`, by key). Demo addresses are not real: their
    notification e-mails are off while the demo plays (onemile.demo turns them back on)."""
    # One scrypt hash of the shared password serves every demo member: hashing costs about
    # 0.2 s by design, which 41 sign-ups would pay for nothing.
    shared_hash = hash_password(DEMO_PASSWORD)
    for spec in MEMBERS:
        story.members[spec.key] = _create_member(spec, story.rng, story.now, shared_hash)
    for member in story.members.values():
        member.email_notifications = False
    db.session.flush()
    return {
        "members": db.session.scalar(select(func.count()).select_from(Member)),
        "miles": db.session.scalar(select(func.count()).select_from(Mile)),
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

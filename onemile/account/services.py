"""Account rules: blocking members, downloading my data, deleting my account.

Deleting keeps the member row as an anonymous tombstone ("Former member"): the smiles
ledger keeps both legs of every transfer (so `flask smiles verify` still holds) and the
other side of a conversation keeps its history. Everything that identifies the person goes:
e-mail (freed for a new account), names, postal code, miles (exact points), listings (the
text of those others answered), pledges and offers to volunteer, projects that never went
public, mags with their pictures, mag comments and follows, notifications, blocks, and the
password. A running project is closed as abandoned and stays readable for its supporters,
signed "Former member" (see projects.services.forget_member).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import selectinload

from .. import timezones
from ..auth.services import password_matches
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..models import Block, Member, utcnow
from ..unit_of_work import after_commit, insert_once
from .signals import export_time, member_exported, member_forgotten

# Never a valid werkzeug hash (no "$"), so no password ever matches a deleted account.
DELETED_PASSWORD_HASH = "deleted"


# --- Blocks --------------------------------------------------------------------------------


def block(member: Member, other_id: int) -> Member:
    """Block another member (idempotent). Returns the member blocked."""
    if other_id == member.id:
        raise RuleError(_("You cannot block yourself."))
    other = db.session.get(Member, other_id)
    if other is None or other.is_deleted:
        raise NotFoundError("member")
    # Already blocked (a double click, another tab): the block that is there is the answer.
    insert_once(
        lambda: db.session.scalar(select(Block).filter_by(blocker_id=member.id, blocked_id=other.id)),
        lambda: Block(blocker_id=member.id, blocked_id=other.id),
    )
    return other


def unblock(member: Member, other_id: int) -> None:
    """Lift a block the member made (a block made by the other side stays)."""
    removed = db.session.execute(
        delete(Block).where(Block.blocker_id == member.id, Block.blocked_id == other_id)
    ).rowcount
    if not removed:
        raise NotFoundError("block")
    db.session.flush()


def blocks_of(member: Member) -> list[Block]:
    """The members this member blocked, most recent first."""
    return list(
        db.session.scalars(
            select(Block)
            .where(Block.blocker_id == member.id)
            .options(selectinload(Block.blocked))
            .order_by(Block.id.desc())
        )
    )


# --- Download my data ----------------------------------------------------------------------


def export_data(member: Member) -> dict:
    """Everything 1Mile holds about the member, as JSON-ready data: the profile here, and
    each feature's part from its answer to `member_exported` (miles with their exact
    centres, listings, conversations with only the messages the member wrote, smiles,
    notifications, projects, mags, blocks).
    """
    export = {"format": "1mile-export-1", "exported_at": export_time(utcnow()), "profile": _profile(member)}
    member_exported.send(member, export=export)
    return export


def _profile(member: Member) -> dict:
    return {
        "id": member.id,
        "email": member.email,
        "email_verified_at": export_time(member.email_verified_at),
        "first_name": member.first_name,
        "last_name": member.last_name,
        "kind": member.kind,
        "organisation_name": member.organisation_name,
        "postal_code": member.postal_code,
        "country": member.country,
        "language": member.language,
        "map_layers": sorted(member.enabled_layers),
        "email_notifications": member.email_notifications,
        "referral_code": member.referral_code,
        "referred_by_id": member.referred_by_id,
        "created_at": export_time(member.created_at),
    }


def set_timezone(member: Member, name: str, *, detected: bool = False) -> bool:
    """Times are shown to the member in zone `name` (an IANA name; RuleError otherwise).

    `detected`: reported by their browser, which only replaces the zone every member starts
    with (timezones.detection_wanted), so that a choice made on the account page is not
    undone by a trip. True when it changed."""
    if not timezones.is_valid(name):
        raise RuleError(_("Choose a time zone from the list."), field="timezone")
    if detected and (name == timezones.DEFAULT or not timezones.detection_wanted(member)):
        # "UTC" is what a browser that hides its zone reports (Firefox's resistFingerprinting,
        # Tor Browser, a container or test browser left unset): kept, it would stop the real
        # zone, reported later from the member's phone, from ever being taken.
        return False
    changed = member.timezone != name
    member.timezone = name
    db.session.flush()
    return changed


def export_blocks(member: Member, export: dict) -> None:
    """The members this member blocked (the account's own part of the download)."""
    export["blocks"] = [
        {"member_id": b.blocked_id, "name": b.blocked.display_name, "since": export_time(b.created_at)}
        for b in blocks_of(member)
    ]


def forget_blocks(member: Member, after_commit: list) -> None:
    """Blocks made by or against the member go with the account."""
    db.session.execute(delete(Block).where(or_(Block.blocker_id == member.id, Block.blocked_id == member.id)))


def connect() -> None:
    """Answer the account's signals for blocks (account.setup)."""
    member_exported.connect(export_blocks, weak=False)
    member_forgotten.connect(forget_blocks, weak=False)


# --- Delete my account ---------------------------------------------------------------------


def delete_account(member: Member, password: str) -> None:
    """Delete the member's account for good, after checking their password.

    In one transaction, each feature forgets its part (`member_forgotten`): pending
    confirmations involving them are cancelled; their listings are deleted (one that others
    answered is kept closed, off the map and without its text, so that their conversations
    stay); their mags (pictures too), mag comments and follows, miles, notifications and
    blocks are deleted; then the member row becomes an anonymous tombstone that keeps the
    smiles account and the messages they wrote in others' conversations, shown as
    "Former member".
    """
    if not password_matches(member, password):
        raise RuleError(_("Wrong password."), "password")
    effects: list = []
    member_forgotten.send(member, after_commit=effects)
    member.email = f"deleted-{member.id}@deleted.invalid"
    member.password_hash = DELETED_PASSWORD_HASH
    member.first_name = member.last_name = member.postal_code = ""
    member.organisation_name = None
    member.referral_code = None
    member.referred_by_id = None
    member.email_notifications = False
    member.is_moderator = False
    member.deleted_at = utcnow()
    db.session.flush()
    # After the commit: a rollback must not lose a kept project's or mag's pictures.
    for effect in effects:
        after_commit(effect)

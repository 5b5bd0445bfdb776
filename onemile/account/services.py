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

from dataclasses import asdict
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload

from ..auth.services import password_matches
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import point_latlon
from ..images import discard_images
from ..mags import services as mags
from ..models import (
    Block,
    Completion,
    Conversation,
    Listing,
    Member,
    Message,
    Notification,
    utcnow,
)
from ..projects import services as projects
from ..smiles.services import balance_of, history
from ..unit_of_work import after_commit, insert_once

# More than anyone's lifetime of transfers: the download holds the whole history.
EXPORT_HISTORY_LIMIT = 100_000
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


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def export_data(member: Member) -> dict:
    """Everything 1Mile holds about the member, as JSON-ready data.

    Exact mile centres are included: they are the member's own. Of conversations, only the
    messages the member wrote: the other side's words are theirs.
    """
    return {
        "format": "1mile-export-1",
        "exported_at": _time(utcnow()),
        "profile": _profile(member),
        "miles": [
            {
                "id": mile.id,
                "name": mile.name,
                "latitude": mile.center_latlon.lat,
                "longitude": mile.center_latlon.lon,
                "is_primary": mile.is_primary,
                "created_at": _time(mile.created_at),
            }
            for mile in member.miles
        ],
        "listings": [_listing(listing) for listing in _listings(member)],
        "conversations": _conversations(member),
        # projects, pledges, volunteering, project_smiles
        **projects.export_for(member),
        "smiles": {
            "balance": balance_of(member.id),
            "history": [
                {**asdict(line), "created_at": _time(line.created_at)}
                for line in history(member.id, limit=EXPORT_HISTORY_LIMIT)
            ],
        },
        "notifications": [
            {
                "kind": n.kind,
                "created_at": _time(n.created_at),
                "read_at": _time(n.read_at),
                "listing_id": n.listing_id,
                "conversation_id": n.conversation_id,
            }
            for n in db.session.scalars(
                select(Notification).where(Notification.member_id == member.id).order_by(Notification.id)
            )
        ],
        "blocks": [
            {"member_id": b.blocked_id, "name": b.blocked.display_name, "since": _time(b.created_at)}
            for b in blocks_of(member)
        ],
        **mags.export_of(member),
    }


def _profile(member: Member) -> dict:
    return {
        "id": member.id,
        "email": member.email,
        "email_verified_at": _time(member.email_verified_at),
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
        "created_at": _time(member.created_at),
    }


def _listings(member: Member) -> list[Listing]:
    return list(
        db.session.scalars(
            select(Listing)
            .where(Listing.author_id == member.id)
            .options(selectinload(Listing.placements))
            .order_by(Listing.id)
        )
    )


def _listing(listing: Listing) -> dict:
    return {
        "id": listing.id,
        "kind": listing.kind,
        "offer_type": listing.offer_type,
        "category": listing.category,
        "title": listing.title,
        "body": listing.body,
        "status": listing.status,
        "location_mode": listing.location_mode,
        "created_at": _time(listing.created_at),
        "updated_at": _time(listing.updated_at),
        "expires_at": _time(listing.expires_at),
        "shown_at": [
            {"mile_id": p.mile_id, "latitude": point_latlon(p.point).lat, "longitude": point_latlon(p.point).lon}
            for p in listing.placements
        ],
    }


def _conversations(member: Member) -> list[dict]:
    conversations = db.session.scalars(
        select(Conversation)
        .join(Listing, Listing.id == Conversation.listing_id)
        .where(or_(Conversation.responder_id == member.id, Listing.author_id == member.id))
        .options(selectinload(Conversation.listing))
        .order_by(Conversation.id)
    ).all()
    mine: dict[int, list[Message]] = {}
    for message in db.session.scalars(
        select(Message)
        .where(Message.sender_id == member.id, Message.conversation_id.in_([c.id for c in conversations]))
        .order_by(Message.id)
    ):
        mine.setdefault(message.conversation_id, []).append(message)
    return [
        {
            "id": c.id,
            "listing_id": c.listing_id,
            "listing_title": c.listing.title,
            "my_role": "responder" if c.responder_id == member.id else "author",
            "created_at": _time(c.created_at),
            "my_messages": [
                {"id": m.id, "body": m.body, "created_at": _time(m.created_at)} for m in mine.get(c.id, [])
            ],
        }
        for c in conversations
    ]


# --- Delete my account ---------------------------------------------------------------------


def delete_account(member: Member, password: str) -> None:
    """Delete the member's account for good, after checking their password.

    In one transaction: pending confirmations involving them are cancelled; their listings
    are deleted (one that others answered is kept closed, off the map and without its text,
    so that their conversations stay); their mags (pictures too), mag comments and follows,
    miles, notifications and blocks are deleted; the
    member row becomes an anonymous tombstone that keeps the smiles account and the
    messages they wrote in others' conversations, shown as "Former member".
    """
    if not password_matches(member, password):
        raise RuleError(_("Wrong password."), "password")
    now = utcnow()
    db.session.execute(
        update(Completion)
        .where(
            Completion.status == "pending",
            or_(Completion.helper_id == member.id, Completion.beneficiary_id == member.id),
        )
        .values(status="cancelled", resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    answered = set(
        db.session.scalars(
            select(Conversation.listing_id).join(Listing, Listing.id == Conversation.listing_id)
            .where(Listing.author_id == member.id)
        )
    )
    for listing in list(member.listings):
        if listing.id in answered:
            # Others talked under it: their conversations stay, so the listing row stays
            # too, closed, off the map, without its text (its title names the exchange).
            listing.body = ""
            listing.status = "closed" if listing.status == "open" else listing.status
            listing.placements.clear()
        else:
            db.session.delete(listing)
    photos = projects.forget_member(member)
    mag_pictures = mags.forget_member(member)
    for mile in list(member.miles):
        db.session.delete(mile)
    db.session.execute(delete(Notification).where(Notification.member_id == member.id))
    db.session.execute(delete(Block).where(or_(Block.blocker_id == member.id, Block.blocked_id == member.id)))
    member.email = f"deleted-{member.id}@deleted.invalid"
    member.password_hash = DELETED_PASSWORD_HASH
    member.first_name = member.last_name = member.postal_code = ""
    member.organisation_name = None
    member.referral_code = None
    member.referred_by_id = None
    member.email_notifications = False
    member.is_moderator = False
    member.deleted_at = now
    db.session.flush()
    # After the commit: a rollback must not lose a kept project's or mag's pictures.
    after_commit(lambda: discard_images([*photos, *mag_pictures]))

"""Smiles given freely: a thank-you gift to another member, with a short note, and gifts to
the solidarity pot. Both are ordinary ledger transfers (zero-sum, within the giver's credit
limit), idempotent on the key of the form they came from."""

from __future__ import annotations

from flask_babel import gettext as _

from ..auth.gate import require_verified
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..models import Member, Transfer
from ..models.protection import can_see_member
from .amounts import checked_key, smiles_count
from .services import member_account, pot_account, transfer_once

GIFT_MAX = 20  # smiles in one gift: a thank-you, not a payment
NOTE_MAX = 200


def _clean_note(note: str | None) -> str | None:
    cleaned = (note or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(cleaned) > NOTE_MAX:
        raise RuleError(_("Use at most %(n)d characters.", n=NOTE_MAX), "note")
    return cleaned or None


def _giver(member: Member) -> None:
    require_verified(member)
    if member.is_suspended:
        raise RuleError(_("Your account is suspended: you cannot give smiles."))


def recipient_for(giver: Member, member_id: int) -> Member:
    """The member `giver` may thank with smiles; NotFoundError for one who left, is
    suspended, or is blocked either way (they do not exist for each other)."""
    recipient = db.session.get(Member, member_id)
    if not can_see_member(giver, recipient):
        raise NotFoundError("member")
    return recipient


def give(giver: Member, recipient_id: int, amount, note: str | None, key: str | None) -> Transfer:
    """Give smiles to another member with an optional short note. A replayed form key
    returns the first gift."""
    _giver(giver)
    recipient = recipient_for(giver, recipient_id)
    if recipient.id == giver.id:
        raise RuleError(_("You cannot give smiles to yourself."))
    count = smiles_count(amount, GIFT_MAX)
    cleaned = _clean_note(note)
    key = checked_key(key)
    record, _given = transfer_once(
        member_account(giver.id), member_account(recipient.id), count, "gift", f"gift:{giver.id}:{key}",
        note=cleaned,
    )
    return record


def give_to_pot(giver: Member, amount, key: str | None) -> Transfer:
    """Give smiles to the solidarity pot, which pays the helpers of members at their limit."""
    _giver(giver)
    count = smiles_count(amount, GIFT_MAX)
    key = checked_key(key)
    record, _given = transfer_once(member_account(giver.id), pot_account(), count, "pot_gift", f"pot:{giver.id}:{key}")
    return record

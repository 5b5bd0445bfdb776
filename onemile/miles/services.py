"""Mile rules: 1 to 5 per member, exactly one primary, never delete the last."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import LatLon
from ..listings.placement import place_listing, replace_placements_of_mile
from ..models import MAX_MILES, ListingPlacement, Member, Mile

NAME_MAX = 60


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise RuleError(_("Give your mile a name."), "name")
    if len(cleaned) > NAME_MAX:
        raise RuleError(_("Use at most %(n)d characters.", n=NAME_MAX), "name")
    return cleaned


def own_mile(member: Member, mile_id: int) -> Mile:
    """The member's mile with this id; NotFoundError for anyone else's."""
    mile = db.session.get(Mile, mile_id)
    if mile is None or mile.member_id != member.id:
        raise NotFoundError("mile")
    return mile


def add_mile(member: Member, name: str, center: LatLon, commit: bool = True) -> Mile:
    """Add a mile; the first one becomes primary."""
    count = len(member.miles)
    if count >= MAX_MILES:
        raise RuleError(_("You already have %(n)d miles, the most allowed.", n=MAX_MILES))
    mile = Mile(member=member, name=_clean_name(name), center=center.wkt(), is_primary=count == 0)
    db.session.add(mile)
    if commit:
        db.session.flush()
    return mile


def rename_mile(member: Member, mile_id: int, name: str) -> Mile:
    """Give one of the member's miles a new name."""
    mile = own_mile(member, mile_id)
    mile.name = _clean_name(name)
    db.session.flush()
    return mile


def move_mile(member: Member, mile_id: int, center: LatLon) -> Mile:
    """Move a mile's centre; its listings move with it."""
    mile = own_mile(member, mile_id)
    mile.center = center.wkt()
    db.session.flush()
    replace_placements_of_mile(mile, center)
    db.session.flush()
    return mile


def make_primary(member: Member, mile_id: int) -> Mile:
    """The map opens on the primary mile."""
    mile = own_mile(member, mile_id)
    for other in member.miles:
        other.is_primary = other.id == mile.id
    db.session.flush()
    return mile


def delete_mile(member: Member, mile_id: int) -> None:
    """Delete a mile other than the last one.

    Listings shown only in that mile move to the primary mile rather than vanish.
    """
    mile = own_mile(member, mile_id)
    if len(member.miles) <= 1:
        raise RuleError(_("You cannot delete your only mile."))
    remaining = [m for m in member.miles if m.id != mile.id]
    heir = next((m for m in remaining if m.is_primary), remaining[0])
    heir.is_primary = True
    orphaned = db.session.scalars(
        select(ListingPlacement).where(ListingPlacement.mile_id == mile.id)
    ).all()
    for placement in orphaned:
        listing = placement.listing
        if len(listing.placements) == 1:
            place_listing(listing, heir)
        db.session.delete(placement)
    member.miles.remove(mile)
    db.session.delete(mile)
    db.session.flush()

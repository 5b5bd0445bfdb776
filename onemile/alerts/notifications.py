"""What alerts tell members: a new ad near them, an ad of theirs about to expire, an offer
they asked about given or taken. Registered with the notifications hub by alerts.setup."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Listing, Mag
from ..notifications.kinds import TARGET_TYPES, register_kind, register_target_type


def _load_listings(ids: list[int]) -> dict[int, Listing]:
    """The listings still shown to someone (one a moderator hid alerts nobody any more)."""
    found = db.session.scalars(select(Listing).where(Listing.id.in_(ids), Listing.hidden_at.is_(None)))
    return {listing.id: listing for listing in found}


def _load_mags(ids: list[int]) -> dict[int, Mag]:
    found = db.session.scalars(select(Mag).where(Mag.id.in_(ids), Mag.hidden_at.is_(None)))
    return {mag.id: mag for mag in found}


def register() -> None:
    """Register the listing and mag target types (unless their features did) and the kinds."""
    if "listing" not in TARGET_TYPES:
        register_target_type("listing", Listing, _load_listings,
                             export=lambda listing: {"listing_id": listing.id})
    if "mag" not in TARGET_TYPES:
        register_target_type("mag", Mag, _load_mags)
    register_kind("new_listing", sentence="alerts/notifications/new_listing.html", target="listing",
                  link=lambda _n, listing: ("listings.detail", {"listing_id": listing.id}))
    register_kind("new_project", sentence="alerts/notifications/new_project.html", target="project",
                  link=lambda _n, project: ("projects.detail", {"project_id": project.id}))
    register_kind("new_mag", sentence="alerts/notifications/new_mag.html", target="mag",
                  link=lambda _n, mag: ("mags.show", {"mag_id": mag.id}))
    register_kind("expiry_reminder", sentence="alerts/notifications/expiry_reminder.html", target="listing",
                  link=lambda _n, listing: ("listings.detail", {"listing_id": listing.id}),
                  action="alerts/notifications/_renew.html")
    register_kind("offer_ended", sentence="alerts/notifications/offer_ended.html", target="conversation",
                  link=lambda _n, conversation: ("conversations.show", {"conversation_id": conversation.id}))

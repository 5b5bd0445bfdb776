"""Where a listing is shown: one public point per mile it is posted in.

The point depends on the listing's location mode:
- approximate: a point derived from the secret, the author, the listing and the grid cell
  of the mile's centre (privacy.listing_point; read privacy's docstring for why);
- meeting_place: the public place the author picked, exactly (it is public by nature);
- mile_only: the same shifted point as approximate. It is stored so that lists and the
  nearest panel still find and sort the listing with the spatial index, but it is never
  sent: the map leaves such listings out and the panels show a distance band only.
"""

from __future__ import annotations

from ..extensions import db
from ..geo import LatLon, point_latlon
from ..models import Listing, ListingPlacement, Mile
from ..privacy import listing_point


def meeting_point_of(listing: Listing) -> LatLon | None:
    """The meeting place of a listing in meeting_place mode (all its placements share it)."""
    if listing.location_mode != "meeting_place" or not listing.placements:
        return None
    return listing.placements[0].latlon


def public_point(listing: Listing, mile: Mile, meeting_point: LatLon | None = None) -> LatLon:
    """Where the listing is shown in this mile, by its location mode."""
    if listing.location_mode == "meeting_place":
        point = meeting_point or meeting_point_of(listing)
        if point is not None:
            return point
    return listing_point(mile.member_id, point_latlon(mile.center), listing.id)


def place_listing(listing: Listing, mile: Mile, meeting_point: LatLon | None = None) -> ListingPlacement:
    """Show the listing in the mile at its public point (listing must have an id)."""
    placement = ListingPlacement(listing=listing, mile=mile, kind=listing.kind, listed_at=listing.created_at)
    placement.place(public_point(listing, mile, meeting_point))
    db.session.add(placement)
    return placement


def replace_placements_of_mile(mile: Mile, center: LatLon) -> None:
    """After a mile moved, move every listing shown in it (a meeting place stays put).

    Within the centre's grid cell nothing public changes; to another cell, the new points
    are unrelated to the old ones (see onemile.privacy)."""
    for placement in db.session.query(ListingPlacement).filter_by(mile_id=mile.id):
        if placement.listing.location_mode != "meeting_place":
            placement.place(listing_point(mile.member_id, center, placement.listing_id))

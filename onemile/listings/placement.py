"""Where a listing is shown: one public point per mile it is posted in."""

from ..extensions import db
from ..geo import LatLon, point_latlon
from ..models import Listing, ListingPlacement, Mile
from ..privacy import listing_point


def place_listing(listing: Listing, mile: Mile) -> ListingPlacement:
    """Show the listing in the mile at its stable public point (listing must have an id)."""
    point = listing_point(point_latlon(mile.center), mile.id, listing.id)
    placement = ListingPlacement(listing=listing, mile=mile, kind=listing.kind, point=point.wkt())
    db.session.add(placement)
    return placement


def replace_placements_of_mile(mile: Mile, center: LatLon) -> None:
    """After a mile moved, move every listing shown in it."""
    for placement in db.session.query(ListingPlacement).filter_by(mile_id=mile.id):
        placement.point = listing_point(center, mile.id, placement.listing_id).wkt()

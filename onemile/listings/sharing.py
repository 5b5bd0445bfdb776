"""Share an ad outside 1Mile: a public page behind an unguessable token.

The author turns sharing on (a fresh token) or off (no token: the page is gone). Visitors
see the ad's words and its area as a distance band from the nearest public place name,
measured to the ad's public point: never a point, so nothing more exact than what the map
already shows (and for a "mile only" ad, nothing but a band, as in the lists).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from .. import places
from ..errors import NotFoundError
from ..extensions import db
from ..geo import LatLon, haversine_m
from ..models import Listing, Member, utcnow
from ..models.protection import withheld_from
from ..privacy import distance_band
from .services import own_listing

TOKEN_BYTES = 16


def set_sharing(author: Member, listing_id: int, shared: bool) -> Listing:
    """Share one of the author's ads (a new token each time it is turned on) or stop."""
    listing = own_listing(author, listing_id)
    if shared and listing.share_token is None:
        listing.share_token = secrets.token_urlsafe(TOKEN_BYTES)
    elif not shared:
        listing.share_token = None
    db.session.flush()
    return listing


@dataclass(frozen=True)
class SharedAd:
    """What the public page of a shared ad shows. `available` is False once the ad is no
    longer open (closed, done, expired): the page then says so and shows nothing else."""

    listing: Listing
    available: bool


def shared_ad(viewer, token: str) -> SharedAd:
    """The shared ad behind `token`, for a visitor or a member. NotFoundError when the token
    is unknown (never shared, or sharing turned off) or the trust rule withholds the ad
    (hidden by moderation, author suspended, a block either way)."""
    if not token or len(token) > 64:
        raise NotFoundError("listing")
    listing = db.session.scalar(select(Listing).where(Listing.share_token == token))
    viewer_id = viewer.id if viewer is not None and getattr(viewer, "is_authenticated", False) else None
    if listing is None or withheld_from(viewer_id, listing) or listing.author.is_deleted:
        raise NotFoundError("listing")
    return SharedAd(listing, listing.is_public_at(utcnow()))


@dataclass(frozen=True)
class PublicArea:
    """Where a shared ad is, in words: a band from a public place name."""

    place: str
    band: str


def public_area(listing: Listing) -> PublicArea | None:
    """The ad's area: the distance band between its public point and the nearest public
    place of the author's country (falling back to the author's postal-code locality)."""
    if not listing.placements:
        return None
    point = listing.placements[0].latlon
    author = listing.author
    town = places.nearest_town(author.country, point.lat, point.lon) or places.locate(author.country, author.postal_code)
    if town is None or not town.label:
        return None
    return PublicArea(town.label, distance_band(haversine_m(LatLon(town.latitude, town.longitude), point)))

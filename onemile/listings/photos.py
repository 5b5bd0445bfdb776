"""Photos on ads: up to MAX_LISTING_PHOTOS per listing, the first is the cover.

Pictures go through onemile.images (decoded within bounds, metadata and GPS stripped,
re-encoded in several sizes, WebP on the wire), like every picture of the site. A picture
stored for a save that does not commit is removed by itself (images); a photo removed or
an ad deleted loses its files once the change is committed. Who may load a photo is the
question of who may read its ad (services.photo_allowed, registered as an images guard).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import ARRAY, Integer, Select, any_, bindparam, select
from sqlalchemy.orm import joinedload

from ..errors import RuleError
from ..extensions import db
from ..geo import dialect_of
from ..images import ImageError, discard_images, store_image
from ..models import MAX_LISTING_PHOTOS, Listing, ListingPhoto
from ..unit_of_work import after_commit

FIELD = "photos"


def listings_with_photos(listing_ids: Iterable[int]) -> dict[int, Listing]:
    """The listings of these ids by id, each with its photos (cards and the nearest panel
    show the cover): one statement, built once (geo.PointParameter says why)."""
    statement = _listings_with_photos(dialect_of(db.session))
    rows = db.session.scalars(statement, {"listing_ids": list(listing_ids)}).unique()
    return {listing.id: listing for listing in rows}


@lru_cache(maxsize=2)
def _listings_with_photos(dialect: str) -> Select:
    if dialect == "postgresql":
        # One array parameter: the same text whatever the number of ids, so psycopg
        # prepares it once, where an IN list of 17 or 20 ids was parsed and planned anew on
        # every request (half a millisecond of a mile's list).
        wanted = Listing.id == any_(bindparam("listing_ids", type_=ARRAY(Integer)))
    else:
        wanted = Listing.id.in_(bindparam("listing_ids", expanding=True))
    return select(Listing).where(wanted).options(joinedload(Listing.photos))


@dataclass(frozen=True)
class PhotoChange:
    """What the edit form says of one photo already on the ad: its new place (1 is the
    cover) and whether it goes."""

    photo_id: int
    position: int
    remove: bool = False


def check_count(listing: Listing | None, changes: tuple[PhotoChange, ...], uploads: tuple) -> None:
    """Refuse, before anything is stored, more photos than an ad may have."""
    kept = len(listing.photos) - sum(1 for change in changes if change.remove) if listing else 0
    if kept + len(uploads) > MAX_LISTING_PHOTOS:
        raise RuleError(
            _("An ad has %(n)d photos at most: remove some first, or choose fewer.", n=MAX_LISTING_PHOTOS), FIELD
        )


def _store(upload) -> str:
    """Store one picture; its refusal is reported on the photos field."""
    try:
        return store_image(upload)
    except ImageError as error:
        error.field = FIELD
        raise


def apply_photos(listing: Listing, changes: tuple[PhotoChange, ...], uploads: tuple) -> None:
    """Reorder and remove the ad's photos as asked, then add the uploads after them.

    Call check_count first. The files of removed photos go once the change is committed."""
    current = list(listing.photos)
    by_id = {photo.id: photo for photo in current}
    if any(change.photo_id not in by_id for change in changes):
        raise RuleError(_("This photo is not one of this ad's: reload the page."), FIELD)
    asked = {change.photo_id: change for change in changes}
    removed = [photo for photo in current if photo.id in asked and asked[photo.id].remove]
    # A photo the form did not mention keeps its place; ties keep the former order.
    kept = sorted(
        (photo for photo in current if photo not in removed),
        key=lambda photo: (asked[photo.id].position if photo.id in asked else current.index(photo) + 1,
                           current.index(photo)),
    )
    stored = [_store(upload) for upload in uploads]
    for photo in removed:
        listing.photos.remove(photo)
    for position, photo in enumerate(kept):
        photo.position = position
    for position, name in enumerate(stored, start=len(kept)):
        listing.photos.append(ListingPhoto(image=name, position=position))
    if removed:
        names = [photo.image for photo in removed]
        after_commit(lambda: discard_images(names))


def photo_names(listings) -> list[str]:
    """The stored pictures of these ads."""
    return [photo.image for listing in listings for photo in listing.photos]


def discard_after_commit(listings) -> None:
    """The files of these ads' photos go once their deletion is committed."""
    names = photo_names(listings)
    if names:
        after_commit(lambda: discard_images(names))

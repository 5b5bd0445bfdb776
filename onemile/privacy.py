"""What others may learn about where a member is: shifted points and distance bands."""

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from .geo import LatLon, stable_offset

# Ads in one mile scatter a little around the mile's public anchor so they do not stack;
# averaging them only finds the anchor, itself shifted from the real centre.
LISTING_SCATTER_M = (20.0, 80.0)


def mile_anchor(center: LatLon, mile_id: int) -> LatLon:
    """The public stand-in for a mile's centre: stable, 150–300 m away by default."""
    config = current_app.config
    return stable_offset(
        center,
        config["SECRET_KEY"],
        f"mile:{mile_id}",
        config["PUBLIC_OFFSET_MIN_M"],
        config["PUBLIC_OFFSET_MAX_M"],
    )


def listing_point(center: LatLon, mile_id: int, listing_id: int) -> LatLon:
    """Where a listing placed in a mile is shown to everyone."""
    anchor = mile_anchor(center, mile_id)
    return stable_offset(
        anchor, current_app.config["SECRET_KEY"], f"listing:{listing_id}:{mile_id}", *LISTING_SCATTER_M
    )


def distance_band(metres: float) -> str:
    """A distance rounded to a band, so that exact distances never leak."""
    if metres < 500:
        return _("less than 500 m")
    if metres < 1000:
        return _("less than 1 km")
    if metres < 10_000:
        return _("about %(km)s km", km=format_decimal(round(metres / 1000)))
    if metres < 100_000:
        return _("about %(km)s km", km=format_decimal(round(metres / 10_000) * 10))
    return _("more than 100 km")

"""What others may learn about where a member is: shifted points and distance bands."""

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from .geo import LatLon, stable_offset

# Ads in one mile scatter a little around the mile's public anchor so they do not stack.
# Averaging many ads of one mile only finds the anchor, itself shifted from the real centre
# (a fresh offset per ad would average back to the centre).
LISTING_SCATTER_MAX_M = 80.0


def _scatter_m() -> float:
    config = current_app.config
    return min(LISTING_SCATTER_MAX_M, (config["PUBLIC_OFFSET_MAX_M"] - config["PUBLIC_OFFSET_MIN_M"]) / 2)


def mile_anchor(center: LatLon, mile_id: int) -> LatLon:
    """The public stand-in for a mile's centre: stable, far enough from it that no ad
    scattered around the anchor comes closer than PUBLIC_OFFSET_MIN_M."""
    config = current_app.config
    return stable_offset(
        center,
        config["SECRET_KEY"],
        f"mile:{mile_id}",
        config["PUBLIC_OFFSET_MIN_M"] + _scatter_m(),
        config["PUBLIC_OFFSET_MAX_M"],
    )


def listing_point(center: LatLon, mile_id: int, listing_id: int) -> LatLon:
    """Where a listing placed in a mile is shown to everyone: between PUBLIC_OFFSET_MIN_M
    and PUBLIC_OFFSET_MAX_M + scatter from the centre."""
    anchor = mile_anchor(center, mile_id)
    scatter = _scatter_m()
    return stable_offset(
        anchor, current_app.config["SECRET_KEY"], f"listing:{listing_id}:{mile_id}", scatter / 4, scatter
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

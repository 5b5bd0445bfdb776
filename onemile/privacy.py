"""What others may learn about where a member is: public points and distance bands.

A member's mile centres are private (often their home). Everything others see about where
a member is comes from a *public point* derived here. The observer we defend against
records every public state, before and after each of the member's own actions, and
subtracts them; so each public point is derived from the server secret, the member, the
object and the private point *together*:

    cell    = the ~100 m grid cell (PRIVACY_CELL_M) holding the private centre
    anchor  = cell centre + stable_offset(secret, member id, cell)         (one per place)
    point   = anchor + stable_offset(secret, object key, cell)             (scatter)

Why each part, pair of public states by pair of public states:

- Rename, edit, renew, close and open again, add a second mile at the same place, move the
  mile within its cell, change an ad's precision and back: the cell and the keys are the
  same, so every public point is *identical* before and after; the difference is zero and
  tells nothing. (Keying on the mile's id, as before, made a deleted and re-added mile at
  the same home a fresh sample; several fresh offsets around one place intersect.)
- Move the mile to another cell (for instance from the postal code's public centre to the
  home): the new anchor comes from a new HMAC input, so it is unrelated to the old one.
  The difference (new − old) = (cell move) + (new offset − old offset), and the two
  offsets are independent, so knowing the old centre exactly leaves the new one as
  uncertain as a single public point does (the annulus around the new anchor). Before,
  the offset was keyed on the mile alone: centre + (after − before) gave the home to 8 cm.
- Delete a mile: its ads are placed again in the member's primary mile, around that
  mile's anchor: a state the observer could already see for other ads.
- Re-post an ad (a new ad, a new key): a new scatter around the *same* anchor. Averaging
  many ads of one place finds the anchor, never the centre: the anchor is at least
  PUBLIC_OFFSET_MIN_M + half the cell's diagonal + the scatter away from the cell centre,
  so no public point and no average of them is closer than PUBLIC_OFFSET_MIN_M to any
  point of the cell (the home included).
- Other members' miles created from the same postal code share the cell but not the
  member id: their public points tell nothing about this member's offset.
- What remains: each *distinct cell* a member ever uses gives one independent annulus around
  that cell's centre. A member nudging their mile across many neighbouring cells would let
  an observer intersect those annuli; the best that can ever give is the cell itself, so
  the cell size is the floor of what differencing can reveal. 100 m keeps ads near their
  place (public points lie PUBLIC_OFFSET_MIN_M to about 600 m from the home).

Places a member picks for others to see (a mag, a project) are public on purpose, but a
point within NEAR_MILE_M of one of the author's mile centres is treated like an ad's
approximate point unless the author says it is a public place (a shop, a hall, a square):
see `place_point`. Distances shown to others are always measured to public points and
rounded to bands (`distance_band`).

An organisation's managers act as the organisation (organisations/acting.py): it chose
them, and they post in its miles, so its rules answer them as they would answer it (a
meeting place must lie in one of its miles; a place near one of its centres is shown
approximately). Those answers can tell a manager where the organisation's miles are, which
are its places of activity; no page prints a centre to them, and a member's own miles are
never answered for to anyone else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from flask import current_app, flash
from flask_babel import format_decimal
from flask_babel import gettext as _

from .geo import EARTH_RADIUS_M, LatLon, haversine_m, stable_offset
from .i18n import per_language

# Ads in one place scatter a little around the place's public anchor so they do not stack.
# Averaging many ads of one place only finds the anchor, itself shifted from the real centre
# (a fresh offset per ad would average back to the centre).
LISTING_SCATTER_MAX_M = 80.0
# The side of the grid cells a private centre is snapped to before it is shifted.
PRIVACY_CELL_M = 100.0
# A place picked by a member closer than this to one of their mile centres may be their home.
NEAR_MILE_M = 300.0
# destination() rounds to 1e-7 degree (about a centimetre): keep a margin over the minimum.
_ROUNDING_MARGIN_M = 1.0
_NUMBER_AND_UNIT = re.compile(r"(\d) (k?m)\b")
_DEGREES_LAT = PRIVACY_CELL_M / (math.pi * EARTH_RADIUS_M / 180.0)


@dataclass(frozen=True)
class Cell:
    """The grid cell holding a private point: its index, centre and half diagonal."""

    row: int
    col: int
    center: LatLon
    half_diagonal_m: float

    @property
    def key(self) -> str:
        return f"{self.row}:{self.col}"


def cell_of(point: LatLon) -> Cell:
    """The ~PRIVACY_CELL_M grid cell holding point.

    Rows are bands of equal latitude; each row's columns are as wide in metres as the row
    is tall, measured at the row's middle latitude, so the grid stays put forever.
    """
    row = math.floor(point.lat / _DEGREES_LAT)
    south = max(-90.0, row * _DEGREES_LAT)
    north = min(90.0, south + _DEGREES_LAT)
    middle = (south + north) / 2
    degrees_lon = _DEGREES_LAT / max(0.01, math.cos(math.radians(middle)))
    col = math.floor((point.lon + 180.0) / degrees_lon)
    west = col * degrees_lon - 180.0
    east = min(180.0, west + degrees_lon)
    center = LatLon(round(middle, 7), round((west + east) / 2, 7))
    corners = [LatLon(lat, lon) for lat in (south, north) for lon in (west, east)]
    return Cell(row, col, center, max(haversine_m(center, corner) for corner in corners))


def _scatter_m() -> float:
    config = current_app.config
    return min(LISTING_SCATTER_MAX_M, (config["PUBLIC_OFFSET_MAX_M"] - config["PUBLIC_OFFSET_MIN_M"]) / 2)


def _anchor(member_id: int, cell: Cell) -> LatLon:
    config = current_app.config
    closest = config["PUBLIC_OFFSET_MIN_M"] + cell.half_diagonal_m + _scatter_m() + _ROUNDING_MARGIN_M
    width = config["PUBLIC_OFFSET_MAX_M"] - config["PUBLIC_OFFSET_MIN_M"]
    return stable_offset(cell.center, config["SECRET_KEY"], f"anchor:{member_id}:{cell.key}", closest, closest + width)


def mile_anchor(member_id: int, center: LatLon) -> LatLon:
    """The public stand-in for a member's private centre: the same for every mile of the
    member in one cell, unrelated between cells, never closer than PUBLIC_OFFSET_MIN_M +
    the scatter to any point of the cell."""
    return _anchor(member_id, cell_of(center))


def approximate_point(member_id: int, center: LatLon, key: str) -> LatLon:
    """Where an object (`key`, e.g. "listing:12") of a member is shown approximately: a
    stable scatter around the anchor of the private centre; at least PUBLIC_OFFSET_MIN_M
    from every point of the centre's cell."""
    cell = cell_of(center)
    scatter = _scatter_m()
    return stable_offset(
        _anchor(member_id, cell), current_app.config["SECRET_KEY"], f"{key}:{cell.key}", scatter / 4, scatter
    )


def farthest_offset_m(center: LatLon) -> float:
    """The farthest an approximate point can lie from the private centre it stands for."""
    config = current_app.config
    return config["PUBLIC_OFFSET_MAX_M"] + 2 * (cell_of(center).half_diagonal_m + _scatter_m()) + _ROUNDING_MARGIN_M


def listing_point(member_id: int, center: LatLon, listing_id: int) -> LatLon:
    """Where a listing placed in a mile centred at `center` is shown to everyone. A listing
    shown in two miles of one place gets one point (the key holds no mile id)."""
    return approximate_point(member_id, center, f"listing:{listing_id}")


def nearest_private_centre(centres, point: LatLon) -> LatLon | None:
    """The private centre within NEAR_MILE_M of point (the nearest), or None."""
    near = [(haversine_m(centre, point), centre) for centre in centres]
    near = [found for found in near if found[0] < NEAR_MILE_M]
    return min(near, key=lambda found: found[0])[1] if near else None


def place_point(member, point: LatLon, public_place: bool, key: str) -> tuple[LatLon, bool]:
    """The point to publish for a place `member` picked (a mag, a project), and whether it
    was made approximate.

    A point within NEAR_MILE_M of one of the member's mile centres may well be their home
    (a form once prefilled it): unless the member says it is a public place, it is shown
    like an ad's approximate point around that centre, keyed on the object.
    """
    if public_place:
        return point, False
    centre = nearest_private_centre((mile.center_latlon for mile in member.miles), point)
    if centre is None:
        return point, False
    return approximate_point(member.id, centre, key), True


def picker_start(member) -> LatLon:
    """Where a map picker opens (a mag's or a project's place, an ad's meeting place): the
    public anchor of the member's primary mile, never its private centre, so that no page
    carries a centre (a manager acting for an organisation fills its forms); the fields
    themselves start empty."""
    return mile_anchor(member.id, member.primary_mile.center_latlon)


def say_if_approximate(chosen: LatLon | None, shown: LatLon) -> None:
    """Tell the author when the place they picked is shown approximately (place_point)."""
    if chosen is not None and haversine_m(chosen, shown) > _ROUNDING_MARGIN_M:
        flash(
            _(
                "This place is less than %(m)d m from the centre of one of your miles, so it is shown"
                " approximately, like your ads. If it is a public place (a shop, a hall, a square),"
                " edit it and tick the box to show it exactly.",
                m=int(NEAR_MILE_M),
            ),
            "info",
        )


def distance_band(metres: float) -> str:
    """A distance rounded to a band, so that exact distances never leak."""
    if metres < 500:
        return _band_words("500 m")
    if metres < 1000:
        return _band_words("1 km")
    if metres < 10_000:
        return _band_words(round(metres / 1000))
    if metres < 100_000:
        return _band_words(round(metres / 10_000) * 10)
    return _band_words("100 km")


@per_language
def _band_words(band: str | int) -> str:
    """What a band says, in the reader's language: "less than" the first two, "more than"
    the last, "about" a number of km (a few dozen bands, each put in words once)."""
    if band == "500 m":
        words = _("less than 500 m")
    elif band == "1 km":
        words = _("less than 1 km")
    elif band == "100 km":
        words = _("more than 100 km")
    else:
        words = _("about %(km)s km", km=format_decimal(band))
    # The number and its unit stay on one line (a narrow list wrapped "500 / m").
    return _NUMBER_AND_UNIT.sub("\\1\u00a0\\2", words)

"""Map routes: the member's map, the visitors' read-only map, and their fragments."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from .. import places
from ..config import MILE_METRES
from ..forms import country_choices
from ..geo import InvalidCoordinates, LatLon
from ..htmx import page_or_fragment, wants_fragment
from ..models.member import MAP_LAYERS
from . import bp, services

# Where visitors start before they pick a place: Mulhouse, the first 1Mile community.
VISITOR_DEFAULT = LatLon(47.7508, 7.3359)


def _point_from_args(default: LatLon) -> LatLon:
    try:
        return LatLon.parse(request.args["lat"], request.args["lon"])
    except (KeyError, InvalidCoordinates):
        return default


def _box_from_args(default: services.Box) -> services.Box:
    try:
        south, west, north, east = (float(request.args[k]) for k in ("south", "west", "north", "east"))
        LatLon.parse(south, west), LatLon.parse(north, east)
    except (KeyError, ValueError):
        return default
    if south > north or west > east:
        return default
    return services.Box(south, west, north, east)


def _layers() -> set[str]:
    if current_user.is_authenticated:
        return current_user.enabled_layers
    return services.parse_layers(session.get("layers", MAP_LAYERS))


def _context(markers: bool = True, nearby: bool = True) -> dict:
    """Everything the map page and its fragments need, for members and visitors alike.

    A fragment asks only for its own part: the markers fragment does not run the nearest
    query, and the reverse.
    """
    visitor = not current_user.is_authenticated
    if visitor:
        mile, circle_center = None, _point_from_args(VISITOR_DEFAULT)
    else:
        mile = current_user.mile_or_primary(request.args.get("mile", type=int))
        circle_center = mile.center_latlon
    avatar = _point_from_args(circle_center)
    layers = _layers()
    box = _box_from_args(services.Box.around(avatar, MILE_METRES))
    shown = (
        services.markers_in_box(box, layers, None if visitor else current_user.id, current_app.config["MAP_MARKER_CAP"])
        if markers
        else services.MapMarkers([], [], False)
    )
    return {
        "visitor": visitor,
        "mile": mile,
        "circle_center": circle_center,
        "avatar": avatar,
        "layers": layers,
        "all_layers": MAP_LAYERS,
        "box": box,
        "markers": shown.markers,
        "clusters": shown.clusters,
        "truncated": shown.truncated,
        "nearby": services.nearest_listings(avatar, layers, viewer_id=None if visitor else current_user.id)
        if nearby
        else [],
        "radius_m": MILE_METRES,
        "countries": country_choices() if visitor else [],
    }


@bp.get("/map")
@login_required
def show():
    """The member's map: the mile, the avatar, layers, markers and the nearest panel."""
    return page_or_fragment("map/page.html", "content", **_context())


@bp.get("/explore")
def explore():
    """The visitors' read-only map around a place they pick (by point or postal code)."""
    code, country = request.args.get("postal_code", "").strip(), request.args.get("country", "FR")
    if code:
        place = places.locate(country, code)
        if place is not None:
            return redirect(url_for("map.explore", lat=place.latitude, lon=place.longitude))
        context = _context()
        context["place_error"] = True
        return render_template("map/page.html", **context), 422
    return page_or_fragment("map/page.html", "content", **_context())


@bp.get("/map/markers")
def markers():
    """Markers of the visible area (fragment for htmx, the whole map otherwise)."""
    return page_or_fragment("map/page.html", "markers", **_context(nearby=not wants_fragment()))


@bp.get("/map/nearest")
def nearest():
    """The five nearest requests and offers from the avatar."""
    return page_or_fragment("map/page.html", "nearest", **_context(markers=not wants_fragment()))


@bp.post("/map/layers")
def layers():
    """Switch layers on or off; remembered for members, kept in the session for visitors."""
    chosen = services.parse_layers(request.form.getlist("layer"))
    if current_user.is_authenticated:
        services.set_member_layers(current_user, chosen)
    else:
        session["layers"] = sorted(chosen)
    if request.headers.get("HX-Request") == "true":
        response = page_or_fragment(
            "map/page.html", "layer_toggles", **_context(markers=False, nearby=False)
        )
        response.headers["HX-Trigger"] = "layers-changed"
        return response
    return redirect(request.referrer if _same_site(request.referrer) else url_for("main.home"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)

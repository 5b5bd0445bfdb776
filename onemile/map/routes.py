"""Map routes: the member's map, the visitors' read-only map, and their fragments."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..config import MILE_METRES
from ..forms import ExplorePlaceForm
from ..geo import Box, LatLon
from ..models.member import MAP_LAYERS
from ..models.protection import list_viewer_id
from ..place_names import QUERY_MAX
from ..replicas import read_only
from ..web import page_or_fragment, see_other_to, wants_fragment
from . import bp, services

# Where visitors start before they pick a place: Mulhouse, the first 1Mile community.
VISITOR_DEFAULT = LatLon(47.7508, 7.3359)


def _layers() -> set[str]:
    if current_user.is_authenticated:
        return current_user.enabled_layers
    return services.parse_layers(session.get("layers", MAP_LAYERS))


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _place() -> dict:
    """Where the map stands, for members and visitors alike: the mile (none for visitors),
    its circle, the avatar and the layers. Cheap: every part of the map starts from it."""
    visitor = not current_user.is_authenticated
    if visitor:
        mile, circle_center = None, LatLon.from_args(request.args, VISITOR_DEFAULT)
    else:
        mile = current_user.mile_or_primary(request.args.get("mile", type=int))
        circle_center = mile.center_latlon
    return {
        "visitor": visitor,
        "mile": mile,
        "circle_center": circle_center,
        "avatar": LatLon.from_args(request.args, circle_center),
        "layers": _layers(),
    }


def _markers_context(place: dict) -> dict:
    """The `markers` block: what is in the visible box (the mile around the avatar when the
    map sent no box; one that is no area is a 400)."""
    box = Box.from_args(request.args)
    cap, rows = current_app.config["MAP_MARKER_CAP"], services.ZOOMED_IN_ROWS
    if box is None:  # the page's first view: the mile, in a few hundred pixels
        box = Box.around(place["avatar"])
        cap, rows = min(cap, current_app.config["MAP_FIRST_VIEW_CAP"]), services.FIRST_VIEW_ROWS
    shown = services.markers_in_box(box, place["layers"], _viewer_id(), cap, rows)
    return {
        **place,
        "box": box,
        "markers": shown.markers,
        "clusters": shown.clusters,
        "truncated": shown.truncated,
    }


def _nearest_context(place: dict) -> dict:
    """The `nearest` block: the five nearest requests and offers from the avatar."""
    nearby = services.nearest_listings(place["avatar"], place["layers"], viewer_id=list_viewer_id(current_user))
    return {**place, "nearby": nearby}


def _toggles_context(place: dict) -> dict:
    """The `layer_toggles` block: every layer, and which are on."""
    return {**place, "all_layers": MAP_LAYERS}


def _page_context() -> dict:
    """The whole map page: every block, the mile's radius and the visitors' place picker."""
    place = _place()
    return {
        **_markers_context(place),
        **_nearest_context(place),
        **_toggles_context(place),
        "radius_m": MILE_METRES,
        "place_form": _place_form() if place["visitor"] else None,
    }


def _place_form() -> ExplorePlaceForm:
    """The visitors' place search, showing the name of the place searched last (`near`)."""
    form = ExplorePlaceForm(request.args)
    if not form.place.data:
        # Cut to what the field takes, so that searching again from it is never refused.
        form.place.data = request.args.get("near", "")[:QUERY_MAX]
    return form


def _page_or_block(block: str, block_context) -> Response:
    """The whole map page, or for htmx only `block`, built from `block_context` alone (the
    markers fragment does not run the nearest query, and the reverse)."""
    context = block_context(_place()) if wants_fragment() else _page_context()
    return page_or_fragment("map/page.html", block, **context)


@bp.get("/map")
@read_only
@login_required
def show():
    """The member's map: the mile, the avatar, layers, markers and the nearest panel."""
    return page_or_fragment("map/page.html", "content", **_page_context())


@bp.get("/explore")
@read_only
def explore():
    """The visitors' read-only map around a place they pick: a point, or a town,
    neighbourhood or postal code (``postal_code=`` too, as links made before used it)."""
    args = request.args.copy()
    if args.get("postal_code") and not args.get("place"):
        args["place"] = args["postal_code"]
    if args.get("place") or args.get("place_id"):
        form = ExplorePlaceForm(args)
        place = form.chosen_place(form.country.data or "FR")
        if place is not None:
            # `near` keeps the name in the search field: the page says which place it shows.
            return redirect(url_for("map.explore", lat=place.latitude, lon=place.longitude, near=place.name))
        return render_template("map/page.html", **{**_page_context(), "place_form": form}), 422
    return page_or_fragment("map/page.html", "content", **_page_context())


@bp.get("/map/markers")
@read_only
def markers():
    """Markers of the visible area (fragment for htmx, the whole map otherwise)."""
    return _page_or_block("markers", _markers_context)


@bp.get("/map/nearest")
@read_only
def nearest():
    """The five nearest requests and offers from the avatar."""
    return _page_or_block("nearest", _nearest_context)


@bp.post("/map/layers")
def layers():
    """Switch layers on or off; remembered for members, kept in the session for visitors."""
    chosen = services.parse_layers(request.form.getlist("layer"))
    if current_user.is_authenticated:
        services.set_member_layers(current_user, chosen)
    else:
        session["layers"] = sorted(chosen)
    if wants_fragment():
        response = page_or_fragment("map/page.html", "layer_toggles", **_toggles_context(_place()))
        response.headers["HX-Trigger"] = "layers-changed"
        return response
    return see_other_to(request.referrer if _same_site(request.referrer) else url_for("main.home"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)

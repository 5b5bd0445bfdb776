"""Gazetteer routes: suggestions for htmx, a plain results page without JavaScript."""

from __future__ import annotations

import re

from flask import make_response, render_template, request
from flask_login import current_user

from .. import place_names
from ..extensions import limiter
from ..forms import country_choices
from ..geo import InvalidCoordinates, LatLon
from ..htmx import vary_on_htmx, wants_fragment
from . import bp

# Typing sends one request per pause (300 ms): a fast typist stays far below this.
SEARCH_LIMIT = "60 per minute; 600 per hour"
MIN_QUERY = 2
_LIST_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


def _near() -> LatLon | None:
    """Where to rank from: the point sent, else the member's main mile (the suggestions are
    shown to that member only), else nowhere (population alone)."""
    try:
        return LatLon.parse(request.args["lat"], request.args["lon"])
    except (KeyError, InvalidCoordinates):
        pass
    mile = current_user.primary_mile if current_user.is_authenticated else None
    return mile.center_latlon if mile is not None else None


def default_country() -> str:
    """The member's country, else France (the first community)."""
    return current_user.country if current_user.is_authenticated and current_user.country else "FR"


@bp.get("/search")
@limiter.limit(SEARCH_LIMIT)
def search():
    """Places whose name (or postal code) starts like the query, best first."""
    query = request.args.get("place", "").strip()[: place_names.QUERY_MAX]
    country = request.args.get("country", "").strip().upper() or default_country()
    found = place_names.search(country, query, _near()) if len(place_names.fold(query)) >= MIN_QUERY else []
    list_id = request.args.get("list", "")
    context = {
        "found": found, "query": query, "country": country,
        "list_id": list_id if _LIST_ID.fullmatch(list_id) else "place-list",
    }
    if wants_fragment():
        return vary_on_htmx(make_response(render_template("gazetteer/_suggestions.html", **context)))
    return vary_on_htmx(make_response(render_template("gazetteer/search.html", countries=country_choices(), **context)))

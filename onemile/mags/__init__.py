"""Mags: local web magazines with articles, photos, comments and sharing, on the map."""

from flask import Blueprint

bp = Blueprint("mags", __name__, url_prefix="/mags")

from . import reportables, routes  # noqa: F401  (register the `mags` map layer and reportable types)

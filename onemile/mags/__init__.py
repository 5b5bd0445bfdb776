"""Mags: local web magazines with articles, photos, comments and sharing, on the map."""

from flask import Blueprint

bp = Blueprint("mags", __name__, url_prefix="/mags")

from . import routes  # noqa: F401  (its services register the `mags` map layer)

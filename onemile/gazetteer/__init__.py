"""Gazetteer: find a town, a neighbourhood or a postal code by name, offline, as one types.

Used by the sign-up form, "add a mile" and the visitors' map (see place_names.py for the data
and the matching)."""

from flask import Blueprint

bp = Blueprint("gazetteer", __name__, url_prefix="/places")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app: its blueprint."""
    app.register_blueprint(bp)

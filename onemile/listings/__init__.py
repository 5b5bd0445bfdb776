"""Listings: requests and offers posted in a member's miles."""

from flask import Blueprint

bp = Blueprint("listings", __name__, url_prefix="/listings")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup)."""
    app.register_blueprint(bp)

"""Conversations under a listing, and finishing a service with a smile."""

from flask import Blueprint

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

from . import (
    live_pages,
    member_data,
    notifications,
    routes,  # noqa: F401
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds, its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    live_pages.connect()
    notifications.register()
    member_data.connect()

"""Conversations under a listing, and finishing a service with a smile."""

from flask import Blueprint

from ..demo import register_demo

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

from . import (
    demo,
    member_data,
    notifications,
    routes,  # noqa: F401
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds, its part of the data download and of account deletion, the demo's exchanges."""
    app.register_blueprint(bp)
    notifications.register()
    member_data.connect()
    register_demo("exchanges", demo.exchanges, order=30)

"""Notifications: the bell, the notifications page and the e-mails that go with them."""

from flask import Blueprint

from ..web import header_value

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import (
    member_data,
    routes,  # noqa: F401
    services,
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    header_value(app, "unread_notifications", services.unread_count)
    member_data.connect()

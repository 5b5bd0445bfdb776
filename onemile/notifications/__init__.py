"""Notifications: the bell, the notifications page and the e-mails that go with them."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    from . import member_data

    app.register_blueprint(bp)
    member_data.connect()

"""Alerts: neighbours hear of new ads in their miles (at once, or in the digest), the
digest e-mail, and the reminders about ads (expiry, an offer given or taken)."""

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

from . import cli, member_data, notifications, routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app: its blueprint, its notification kinds, its commands,
    its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    notifications.register()
    cli.register(app)
    member_data.connect()

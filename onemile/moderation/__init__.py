"""Reports and moderation: members report content, moderators act on a queue."""

from flask import Blueprint

bp = Blueprint("moderation", __name__)

from . import notifications, reportables, routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds."""
    app.register_blueprint(bp)
    notifications.register()

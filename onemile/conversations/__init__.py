"""Conversations under a listing, and finishing a service with a smile."""

from flask import Blueprint

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup)."""
    app.register_blueprint(bp)
    from . import notifications

    notifications.register()

"""The map: miles, the avatar, layers, markers and the five nearest listings."""

from flask import Blueprint

bp = Blueprint("map", __name__)

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint."""
    app.register_blueprint(bp)

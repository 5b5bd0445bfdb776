"""Accounts: sign up, log in and out, reset a forgotten password."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint."""
    app.register_blueprint(bp)

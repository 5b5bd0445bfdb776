"""My account: the page that gathers my settings, my data (download, delete) and blocks."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import (
    routes,  # noqa: F401
    services,
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    services.connect()

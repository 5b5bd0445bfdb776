"""Miles: a member's 1 to 5 places, each a centre and a one-mile radius."""

from flask import Blueprint

bp = Blueprint("miles", __name__, url_prefix="/miles")

from . import (
    member_data,
    routes,  # noqa: F401
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    member_data.connect()

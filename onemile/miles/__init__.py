"""Miles: a member's 1 to 5 places, each a centre and a one-mile radius."""

from flask import Blueprint

bp = Blueprint("miles", __name__, url_prefix="/miles")

from . import routes  # noqa: F401

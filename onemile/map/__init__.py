"""The map: miles, the avatar, layers, markers and the five nearest listings."""

from flask import Blueprint

bp = Blueprint("map", __name__)

from . import routes  # noqa: F401

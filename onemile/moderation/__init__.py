"""Reports and moderation: members report content, moderators act on a queue."""

from flask import Blueprint

bp = Blueprint("moderation", __name__)

from . import reportables, routes  # noqa: F401

"""Conversations under a listing, and finishing a service with a smile."""

from flask import Blueprint

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

from . import routes  # noqa: F401

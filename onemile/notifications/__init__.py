"""Notifications: the bell, the notifications page and the e-mails that go with them."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import routes  # noqa: F401

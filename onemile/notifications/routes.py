"""Notification routes: thin wrappers around notifications.services."""

from flask import render_template
from flask_login import current_user, login_required

from . import bp, services


@bp.get("/")
@login_required
def index():
    """My notifications, newest first."""
    return render_template("notifications/index.html", notifications=services.recent(current_user.id))

"""Who may reach moderator pages."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def moderator_required(view):
    """Members only, and only moderators: others get 404, so the page's existence stays quiet."""

    @login_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_moderator:
            abort(404)
        return view(*args, **kwargs)

    return wrapped

"""Who may reach moderator pages."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .gate import require_verified


def moderator_required(view):
    """Members only, and only moderators: others get 404, so the page's existence stays quiet."""

    @login_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_moderator:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def verified_required(view):
    """Members with a verified e-mail address only. The check is auth.gate.require_verified;
    its EmailNotVerified is answered by the page that explains how to verify (see
    auth.routes.not_verified), for every route that uses this decorator or whose service
    raises it."""
    @login_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        require_verified(current_user)
        return view(*args, **kwargs)

    return wrapped

"""Conversations under a listing, and finishing a service with a smile."""

from flask import Blueprint

from ..demo import register_demo

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

from . import (
    demo,
    live_pages,
    member_data,
    notifications,
    routes,  # noqa: F401
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds, its part of the data download and of account deletion, the demo's exchanges."""
    app.register_blueprint(bp)
    _header_badge(app)
    live_pages.connect()
    notifications.register()
    member_data.connect()


def _header_badge(app) -> None:
    """`unread_conversations()` for the Messages tab's badge: lazy, once per request, so that
    visitors and htmx fragments that do not draw the tab bar pay no query."""
    from flask import g
    from flask_login import current_user

    from .inbox import unread_conversations

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "_unread_conversations" not in g:
            g._unread_conversations = unread_conversations(current_user.id)
        return g._unread_conversations

    app.context_processor(lambda: {"unread_conversations": count})
    register_demo("exchanges", demo.exchanges, order=30)

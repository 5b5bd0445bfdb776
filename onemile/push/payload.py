"""What a push says: the notification's title and text in the member's language and time
zone, the page it opens, and nothing else (the payload crosses the push service, encrypted,
and is shown on a lock screen).

Every kind of the registry (onemile.notifications.kinds) pushes: its `push(n, target, who)`
gives (title, text) when it registered one; otherwise the title is the app's name and the
text is the kind's own sentence, the line of the notifications page, as plain text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup

from ..mail import public_url
from ..models import Member, Notification
from ..notifications import kinds
from ..timezones import as_member

# Lock screens show about this much; a longer text is cut on a word.
TEXT_LIMIT = 180


def _plain(html: str) -> str:
    return " ".join(Markup(html).striptags().split())


def _shorten(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _path(endpoint: str, **values) -> str:
    # Built outside any request (the worker): from the public address, keeping only the path.
    link = urlsplit(public_url(endpoint, **values))
    return link.path + (f"?{link.query}" if link.query else "")


def compose(notification: Notification, member: Member) -> dict | None:
    """The payload for one notification (None when its kind or its object is gone)."""
    kind = kinds.KINDS.get(notification.kind)
    if kind is None:
        return None
    kinds.load_targets([notification])
    if notification.target_missing:
        return None
    endpoint, values = kind.link_for(notification, notification.target)
    with as_member(member):
        who = notification.actor.display_name if notification.actor else _("A member")
        if kind.push:
            title, text = kind.push(notification, notification.target, who)
        else:
            title = "1Mile"
            text = _plain(render_template("push/_text.html", n=notification, template=kind.sentence))
        return {
            "title": _shorten(str(title), 80),
            "body": _shorten(str(text)),
            # A path of this site: the worker opens it (never another origin).
            "url": _path(endpoint, **values),
            # One notification, one entry on the device: a retry replaces, never doubles.
            "tag": f"n{notification.id}",
            "icon": _path("static", filename="icons/icon-192.png"),
            "lang": member.language or "fr",
        }

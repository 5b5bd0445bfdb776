"""A member's name as shown, linked to their profile for members: one helper every
template calls (`member_link(member)`), a global so that fragments rendered from one block
have it too."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from markupsafe import Markup, escape

from ..models import Member


def member_link(member: Member) -> Markup:
    """The name, as a link to the profile for a signed-in viewer; the plain (escaped) name
    for visitors (profiles are for members) and for a member who left."""
    name = escape(member.display_name)
    if not current_user.is_authenticated or member.is_deleted:
        return Markup(name)
    url = url_for("profiles.show", member_id=member.id)
    return Markup('<a class="member-link" href="{}">{}</a>').format(url, name)

"""Thank-you notes members can report (see moderation.services.register_reportable): a
moderator may hide one, like a comment, or act on its writer."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Member, ThanksNote
from ..models.protection import can_see, can_see_member
from ..moderation.services import Described, hide_content, register_reportable, unhide_content

register_reportable(
    "thanks",
    label=_l("Thank-you note"),
    fetch=lambda note_id: db.session.get(ThanksNote, note_id),
    # Seen on the helper's profile: by whoever may see both the note and that profile.
    visible_to=lambda viewer, note: can_see(viewer, note) and can_see_member(viewer, db.session.get(Member, note.helper_id)),
    describe=lambda note: Described(
        str(_l("Thank-you note")), note.body, note.author_id,
        url_for("profiles.show", member_id=note.helper_id, _anchor=f"thanks-{note.id}"),
    ),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=lambda note: note.hidden_at is not None,
)

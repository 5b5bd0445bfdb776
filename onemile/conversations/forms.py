"""Conversation forms.

The rules on a message (not empty, not too long) live in services._clean_body, which gives
the member a clear message; the form carries the text and the browser hints. CSRFProtect
guards every POST, including the bare buttons that finish a service.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from ..forms import one_time_key
from .services import MESSAGE_MAX


class MessageForm(FlaskForm):
    """Answer a listing, or reply in a conversation."""

    body = TextAreaField(_l("Your message"), render_kw={"required": True, "maxlength": MESSAGE_MAX, "rows": 4})
    client_key = one_time_key()


class AnswerForm(MessageForm):
    """The first message under an ad."""

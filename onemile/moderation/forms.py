"""Report and moderation forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..models import REPORT_REASONS
from .services import DETAILS_MAX, REASON_MAX

REASON_LABELS = {
    "spam": _l("Spam or advertising"),
    "scam": _l("Scam or fraud"),
    "offensive": _l("Insulting, hateful or harassing"),
    "dangerous": _l("Dangerous or illegal"),
    "privacy": _l("Shares someone's private information"),
    "other": _l("Something else"),
}

ACTION_LABELS = {
    "hide": _l("Hide"),
    "unhide": _l("Show again"),
    "warn": _l("Warn the member"),
    "suspend": _l("Suspend the member"),
    "reinstate": _l("Reinstate the member"),
    "dismiss": _l("Dismiss the reports"),
}


class ReportForm(FlaskForm):
    """Tell the moderators what is wrong."""

    reason = RadioField(
        _l("What is wrong?"),
        choices=[SelectChoice(reason, REASON_LABELS[reason]) for reason in REPORT_REASONS],
        validators=[DataRequired(_l("Choose a reason."))],
    )
    details = TextAreaField(
        _l("Details (optional)"),
        validators=[Optional(), Length(max=DETAILS_MAX)],
        render_kw={"maxlength": DETAILS_MAX, "rows": 4},
    )
    next = HiddenField()


class ModerationForm(FlaskForm):
    """One moderator action on a target, with the reason kept in the log."""

    action = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=REASON_MAX)],
        render_kw={"maxlength": REASON_MAX, "rows": 2},
    )

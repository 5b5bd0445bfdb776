"""Account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .. import timezones


class DeleteAccountForm(FlaskForm):
    """Delete my account for good: my password, and a box that says I understand."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
    confirm = BooleanField(
        _l("I understand: my account, my miles and my listings are deleted for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class TimezoneForm(FlaskForm):
    """The time zone my times are shown in (validated against the list)."""

    timezone = SelectField(_l("Time zone"), validators=[DataRequired()], validate_choice=False)

    def __init__(self, *args, current: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The zone in use stays selectable even when it is an alias outside the short list.
        names = timezones.choices()
        if current and current not in names:
            names = sorted([*names, current])
        self.timezone.choices = [(name, timezones.readable(name)) for name in names]


class DetectedTimezoneForm(FlaskForm):
    """What the page script reports: the browser's zone."""

    timezone = StringField(validators=[DataRequired(), Length(max=64)])

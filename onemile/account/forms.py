"""Account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length


class DeleteAccountForm(FlaskForm):
    """Delete my account for good: my password, and a box that says I understand."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
    confirm = BooleanField(
        _l("I understand: my account, my miles and my listings are deleted for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )

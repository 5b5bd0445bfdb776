"""Organisation forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional


class RegistrationForm(FlaskForm):
    """The organisation's SIRET or RNA number."""

    registration_number = StringField(_l("SIRET or RNA number"), validators=[Optional(), Length(max=32)])


class InviteForm(FlaskForm):
    """Invite a manager by e-mail."""

    email = EmailField(_l("E-mail address of the person to invite"), validators=[DataRequired(), Length(max=254)])

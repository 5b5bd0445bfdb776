"""Account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from .. import places
from ..geo import InvalidCoordinates, LatLon
from ..models import MEMBER_KINDS
from .services import password_problem

KIND_LABELS = {
    "person": _l("A person"),
    "business": _l("A business"),
    "association": _l("An association"),
}
OFF_THE_GLOBE = _l(
    "Give a latitude from -90 to 90 and a longitude from -180 to 180, or pick the place on the map."
)


def _strip(value):
    """Mobile keyboards and autofill often add a space around an e-mail address."""
    return value.strip() if isinstance(value, str) else value


class StrongPassword:
    """Rejects passwords that are short, common or built from the e-mail address."""

    def __call__(self, form, field):
        email = form.email.data if hasattr(form, "email") else None
        problem = password_problem(field.data or "", email)
        if problem:
            raise ValidationError(problem)


class SignupForm(FlaskForm):
    """Everything a member gives to join; the first mile comes from the postal code."""

    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200), StrongPassword()])
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    kind = RadioField(
        _l("I am"),
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in MEMBER_KINDS],
        default="person",
        validators=[DataRequired()],
    )
    # No Optional() here: it would stop the chain before validate_organisation_name runs.
    organisation_name = StringField(_l("Organisation name"), validators=[Length(max=120)])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired(), Length(max=16)])
    country = SelectField(_l("Country"), default="FR", validators=[DataRequired()])
    # Filled by the map picker or the browser's geolocation when the postal code is unknown.
    latitude = StringField(_l("Latitude"), validators=[Optional(), Length(max=32)])
    longitude = StringField(_l("Longitude"), validators=[Optional(), Length(max=32)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in places.countries()]

    def validate_organisation_name(self, field):
        if self.kind.data in ("business", "association") and not (field.data or "").strip():
            raise ValidationError(_l("Give the name of your business or association."))

    def validate_postal_code(self, field):
        if self.country.data and not places.is_valid_format(self.country.data, field.data or ""):
            raise ValidationError(_l("This is not a valid postal code for the chosen country."))

    def validate_latitude(self, field):
        """A picked point must lie on the globe: never ignore it silently."""
        try:
            LatLon.parse(field.data, self.longitude.data)
        except InvalidCoordinates:
            raise ValidationError(OFF_THE_GLOBE) from None

    def validate_longitude(self, field):
        """A longitude without its latitude is no point either (the pair is checked above)."""
        if not self.latitude.data:
            raise ValidationError(OFF_THE_GLOBE)


class LoginForm(FlaskForm):
    """E-mail and password, with an option to stay logged in."""

    email = EmailField(_l("E-mail"), filters=[_strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))


class ResetRequestForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )


class ResetPasswordForm(FlaskForm):
    """Choose a new password from a reset link."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200), StrongPassword()])

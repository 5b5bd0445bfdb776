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
from ..forms import PlaceFormMixin, PointFormMixin, country_choices
from ..models import MEMBER_KINDS, MemberKind
from .services import password_problem

KIND_LABELS = {
    "person": _l("A person"),
    "business": _l("A business"),
    "association": _l("An association"),
}


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


class SignupForm(PlaceFormMixin, PointFormMixin, FlaskForm):
    """Everything a member gives to join; the first mile comes from the town or
    neighbourhood picked by name, else the postal code, else the point picked on the map
    (where postal codes are unknown or not used, the town by name is enough)."""

    point_required = False

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
        default=MemberKind.PERSON,
        validators=[DataRequired()],
    )
    # No Optional() here: it would stop the chain before validate_organisation_name runs.
    organisation_name = StringField(_l("Organisation name"), validators=[Length(max=120)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=16)])
    country = SelectField(_l("Country"), default="FR", validators=[DataRequired()])
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in country_choices()]

    def validate_organisation_name(self, field):
        if self.kind.data in (MemberKind.BUSINESS, MemberKind.ASSOCIATION) and not (field.data or "").strip():
            raise ValidationError(_l("Give the name of your business or association."))

    def validate_postal_code(self, field):
        if self.country.data and not places.is_valid_format(self.country.data, field.data or ""):
            raise ValidationError(_l("This is not a valid postal code for the chosen country."))

    def validate_place(self, field):
        no_code = not (self.postal_code.data or "").strip()
        if no_code and not (field.data or "").strip() and not self.place_id.data and not self.point_typed():
            raise ValidationError(_l("Give your postal code, or the name of your town or neighbourhood."))


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


class ResendVerificationForm(FlaskForm):
    """The "send the e-mail again" button (a form only for its CSRF token)."""


class SignInLinkRequestForm(FlaskForm):
    """Ask for a one-time sign-in link by e-mail (no password needed)."""

    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )


class SignInLinkForm(FlaskForm):
    """The button that uses a sign-in link (a POST, so that mail scanners opening the
    link do not use it up), with the same "remember me" as the login form."""

    remember = BooleanField(_l("Remember me"))

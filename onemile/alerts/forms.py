"""Alert forms: the settings page's member-wide fields (the per-mile choices are read by the
route, one group per mile and subject), and the buttons that only carry a CSRF token."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField

HOURS = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]


class AlertSettingsForm(FlaskForm):
    """The digest's rhythm and quiet hours (in the member's time zone, set on the account page)."""

    digest_frequency = SelectField(
        _l("Digest e-mail"),
        choices=[SelectChoice("daily", _l("Every day")), SelectChoice("weekly", _l("Every week")),
                 SelectChoice("never", _l("Never"))],
    )
    quiet_start = SelectField(_l("Quiet from"), choices=HOURS, coerce=int)
    quiet_end = SelectField(_l("Quiet until"), choices=HOURS, coerce=int)


class EndOfferForm(FlaskForm):
    """Mark an offer given or taken: the button carries the CSRF token and the outcome (the
    service refuses any other)."""

    outcome = HiddenField()

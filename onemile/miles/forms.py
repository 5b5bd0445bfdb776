"""Mile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from .services import NAME_MAX


class MoveForm(FlaskForm):
    """A centre, picked on the map or typed by hand.

    FloatField, not DecimalField: Decimal("sNaN") crashes NumberRange (500), while float()
    refuses it as a bad number; NaN and infinities then fail NumberRange.
    """

    latitude = FloatField(_l("Latitude"), validators=[InputRequired(), NumberRange(min=-90, max=90)])
    longitude = FloatField(
        _l("Longitude"), validators=[InputRequired(), NumberRange(min=-180, max=180)]
    )


class MileForm(MoveForm):
    """Add a mile: a name and a centre."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])


class RenameForm(FlaskForm):
    """Rename a mile."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])

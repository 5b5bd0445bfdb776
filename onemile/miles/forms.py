"""Mile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from .services import NAME_MAX


class MoveForm(FlaskForm):
    """A centre, picked on the map or typed by hand."""

    latitude = DecimalField(
        _l("Latitude"), places=None, validators=[InputRequired(), NumberRange(min=-90, max=90)]
    )
    longitude = DecimalField(
        _l("Longitude"), places=None, validators=[InputRequired(), NumberRange(min=-180, max=180)]
    )


class MileForm(MoveForm):
    """Add a mile: a name and a centre."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])


class RenameForm(FlaskForm):
    """Rename a mile."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])

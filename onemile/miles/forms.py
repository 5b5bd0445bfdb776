"""Mile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..forms import PlaceFormMixin, PointFormMixin, country_choices
from .services import NAME_MAX


class MoveForm(PointFormMixin, FlaskForm):
    """A centre, picked on the map or typed by hand."""


class MileForm(PlaceFormMixin, MoveForm):
    """Add a mile: a name and a centre, picked on the map, typed as coordinates, or found by
    town, neighbourhood or postal code (the name then defaults to the place's)."""

    point_required = False
    name = StringField(_l("Name"), validators=[Length(max=NAME_MAX)])
    country = SelectField(_l("Country"), default="FR")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in country_choices()]


class RenameForm(FlaskForm):
    """Rename a mile."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])

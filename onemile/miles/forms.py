"""Mile forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import PointFormMixin
from .services import NAME_MAX


class MoveForm(PointFormMixin, FlaskForm):
    """A centre, picked on the map or typed by hand."""


class MileForm(MoveForm):
    """Add a mile: a name and a centre."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])


class RenameForm(FlaskForm):
    """Rename a mile."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])

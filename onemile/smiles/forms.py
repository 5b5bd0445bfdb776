"""Smiles forms: a thank-you gift to a member, a gift to the solidarity pot. Each carries a
key that is new every time the form is shown, so a double submit gives once."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from .gifts import NOTE_MAX


class GiftForm(FlaskForm):
    """Thank a member with smiles and a short note."""

    amount = StringField(_l("Number of smiles"), default="1", validators=[Length(max=6)], id="gift-amount")
    note = TextAreaField(_l("A short note (optional)"), validators=[Length(max=NOTE_MAX)], id="gift-note")
    key = HiddenField(id="gift-key")


class PotForm(FlaskForm):
    """Give smiles to the solidarity pot."""

    amount = StringField(_l("Number of smiles"), default="1", validators=[Length(max=6)], id="pot-amount")
    key = HiddenField(id="pot-key")

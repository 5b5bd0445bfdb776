"""Mag forms. The rules (lengths, kinds, photo count, alt texts, what a picture is) live in
services and images, which give the member a clear message; the forms carry the values
and the browser hints."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired

from ..forms import IMAGE_ACCEPT, PublicPlaceFormMixin
from ..models import MAG_KINDS, ArticleStatus
from .labels import ARTICLE_STATUS_LABELS, MAG_KIND_LABELS
from .services import ABOUT_MAX, ALT_MAX, BODY_MAX, COMMENT_MAX, TITLE_MAX

# New photo slots shown on the article form at once (an article holds up to 10 photos).
PHOTO_SLOTS = 3


class MagForm(PublicPlaceFormMixin, FlaskForm):
    """Create or edit a mag."""

    title = StringField(_l("Title"), render_kw={"required": True, "maxlength": TITLE_MAX})
    kind = SelectField(_l("Kind of mag"), choices=[SelectChoice(kind, MAG_KIND_LABELS[kind]) for kind in MAG_KINDS],
                       validators=[DataRequired()])
    about = TextAreaField(_l("About"), render_kw={"required": True, "maxlength": ABOUT_MAX, "rows": 5})
    cover = FileField(_l("Cover picture"), render_kw={"accept": IMAGE_ACCEPT})
    cover_alt = StringField(_l("Description of the cover picture"), render_kw={"maxlength": ALT_MAX})
    remove_cover = BooleanField(_l("Remove the cover picture"))


class PhotoSlotForm(Form):
    """One new photo and its description (a plain Form: CSRF is the outer form's)."""

    file = FileField(_l("Photo"), render_kw={"accept": IMAGE_ACCEPT})
    alt = StringField(_l("What the photo shows"), render_kw={"maxlength": ALT_MAX})


class ArticleForm(FlaskForm):
    """Write or edit an article, with new photos."""

    title = StringField(_l("Title"), render_kw={"required": True, "maxlength": TITLE_MAX})
    body = TextAreaField(_l("Text"), render_kw={"required": True, "maxlength": BODY_MAX, "rows": 14})
    # Not named "photos": filled from an Article (obj=), it would take the existing photos.
    new_photos = FieldList(FormField(PhotoSlotForm), min_entries=PHOTO_SLOTS, max_entries=PHOTO_SLOTS)
    status = RadioField(
        _l("State"),
        choices=[SelectChoice(status, label) for status, label in ARTICLE_STATUS_LABELS.items()],
        default=ArticleStatus.DRAFT,
        validators=[DataRequired()],
    )


class CommentForm(FlaskForm):
    """Comment an article."""

    body = TextAreaField(_l("Your comment"), render_kw={"required": True, "maxlength": COMMENT_MAX, "rows": 3})


class ButtonForm(FlaskForm):
    """An empty form: POST buttons (follow, delete) carry its CSRF token."""

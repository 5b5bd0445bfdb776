"""Listing forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..forms import IMAGE_ACCEPT, PointFormMixin, one_time_key
from ..models import CATEGORIES, LOCATION_MODES, MAX_LISTING_PHOTOS, OFFER_TYPES, ListingKind
from .labels import CATEGORY_LABELS, KIND_LABELS, LOCATION_MODE_LABELS, OFFER_TYPE_LABELS
from .services import BODY_MAX, TITLE_MAX


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PhotoOrderForm(Form):
    """One photo already on the ad: its place (1 is the cover) and whether it goes (a plain
    Form: CSRF is the outer form's)."""

    photo_id = IntegerField(widget=HiddenInput())
    position = SelectField(
        _l("Place"), choices=[SelectChoice(n, str(n)) for n in range(1, MAX_LISTING_PHOTOS + 1)], coerce=int
    )
    remove = BooleanField(_l("Remove"))


class ListingForm(PointFormMixin, FlaskForm):
    """Post or edit a request or an offer; latitude/longitude are the meeting place, asked
    for only when the author chooses to be shown there."""

    point_required = False
    client_key = one_time_key()  # a new ad sent twice is posted once (listings.services.create_listing)

    kind = RadioField(
        _l("I am posting"),
        choices=[
            SelectChoice("request", _l("A request: I need help")),
            SelectChoice("offer", _l("An offer: I can help")),
        ],
        default=ListingKind.REQUEST,
        validators=[DataRequired()],
    )
    offer_type = RadioField(
        _l("Kind of offer"),
        choices=[SelectChoice(t, OFFER_TYPE_LABELS[t]) for t in OFFER_TYPES],
        validators=[Optional()],
    )
    # No category is picked for the author: the first one in the list became the category of
    # every ad whose author did not open the list.
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice("", _l("Choose a category"))] + [SelectChoice(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        validators=[DataRequired(message=_l("Choose a category."))],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=BODY_MAX)])
    miles = MultiCheckboxField(_l("Post in my miles"), coerce=int)
    location_mode = RadioField(
        _l("Where it shows on the map"),
        choices=[SelectChoice(mode, LOCATION_MODE_LABELS[mode]) for mode in LOCATION_MODES],
        default="approximate",
        validators=[DataRequired()],
    )

    photos = MultipleFileField(
        _l("Add photos"), render_kw={"accept": IMAGE_ACCEPT, "multiple": True}
    )
    # Not named "photos": filled from a Listing (obj=), it would take the stored photos.
    existing_photos = FieldList(FormField(PhotoOrderForm), max_entries=MAX_LISTING_PHOTOS)

    def meeting_point(self):
        """The meeting place typed or picked, only when that mode is chosen."""
        return self.point() if self.location_mode.data == "meeting_place" else None

    def validate_latitude(self, field):
        # Coordinates left over from another choice must not block an approximate listing.
        if self.location_mode.data == "meeting_place":
            super().validate_latitude(field)


class FilterForm(FlaskForm):
    """Filters of the list of listings (GET, no CSRF)."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Kind"), choices=[SelectChoice("", _l("All"))] + [SelectChoice(k, label) for k, label in KIND_LABELS.items()], validators=[Optional()]
    )
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice("", _l("All"))] + [SelectChoice(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        validators=[Optional()],
    )
    q = StringField(_l("Words"), validators=[Optional(), Length(max=100)])

"""Form pieces shared by several features."""

import unicodedata
from uuid import uuid4

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, ValidationError

from . import place_names, places
from .geo import InvalidCoordinates, LatLon

# What a photo field offers to pick (onemile.images decides what is accepted).
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/gif"
OFF_THE_GLOBE = _l("Give a latitude from -90 to 90 and a longitude from -180 to 180.")


def one_time_key() -> HiddenField:
    """A form's one-time key (`client_key`), new each time the form is shown: the same form
    sent twice (a double click or a reload without JavaScript, two tabs, the offline outbox
    sending again) is taken once, the service finding the row already written with it
    (pwa.outbox.clean_client_key says what a key may be)."""
    return HiddenField(default=lambda: str(uuid4()))


class CoordinateField(StringField):
    """A latitude or a longitude, typed by hand or filled by the map."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, [Length(max=32), *(validators or [])], **kwargs)


class PointFormMixin:
    """Latitude and longitude fields checked as one point on the globe.

    Subclasses set `point_required`; when it is False both fields may be left empty.
    """

    point_required = True
    latitude = CoordinateField(_l("Latitude"))
    longitude = CoordinateField(_l("Longitude"))

    def point(self) -> LatLon | None:
        """The point typed, or None when both fields are empty (and that is allowed)."""
        if not self.point_typed() and not self.point_required:
            return None
        return LatLon.parse(self.latitude.data, self.longitude.data)

    def point_typed(self) -> bool:
        """Whether a point was given at all, on the globe or not (validate_latitude says
        when it is not): other fields' checks ask this, and must not raise."""
        return bool((self.latitude.data or "").strip() or (self.longitude.data or "").strip())

    def validate_latitude(self, field):
        try:
            self.point()
        except InvalidCoordinates:
            raise ValidationError(OFF_THE_GLOBE) from None


class PublicPlaceFormMixin(PointFormMixin):
    """A place for everyone to see (a mag's, a project's), picked by its author: never
    prefilled from a private point, and exact near the author's miles only when they say
    it is a public place (see privacy.place_point)."""

    public_place = BooleanField(_l("This is a public place (a shop, a hall, a square): show it exactly"))

    def validate_latitude(self, field):
        if not (self.latitude.data or "").strip() and not (self.longitude.data or "").strip():
            raise ValidationError(_l("Pick the place on the map, or type its latitude and longitude."))
        super().validate_latitude(field)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country accepted at sign-up, named and sorted in the
    interface language."""
    territories = get_locale().territories if get_locale() else {}
    named = [(code, territories.get(code, english)) for code, english in places.countries()]
    return sorted(named, key=lambda pair: _sort_key(pair[1]))


def _sort_key(name: str) -> str:
    """Sort key that ignores accents and case ("Égypte" sorts with "Egypte")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class PlaceFormMixin:
    """A town, neighbourhood or postal code typed by name (gazetteer/_picker.html): the id of
    the suggestion picked with JavaScript, or the text alone, searched on submit."""

    place = StringField(_l("Town, neighbourhood or postal code"), validators=[Length(max=place_names.QUERY_MAX)])
    # Rendered by the picker as a hidden input (not a HiddenField: hidden_tag() would add a
    # second one, and the "which one?" radios replace it).
    place_id = StringField(validators=[Length(max=40)])
    place_choices: tuple = ()  # set per form by chosen_place

    def chosen_place(self, country: str, near: LatLon | None = None) -> place_names.Found | None:
        """The place picked or typed; None when nothing was typed. When the text matches
        several places and none was picked, they become ``place_choices`` and the field
        asks "which one?" (the way without JavaScript)."""
        picked = place_names.get(self.place_id.data or "")
        if picked is not None:
            return picked
        text = (self.place.data or "").strip()
        if not text:
            return None
        found = place_names.search(country, text, near)
        exact = [f for f in found if place_names.fold(f.name) == place_names.fold(text)]
        if len(found) == 1 or len(exact) == 1:  # "Mulhouse", "Paris": no need to ask
            return (exact or found)[0]
        self.place_choices = tuple(found)
        self.place.errors = [*self.place.errors, _l("Choose your place in the list.") if found
                             else _l("We do not know this place. Try another spelling, or a postal code.")]
        return None


class ExplorePlaceForm(PlaceFormMixin, Form):
    """The visitors' "explore around a place" search (a GET form: no CSRF, nothing written)."""

    country = SelectField(_l("Country"), default="FR")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in country_choices()]

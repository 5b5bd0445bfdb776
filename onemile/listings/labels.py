"""Human names of listing kinds, offer types and categories, in the member's language."""

from flask_babel import lazy_gettext as _l

KIND_LABELS = {"request": _l("Request"), "offer": _l("Offer")}
OFFER_TYPE_LABELS = {
    "give": _l("To give"),
    "lend": _l("To lend"),
    "barter": _l("To barter"),
    "service": _l("Service"),
}
CATEGORY_LABELS = {
    "carpooling": _l("Carpooling"),
    "diy": _l("DIY"),
    "repairs": _l("Repairs and help"),
    "lessons": _l("Lessons"),
    "leisure": _l("Leisure"),
    "goods": _l("Goods"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "open": _l("Open"),
    "done": _l("Done"),
    "closed": _l("Closed"),
    "expired": _l("Expired"),
}
LOCATION_MODE_LABELS = {
    "approximate": _l("Approximately: near my mile, never at my address"),
    "meeting_place": _l("At a public meeting place I pick (a café, a library, a station)"),
    "mile_only": _l("No marker: only listed, with its distance from my mile"),
}

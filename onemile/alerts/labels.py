"""Human names of what alerts are about and how they arrive, in the member's language."""

from flask_babel import lazy_gettext as _l

SUBJECT_LABELS = {
    "requests": _l("New requests"),
    "offers": _l("New offers"),
    "projects": _l("New projects"),
    "mags": _l("New mags"),
}
MODE_LABELS = {
    "instant": _l("At once"),
    "digest": _l("In the digest"),
    "off": _l("Not at all"),
}

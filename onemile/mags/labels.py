"""Human names of mag kinds and article states, in the reader's language."""

from flask_babel import lazy_gettext as _l

MAG_KIND_LABELS = {
    "shop": _l("Shop"),
    "business": _l("Business"),
    "association": _l("Association"),
    "event": _l("Event"),
    "person": _l("Personal"),
}
ARTICLE_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published")}

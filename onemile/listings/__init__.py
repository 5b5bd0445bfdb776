"""Listings: requests and offers posted in a member's miles."""

from flask import Blueprint

from ..demo import register_demo

bp = Blueprint("listings", __name__, url_prefix="/listings")

from ..i18n import TranslatedLabels
from ..images import register_guard
from . import (
    demo,
    labels,
    member_data,
    routes,  # noqa: F401
    services,
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion, who may load an
    ad's photos, and the demo's ads."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        kind_labels=TranslatedLabels(labels.KIND_LABELS),
        offer_type_labels=TranslatedLabels(labels.OFFER_TYPE_LABELS),
        category_labels=TranslatedLabels(labels.CATEGORY_LABELS),
        status_labels=TranslatedLabels(labels.STATUS_LABELS),
    )
    member_data.connect()
    register_guard(services.photo_allowed)
    register_demo("ads", demo.ads, order=20)

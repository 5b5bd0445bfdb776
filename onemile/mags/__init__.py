"""Mags: local web magazines with articles, photos, comments and sharing, on the map."""

from flask import Blueprint

from ..account.signals import connect_services
from ..demo import register_demo

bp = Blueprint("mags", __name__, url_prefix="/mags")

from . import demo, notifications, reportables, routes, services  # noqa: F401  (register the `mags` map layer and reportable types)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds, its part of the data download and of account deletion, its demo mags."""
    app.register_blueprint(bp)
    notifications.register()
    connect_services(services.export_of, services.forget_member)
    register_demo("mags", demo.load_demo_mags, order=50)

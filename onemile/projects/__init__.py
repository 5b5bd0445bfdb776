"""Projects of general interest: proposed by members, approved by moderators, supported
with money pledges, smiles and skills."""

from flask import Blueprint

from ..account.signals import connect_services
from ..demo import register_demo

bp = Blueprint("projects", __name__, url_prefix="/projects")

from . import demo, notifications, reportables, routes, services  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its notification kinds, its part of the data download and of account deletion, its demo projects."""
    app.register_blueprint(bp)
    notifications.register()
    connect_services(services.export_for, services.forget_member)
    register_demo("projects", demo.load_projects, order=40)

"""Projects of general interest: proposed by members, approved by moderators, supported
with money pledges, smiles and skills."""

from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")

from . import reportables, routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup)."""
    app.register_blueprint(bp)
    from . import notifications

    notifications.register()

"""Organisations: public pages of businesses and associations, their verified SIRET or RNA
number, and the managers who act on their behalf."""

from flask import Blueprint

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app: its blueprint, the acting switch checked on every
    request, the moderator actions it logs, its part of the data download and deletion."""
    from flask_babel import lazy_gettext as _l

    from ..moderation.services import register_logged_action
    from . import acting, member_data

    app.register_blueprint(bp)
    acting.init_app(app)
    register_logged_action("verify", _l("Verify the organisation"))
    register_logged_action("unverify", _l("Withdraw the verification"))
    member_data.connect()

    @app.context_processor
    def _acting():
        return {"acting_as": acting.acting_as, "current_actor": acting.current_actor}

"""Member profiles with trust signals: who a member is (name as shown, kind, member since,
verified e-mail), what they did (services rendered and received, thank-you notes), what
they offer (open ads, mags, projects) and what they tell (bio, skills, languages, photo).
Seen by members only, never across a block, never a place."""

from flask import Blueprint

bp = Blueprint("profiles", __name__, url_prefix="/members")

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app: its blueprint, its reportable thank-you notes, its
    part of the data download and of account deletion."""
    from flask_login import current_user

    from . import member_data, reportables  # noqa: F401
    from .links import member_link
    from .services import initials, own_profile

    app.register_blueprint(bp)
    app.add_template_global(initials, "member_initials")
    # The "Me" page shows the member's own avatar (their photo, else their initials).
    app.add_template_global(lambda: own_profile(current_user), "my_profile")
    app.add_template_global(member_link, "member_link")
    member_data.connect()

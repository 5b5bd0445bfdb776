"""Accounts: sign up, log in and out, reset a forgotten password."""

from flask import Blueprint

from ..demo import register_demo
from ..extensions import login_manager

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import demo, routes, sessions  # noqa: F401
from .services import MIN_PASSWORD_LENGTH


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, the member loader, the password length its forms announce, the demo's people."""
    app.register_blueprint(bp)
    # The login session must still be open on the server (see auth.sessions): logging
    # out, a password change or a suspension ends it, copied cookies included.
    login_manager.user_loader(sessions.member_for_session)
    app.jinja_env.globals["min_password_length"] = MIN_PASSWORD_LENGTH
    register_demo("people", demo.people, order=10)

"""Accounts: sign up, log in and out, reset a forgotten password."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import routes  # noqa: F401

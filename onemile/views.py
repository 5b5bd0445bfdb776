"""Pages that belong to no single feature: the landing page and the language switch."""

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from .forms import country_choices
from .redirects import local_path
from .replicas import read_only
from .web import see_other_to

bp = Blueprint("main", __name__)


@bp.get("/")
@read_only
def home():
    """Members go to their map; visitors get the landing page."""
    if current_user.is_authenticated:
        return redirect(url_for("map.show"))
    return render_template("landing.html", countries=country_choices())


@bp.post("/language/<code>")
def set_language(code: str):
    """Switch the interface language; remembered for members."""
    if code not in ("fr", "en"):
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.language = code
    return see_other_to(local_path(request.form.get("next")) or url_for("main.home"))



@bp.get("/me")
@login_required
def me():
    """"Me" on phones: the member's own places (listings, miles, smiles, account…), which
    the header lists on wide screens and the bottom tab bar has no room for."""
    return render_template("me.html")

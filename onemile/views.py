"""Pages that belong to no single feature: the landing page and the language switch."""

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from . import places
from .extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    """Members go to their map; visitors get the landing page."""
    if current_user.is_authenticated:
        return redirect(url_for("map.show"))
    return render_template("landing.html", countries=places.countries())


@bp.post("/language/<code>")
def set_language(code: str):
    """Switch the interface language; remembered for members."""
    if code not in ("fr", "en"):
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.language = code
        db.session.commit()
    target = request.form.get("next", "")
    # Only local paths: an open redirect would let anyone bounce visitors elsewhere.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    return redirect(target)

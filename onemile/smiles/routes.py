"""Smiles routes: my history and balance, and referral links."""

from flask import current_app, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from ..htmx import page_or_fragment, wants_fragment
from . import bp, services


@bp.get("/smiles/")
@login_required
def history():
    """My balance, my transfers newest first, and my invitation link."""
    code = current_user.referral_code
    return render_template(
        "smiles/history.html",
        lines=services.history(current_user.id),
        referral_link=url_for("smiles.join", code=code, _external=True) if code else None,
        referral_bonus=current_app.config["REFERRAL_BONUS"],
    )


@bp.get("/smiles/balance")
@login_required
def balance():
    """The balance in the header, for htmx after a payment; the history page otherwise."""
    if not wants_fragment():
        return redirect(url_for("smiles.history"))
    return page_or_fragment("base.html", "balance")


@bp.get("/join/<code>")
def join(code: str):
    """A referral link: remember who invited the visitor, then on to sign-up.

    An unknown code is simply forgotten (no error tells whether a code exists); members
    who are already in go to their map.
    """
    if current_user.is_authenticated:
        return redirect(url_for("map.show"))
    if services.referrer_for_code(code) is not None:
        session["referral_code"] = code
    return redirect(url_for("auth.signup"))

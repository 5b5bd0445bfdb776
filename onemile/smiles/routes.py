"""Smiles routes: my history and balance, gifts to a member and to the solidarity pot, and
referral links."""

import secrets

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..auth.access import verified_required
from ..extensions import limiter
from ..htmx import page_or_fragment, wants_fragment
from ..web import form_status, see_other, submitted
from . import bp, gifts, services
from .forms import GiftForm, PotForm


def _fresh_key() -> str:
    return secrets.token_urlsafe(16)


def _history_page(pot_form: PotForm | None = None, status: int = 200):
    code = current_user.referral_code
    return render_template(
        "smiles/history.html",
        lines=services.history(current_user.id),
        credit_limit=services.credit_limit_of(current_user.id),
        pot_balance=services.pot_balance(),
        pot_form=pot_form or PotForm(formdata=None, key=_fresh_key()),
        referral_link=url_for("smiles.join", code=code, _external=True) if code else None,
        referral_bonus=current_app.config["REFERRAL_BONUS"],
    ), status


@bp.get("/smiles/")
@login_required
def history():
    """My balance and credit limit, my transfers newest first, the solidarity pot, and my
    invitation link."""
    return _history_page()


@bp.post("/smiles/pot")
@verified_required
@limiter.limit("30 per hour")
def give_to_pot():
    """Give smiles to the solidarity pot."""
    form = PotForm()
    record = submitted(form, lambda: gifts.give_to_pot(current_user, form.amount.data, form.key.data))
    if record is None:
        return _history_page(form, form_status())
    flash(ngettext("Thank you! %(num)d smile went into the solidarity pot.",
                   "Thank you! %(num)d smiles went into the solidarity pot.", record.amount), "success")
    return see_other("smiles.history")


@bp.route("/smiles/give/<int:member_id>", methods=["GET", "POST"])
@verified_required
@limiter.limit("30 per hour", methods=["POST"])
def give(member_id: int):
    """Thank a member with smiles and a short note."""
    recipient = gifts.recipient_for(current_user, member_id)
    form = GiftForm() if request.method == "POST" else GiftForm(formdata=None, key=_fresh_key())
    record = submitted(
        form, lambda: gifts.give(current_user, member_id, form.amount.data, form.note.data, form.key.data)
    )
    if record is None:
        return render_template("smiles/give.html", recipient=recipient, form=form), form_status()
    flash(ngettext("Thank you! %(name)s received %(num)d smile.", "Thank you! %(name)s received %(num)d smiles.",
                   record.amount, name=recipient.display_name), "success")
    return see_other("smiles.history")


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

"""Alert routes: the settings page, the digest's one-click unsubscribe, and ending an offer."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import csrf, limiter
from ..models import ALERT_SUBJECTS, CATEGORIES
from ..web import flash_refusal, form_status, see_other, submitted
from . import bp, digest, reminders, services
from .forms import AlertSettingsForm, EndOfferForm
from .labels import MODE_LABELS, SUBJECT_LABELS


def _choices_from(form_data, mile_ids) -> dict[int, dict[str, services.Choice]]:
    """The per-mile choices as sent: `mile-<id>-<subject>` (a mode) and
    `mile-<id>-<subject>-categories` (ticked categories; none: all)."""
    choices = {}
    for mile_id in mile_ids:
        choices[mile_id] = {}
        for subject in ALERT_SUBJECTS:
            mode = form_data.get(f"mile-{mile_id}-{subject}")
            if mode is None:
                continue
            categories = frozenset(form_data.getlist(f"mile-{mile_id}-{subject}-categories"))
            choices[mile_id][subject] = services.Choice(mode, categories)
    return choices


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """For each of my miles, what I hear about and how; the digest and quiet hours."""
    form = AlertSettingsForm(obj=current_user)
    mile_ids = [mile.id for mile in current_user.miles]
    sent = _choices_from(request.form, mile_ids) if request.method == "POST" else None

    def save():
        services.save_settings(current_user, services.Settings(
            sent, form.digest_frequency.data, form.quiet_start.data, form.quiet_end.data,
        ))
        return True

    if submitted(form, save):
        flash(_("Your alert settings are saved."), "success")
        return see_other("alerts.settings")
    shown = services.choices_of(current_user)
    if sent:  # a refused form shows what was chosen
        for mile_id, subjects in sent.items():
            shown[mile_id].update(subjects)
    return render_template(
        "alerts/settings.html", form=form, miles=current_user.miles, choices=shown,
        subjects=ALERT_SUBJECTS, categories=CATEGORIES, subject_labels=SUBJECT_LABELS,
        mode_labels=MODE_LABELS,
    ), form_status()


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs without a session; the signed token is the proof
@limiter.limit("30 per minute")
def unsubscribe(token: str):
    """One-click unsubscribe from the digest (List-Unsubscribe-Post), and the page its link
    opens: a button that sends the same POST."""
    member_id = digest.member_of_unsubscribe_token(token)
    if member_id is None:
        abort(404)
    if request.method == "POST":
        services.stop_digest(member_id)
        return render_template("alerts/unsubscribed.html")
    return render_template("alerts/unsubscribe.html", token=token)


@bp.post("/listings/<int:listing_id>/end")
@login_required
@limiter.limit("30 per minute")
def end_offer(listing_id: int):
    """Mark one of my offers given or taken (`outcome`): it ends, and those who asked are told."""
    form = EndOfferForm()
    if form.validate_on_submit():
        outcome = form.outcome.data
        flash_refusal(lambda: reminders.end_offer(current_user, listing_id, outcome),
                      _("The offer is marked as given.") if outcome == "given" else _("The offer is marked as taken."))
    return see_other("listings.detail", listing_id=listing_id)

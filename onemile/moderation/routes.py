"""Report and moderation routes: thin wrappers around moderation.services."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.access import moderator_required
from ..extensions import limiter
from ..redirects import local_path
from ..web import see_other, see_other_to, submitted
from . import bp, services
from .forms import ACTION_LABELS, REASON_LABELS, ModerationForm, ReportForm


@bp.route("/report/<target_type>/<int:target_id>", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour; 30 per day", methods=["POST"])
def report(target_type: str, target_id: int):
    """Report an ad, a message or a member to the moderators."""
    kind, target = services.target_for_reporter(current_user, target_type, target_id)
    described = kind.describe(target)
    form = ReportForm()
    if request.method == "GET":
        form.next.data = local_path(request.args.get("next")) or ""
    status = 200
    filed = submitted(
        form,
        lambda: services.report(current_user, target_type, target_id, form.reason.data, form.details.data),
        fallback="details",
    )
    if filed:
        flash(_("Thank you. The moderators will look at your report."), "success")
        back = local_path(form.next.data) or described.url or url_for("map.show")
        return see_other_to(back)
    if request.method == "POST":
        status = 422
    already = services.open_report(current_user, target_type, target_id) is not None
    return render_template(
        "moderation/report.html", form=form, kind=kind, described=described, already=already,
        target_type=target_type, target_id=target_id,
    ), status


def _queue_page(failed: tuple[str, int] | None = None, failed_form: ModerationForm | None = None, status=200):
    return render_template(
        "moderation/queue.html",
        items=services.queue(),
        suspended=services.suspended_members(),
        reason_labels=REASON_LABELS,
        action_labels=ACTION_LABELS,
        failed_item=services.queue_item(*failed) if failed else None,
        failed_form=failed_form,
        blank_form=ModerationForm(formdata=None),
    ), status


@bp.get("/moderation/")
@moderator_required
def queue():
    """Open reports grouped by what they are about, with the actions moderators can take."""
    return _queue_page()


@bp.post("/moderation/<target_type>/<int:target_id>")
@moderator_required
def act(target_type: str, target_id: int):
    """Hide, show again, warn, suspend, reinstate or dismiss; every action is logged."""
    services.reportable(target_type)  # an unknown type is a 404 before anything else
    form = ModerationForm()
    action = form.action.data
    if action not in ACTION_LABELS:
        form.validate_on_submit()  # the other fields' errors show too
        form.action.errors.append(_("Choose an action."))
    elif submitted(
        form,
        lambda: services.moderate(current_user, target_type, target_id, action, form.reason.data) or True,
        fallback="reason",
    ):
        flash(_("Done: %(action)s.", action=ACTION_LABELS[action]), "success")
        return see_other("moderation.queue")
    return _queue_page((target_type, target_id), form, 422)


@bp.get("/moderation/log")
@moderator_required
def log():
    """Every moderation action, newest first: who did what, to what, why and when."""
    labels = {**ACTION_LABELS, **services.logged_action_labels()}
    return render_template("moderation/log.html", entries=services.log(), action_labels=labels,
                           blank_form=ModerationForm(formdata=None))

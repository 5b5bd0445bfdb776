"""Account routes: thin wrappers around account.services."""

import json

from flask import Response, abort, flash, make_response, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import timezones
from ..auth import sessions
from ..extensions import limiter
from ..models import utcnow
from ..web import flash_refusal, see_other, submitted
from . import bp, services
from .forms import DeleteAccountForm, DetectedTimezoneForm, TimezoneForm


def _page(delete_form: DeleteAccountForm | None = None, status: int = 200,
          timezone_form: TimezoneForm | None = None):
    current_zone = timezones.select_timezone()
    return (
        render_template(
            "account/index.html",
            blocks=services.blocks_of(current_user),
            devices=sessions.active_sessions(current_user),
            delete_form=delete_form or DeleteAccountForm(formdata=None),
            timezone_form=timezone_form
            or TimezoneForm(formdata=None, data={"timezone": current_zone}, current=current_zone),
        ),
        status,
    )


@bp.get("/")
@login_required
def index():
    """My account: settings pages, blocked members, my data."""
    return _page()


@bp.get("/export")
@login_required
@limiter.limit("10 per hour")
def export():
    """Download everything about me as one JSON file."""
    body = json.dumps(services.export_data(current_user), ensure_ascii=False, indent=2)
    filename = f"1mile-{utcnow():%Y-%m-%d}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # Personal data: no cache, shared or private, keeps a copy.
            "Cache-Control": "no-store",
        },
    )


@bp.post("/delete")
@login_required
@limiter.limit("5 per hour")
def delete():
    """Delete my account for good, after my password."""
    form = DeleteAccountForm()
    if submitted(form, lambda: services.delete_account(current_user, form.password.data) or True, fallback="password"):
        sessions.end_all_sessions(current_user)
        sessions.log_out(current_user)
        flash(_("Your account is deleted. Thank you for the help you gave."), "info")
        return see_other("main.home")
    return _page(form, 422)


@bp.post("/blocks/<int:member_id>")
@login_required
def block(member_id: int):
    """Block a member, from their listing or a conversation with them."""
    blocked = flash_refusal(
        lambda: services.block(current_user, member_id),
        lambda other: _(
            "You blocked %(name)s. You no longer see each other's listings and they cannot write to you.",
            name=other.display_name,
        ),
    )
    if not blocked:
        return see_other("account.index")
    return see_other("account.index", _anchor="blocks")


@bp.post("/blocks/<int:member_id>/delete")
@login_required
def unblock(member_id: int):
    """Lift one of my blocks."""
    services.unblock(current_user, member_id)
    flash(_("The block is lifted."), "success")
    return see_other("account.index", _anchor="blocks")


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """Log out one of my devices (another member's session id ends nothing: 404)."""
    if session_id == current_user.login_session_id:
        sessions.log_out(current_user)
        flash(_("You are logged out. See you soon!"), "info")
        return see_other("main.home")
    if not sessions.end_session(current_user, session_id):
        abort(404)
    flash(_("That device is logged out."), "success")
    return see_other("account.index", _anchor="devices")


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions():
    """Log out everywhere: every device of mine, this one included."""
    sessions.end_all_sessions(current_user)
    sessions.log_out(current_user)
    flash(_("You are logged out on every device."), "info")
    return see_other("auth.login")


@bp.post("/timezone")
@login_required
def set_timezone():
    """The time zone my times are shown in, chosen from the list."""
    form = TimezoneForm(current=current_user.timezone)
    if submitted(form, lambda: services.set_timezone(current_user, form.timezone.data) or True):
        flash(_("Times are now shown in the %(zone)s time zone.", zone=timezones.readable(form.timezone.data)),
              "success")
        return see_other("account.index", _anchor="time")
    return _page(status=422, timezone_form=form)


@bp.post("/timezone/detected")
@login_required
@limiter.limit("30 per hour")
def timezone_detected():
    """The page script reports the browser's zone: kept if the member has none yet (204)."""
    form = DetectedTimezoneForm()
    if not submitted(form, lambda: services.set_timezone(current_user, form.timezone.data, detected=True) or True):
        return make_response("", 422)
    response = make_response("", 204)
    del response.headers["Content-Type"]
    return response

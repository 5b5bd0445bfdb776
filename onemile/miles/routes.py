"""Mile routes: thin wrappers around miles.services."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import RuleError
from . import bp, services
from .forms import MileForm, MoveForm, RenameForm


def _page(add_form: MileForm | None = None, status: int = 200):
    return (
        render_template(
            "miles/index.html",
            miles=current_user.miles,
            add_form=add_form or MileForm(formdata=None),
            max_miles=services.MAX_MILES,
        ),
        status,
    )


@bp.get("/")
@login_required
def index():
    """My miles, on a map and as a list."""
    return _page()


@bp.post("/")
@login_required
def add():
    """Add a mile."""
    form = MileForm()
    if form.validate_on_submit():
        try:
            services.add_mile(current_user, form.name.data, form.point())
        except RuleError as error:
            (form.name.errors if error.field == "name" else form.form_errors).append(error.message)
        else:
            flash(_("Your new mile is ready."), "success")
            return redirect(url_for("miles.index"))
    return _page(form, 422)


def _done(message: str):
    flash(message, "success")
    return redirect(url_for("miles.index"))


def _refused(error: RuleError):
    flash(error.message, "error")
    return redirect(url_for("miles.index"))


def _invalid(form) -> RuleError:
    messages = [str(m) for errors in form.errors.values() for m in errors]
    return RuleError(" ".join(messages) or _("Check what you typed."))


@bp.post("/<int:mile_id>/rename")
@login_required
def rename(mile_id: int):
    """Rename one of my miles."""
    services.own_mile(current_user, mile_id)
    form = RenameForm()
    if not form.validate_on_submit():
        return _refused(_invalid(form))
    try:
        services.rename_mile(current_user, mile_id, form.name.data)
    except RuleError as error:
        return _refused(error)
    return _done(_("The mile is renamed."))


@bp.post("/<int:mile_id>/move")
@login_required
def move(mile_id: int):
    """Move one of my miles to a new centre."""
    services.own_mile(current_user, mile_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return _refused(_invalid(form))
    services.move_mile(current_user, mile_id, form.point())
    return _done(_("The mile has moved."))


@bp.post("/<int:mile_id>/primary")
@login_required
def primary(mile_id: int):
    """Make one of my miles the one the map opens on."""
    services.make_primary(current_user, mile_id)
    return _done(_("This is now your main mile."))


@bp.post("/<int:mile_id>/delete")
@login_required
def delete(mile_id: int):
    """Delete one of my miles (never the last)."""
    try:
        services.delete_mile(current_user, mile_id)
    except RuleError as error:
        return _refused(error)
    return _done(_("The mile is deleted."))

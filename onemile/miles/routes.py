"""Mile routes: thin wrappers around miles.services."""

from flask import flash, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..web import flash_refusal, see_other, submitted
from . import bp, services
from .forms import MileForm, MoveForm, RenameForm


def _add_form() -> MileForm:
    form = MileForm(formdata=None)
    form.country.data = current_user.country or "FR"
    return form


def _page(add_form: MileForm | None = None, status: int = 200):
    return (
        render_template(
            "miles/index.html",
            miles=current_user.miles,
            add_form=add_form or _add_form(),
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
        home = current_user.primary_mile
        place = form.chosen_place(form.country.data, near=home.center_latlon if home else None)
        point = form.point() if place is None else place.point
        if not form.name.data and place is not None:
            form.name.data = place.name[: services.NAME_MAX]
        if point is None and not form.place.errors:
            form.place.errors = [_("Type a town or a postal code, or click the map.")]
        if point is not None and submitted(form, lambda: services.add_mile(current_user, form.name.data, point)):
            flash(_("Your new mile is ready."), "success")
            return see_other("miles.index")
    return _page(form, 422)


def _done(message: str):
    flash(message, "success")
    return see_other("miles.index")


def _attempt(action, message: str):
    """A change on the list of miles (no form to show a refusal on): flashed either way."""
    flash_refusal(action, message)
    return see_other("miles.index")


def _invalid(form):
    """An invalid form of the list: its messages flashed."""
    messages = [str(m) for errors in form.errors.values() for m in errors]
    flash(" ".join(messages) or _("Check what you typed."), "error")
    return see_other("miles.index")


def _change(mile_id: int, form_class, action, message: str):
    """Change one of my miles from a small form of the list: what is wrong is flashed."""
    services.own_mile(current_user, mile_id)
    form = form_class()
    if not form.validate_on_submit():
        return _invalid(form)
    return _attempt(lambda: action(form), message)


@bp.post("/<int:mile_id>/rename")
@login_required
def rename(mile_id: int):
    """Rename one of my miles."""
    return _change(
        mile_id, RenameForm, lambda form: services.rename_mile(current_user, mile_id, form.name.data),
        _("The mile is renamed."),
    )


@bp.post("/<int:mile_id>/move")
@login_required
def move(mile_id: int):
    """Move one of my miles to a new centre."""
    return _change(
        mile_id, MoveForm, lambda form: services.move_mile(current_user, mile_id, form.point()),
        _("The mile has moved."),
    )


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
    return _attempt(lambda: services.delete_mile(current_user, mile_id), _("The mile is deleted."))

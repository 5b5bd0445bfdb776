"""Project routes: thin wrappers around projects.services.

Every POST comes from a Flask-WTF form or the post_button macro (CSRF). A refused action
shows the same page again with the message next to the field and what was typed kept (422);
an accepted one redirects (303) so that a reload does not post again.
"""

from __future__ import annotations

import secrets

from flask import flash, render_template, request
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import login_required

from ..auth.access import moderator_required, verified_required
from ..errors import RuleError
from ..extensions import limiter
from ..geo import Box, InvalidCoordinates
from ..images import accepts_uploads, with_uploaded_image
from ..map.services import register_layer
from ..models import ProjectStatus
from ..organisations.acting import current_actor
from ..privacy import picker_start, say_if_approximate
from ..replicas import read_only
from ..web import flash_refusal, form_status, page_or_fragment, see_other, submitted
from . import bp, services
from .forms import (
    EMPTY_TASK_ROWS,
    CloseForm,
    PledgeForm,
    ProjectForm,
    RejectForm,
    SmilesForm,
    UpdateForm,
    VolunteerForm,
)

register_layer("projects", services.map_markers)


# --- Lists ---------------------------------------------------------------------------------


@bp.get("/")
@read_only
@login_required
def index():
    """Approved projects in my mile, or in the visible map area when a box is given."""
    page = max(request.args.get("page", 1, type=int), 1)
    mile = current_actor.mile_or_primary(request.args.get("mile", type=int))
    box = Box.from_args(request.args)
    if box is not None:
        found, has_more = services.projects_in_box(box, page, viewer_id=current_actor.id)
        paging = {"south": box.south, "west": box.west, "north": box.north, "east": box.east}
    else:
        found, has_more = services.projects_near(mile.center_latlon, page, viewer_id=current_actor.id)
        paging = {"mile": mile.id}
    return page_or_fragment(
        "projects/index.html", "results", found=found, mile=mile, box=box, page=page, has_more=has_more,
        paging=paging,
    )


@bp.get("/mine")
@login_required
def mine():
    """My projects, whatever their state (rejected ones show the moderator's reason)."""
    return render_template("projects/mine.html", projects=services.my_projects(current_actor))


@bp.get("/moderation")
@moderator_required
def moderation():
    """The queue of projects waiting for a moderator."""
    return render_template(
        "projects/moderation.html", projects=services.moderation_queue(current_actor)
    )


# --- Proposing and editing -----------------------------------------------------------------


def _form_data(form: ProjectForm, photo: str | None) -> services.ProjectData:
    try:
        point = form.point()
    except InvalidCoordinates:
        point = None
    return services.ProjectData(
        title=form.title.data or "",
        summary=form.summary.data or "",
        description=form.description.data or "",
        point=point,
        money_target=form.money_target.data,
        tasks=tuple(
            services.TaskData(entry.form.title.data or "", entry.form.skill.data or "") for entry in form.tasks
        ),
        charter_accepted=bool(form.charter.data),
        photo=photo,
        public_place=bool(form.public_place.data),
        remove_photo=bool(form.remove_photo.data),
    )


def _with_photo(form: ProjectForm, action):
    """Store the uploaded photo, then call the service with the form's data; on a refusal
    forget the new photo (nothing half-written stays behind) and raise it again."""
    return with_uploaded_image(form.photo.data, lambda photo: action(_form_data(form, photo)))


def _form_page(form: ProjectForm, project=None):
    """The project form, shown or sent back with what was typed and its errors."""
    while len(form.tasks) < EMPTY_TASK_ROWS:
        form.tasks.append_entry()
    return render_template(
        "projects/form.html", form=form, project=project, picker_center=picker_start(current_actor)
    ), form_status()


@bp.route("/new", methods=["GET", "POST"])
@accepts_uploads(1)
@verified_required
@limiter.limit("5 per hour; 20 per day", methods=["POST"])
def new():
    """Propose a project; it waits for a moderator."""
    # The place starts empty: a private point (the mile's centre) never prefills a public one.
    form = ProjectForm()
    result = submitted(form, lambda: _with_photo(form, lambda data: services.propose(current_actor, data)))
    if result is None:
        return _form_page(form)
    flash(_("Thank you! A moderator will read your project soon; it stays visible only to you until then."), "success")
    say_if_approximate(form.point(), result.latlon)
    return see_other("projects.detail", project_id=result.id)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@accepts_uploads(1)
@verified_required
@limiter.limit("20 per hour", methods=["POST"])
def edit(project_id: int):
    """Edit a pending or rejected project of mine (a rejected one is sent again)."""
    project = services.own_project(current_actor, project_id)
    if project.status not in (ProjectStatus.PENDING, ProjectStatus.REJECTED):
        flash(_("An approved project is not edited any more: post an update instead."), "error")
        return see_other("projects.detail", project_id=project.id)
    form = ProjectForm(obj=None if request.method == "POST" else project)
    if request.method == "GET":
        here = project.latlon
        form.latitude.data, form.longitude.data = f"{here.lat:.6f}", f"{here.lon:.6f}"
        form.money_target.data = str(project.money_target) if project.money_target else ""
        form.charter.data = False
        while len(form.tasks):
            form.tasks.pop_entry()
        for task in project.tasks:
            form.tasks.append_entry({"title": task.title, "skill": task.skill})
    result = submitted(
        form, lambda: _with_photo(form, lambda data: services.update_project(current_actor, project_id, data))
    )
    if result is None:
        return _form_page(form, project)
    flash(_("Your project is saved and waits for a moderator."), "success")
    say_if_approximate(form.point(), result.latlon)
    return see_other("projects.detail", project_id=project_id)


# --- The project page ----------------------------------------------------------------------


def _fresh_key() -> str:
    return secrets.token_urlsafe(16)


def _page(project, status: int = 200, **forms):
    """The project page with its support forms (those passed keep what was typed)."""
    smiles_form = forms.pop("smiles_form", None) or SmilesForm(formdata=None, key=_fresh_key())
    viewer = current_actor if current_actor.is_authenticated else None
    moderator = viewer is not None and viewer.is_moderator
    context = {
        "project": project,
        # News a moderator hid is gone for everyone else (moderators see it, marked).
        "updates": [news for news in project.updates if moderator or news.hidden_at is None],
        "progress": services.progress(project),
        "is_owner": viewer is not None and viewer.id == project.owner_id,
        "mine": services.viewer_volunteering(viewer, project),
        "my_pledges": [p for p in project.pledges if viewer is not None and p.member_id == viewer.id],
        "pledge_form": forms.pop("pledge_form", None) or PledgeForm(formdata=None, key=_fresh_key()),
        "smiles_form": smiles_form,
        "volunteer_forms": forms.pop("volunteer_forms", {}),
        "update_form": forms.pop("update_form", None) or UpdateForm(formdata=None),
        "close_form": forms.pop("close_form", None) or CloseForm(formdata=None),
        "reject_form": forms.pop("reject_form", None) or RejectForm(formdata=None),
        "pass_key": _fresh_key(),
        "pass_error": forms.pop("pass_error", None),
    }
    return render_template("projects/detail.html", **context), status


@bp.get("/<int:project_id>")
@read_only
def detail(project_id: int):
    """A project's page: readable by everyone once approved, by its owner and moderators before."""
    return _page(services.visible_project(current_actor, project_id, whole=True))


def _act(project_id: int, form, action, success: str, anchor: str | None = None, **page_forms):
    """Run a support action from a form of the project page; on refusal show the page
    again with `page_forms` (the submitted form among them) keeping what was typed."""
    project = services.visible_project(current_actor, project_id, whole=True)
    if submitted(form, lambda: action() or True, flash_general=True):
        flash(success, "success")
        return see_other("projects.detail", project_id=project_id, _anchor=anchor)
    return _page(project, 422, **page_forms)


@bp.post("/<int:project_id>/pledge")
@verified_required
@limiter.limit("20 per hour; 50 per day")
def pledge(project_id: int):
    """Promise an amount of money."""
    form = PledgeForm()
    return _act(
        project_id, form,
        lambda: services.pledge(current_actor, project_id, form.amount.data, form.message.data, form.key.data),
        _("Thank you for your pledge! The project's owner will contact you."), "support", pledge_form=form,
    )


@bp.post("/<int:project_id>/smiles")
@verified_required
@limiter.limit("30 per hour")
def give_smiles(project_id: int):
    """Give smiles to the project."""
    form = SmilesForm()
    return _act(
        project_id, form,
        lambda: services.give_smiles(current_actor, project_id, form.amount.data, form.key.data),
        _("Thank you! Your smiles went to the project."), "support", smiles_form=form,
    )


@bp.post("/<int:project_id>/tasks/<int:task_id>/volunteer")
@verified_required
@limiter.limit("30 per hour")
def volunteer(project_id: int, task_id: int):
    """Offer my skill for a task."""
    form = VolunteerForm(prefix=f"task-{task_id}")
    return _act(
        project_id, form,
        lambda: services.volunteer(current_actor, project_id, task_id, form.message.data),
        _("Thank you! The project's owner will answer your offer."), f"task-{task_id}",
        volunteer_forms={task_id: form},
    )


@bp.post("/<int:project_id>/updates")
@verified_required
def post_update(project_id: int):
    """Post news to the supporters."""
    form = UpdateForm()
    return _act(
        project_id, form, lambda: services.post_update(current_actor, project_id, form.body.data),
        _("Your news is posted; your supporters are told."), "updates", update_form=form,
    )


@bp.post("/<int:project_id>/close")
@login_required
def close(project_id: int):
    """Close my project as completed or abandoned."""
    form = CloseForm()
    return _act(
        project_id, form, lambda: services.close_project(current_actor, project_id, form.outcome.data or ""),
        _("The project is closed. Thank you for what you did!"), close_form=form,
    )


def _owner_button(project_id: int, action, message: str):
    """A one-click owner action (accept, decline, received): errors come back as a flash."""
    flash_refusal(action, message)
    return see_other("projects.detail", project_id=project_id, _anchor="owner")


@bp.post("/<int:project_id>/pledges/<int:pledge_id>/received")
@login_required
def pledge_received(project_id: int, pledge_id: int):
    """Mark a pledge as received (or not, with received=0)."""
    received = request.form.get("received", "1") != "0"
    return _owner_button(
        project_id,
        lambda: services.mark_pledge_received(current_actor, project_id, pledge_id, received),
        _("The pledge is marked as received.") if received else _("The pledge is marked as not received."),
    )


@bp.post("/<int:project_id>/volunteers/<int:volunteer_id>/accept")
@login_required
def accept_volunteer(project_id: int, volunteer_id: int):
    """Accept a volunteer."""
    return _owner_button(
        project_id, lambda: services.answer_volunteer(current_actor, project_id, volunteer_id, True),
        _("The volunteer is accepted and told."),
    )


@bp.post("/<int:project_id>/volunteers/<int:volunteer_id>/decline")
@login_required
def decline_volunteer(project_id: int, volunteer_id: int):
    """Decline a volunteer."""
    return _owner_button(
        project_id, lambda: services.answer_volunteer(current_actor, project_id, volunteer_id, False),
        _("The offer is declined; the volunteer is told."),
    )


@bp.post("/<int:project_id>/volunteers/<int:volunteer_id>/smiles")
@login_required
def pass_smiles(project_id: int, volunteer_id: int):
    """Thank an accepted volunteer with some of the project's smiles."""
    form = SmilesForm()
    project = services.own_project(current_actor, project_id)
    if form.validate_on_submit():
        try:
            services.pass_smiles(current_actor, project_id, volunteer_id, form.amount.data, form.key.data)
        except RuleError as error:
            if error.field:
                return _page(project, 422, pass_error=(volunteer_id, error.message))
            flash(error.message, "error")
            return _page(project, 422)
        flash(_("The smiles went to the volunteer."), "success")
    return see_other("projects.detail", project_id=project_id, _anchor="owner")


# --- Moderation ----------------------------------------------------------------------------


@bp.post("/<int:project_id>/approve")
@moderator_required
def approve(project_id: int):
    """Publish a pending project."""
    flash_refusal(lambda: services.approve(current_actor, project_id), _("The project is approved and on the map."))
    return see_other("projects.moderation")


@bp.post("/<int:project_id>/reject")
@moderator_required
def reject(project_id: int):
    """Refuse a pending project, with a reason for its proposer."""
    form = RejectForm()
    project = services.visible_project(current_actor, project_id)
    if submitted(form, lambda: services.reject(current_actor, project_id, form.reason.data) or True):
        flash(_("The project is rejected; its proposer can read your reason."), "success")
        return see_other("projects.moderation")
    return _page(project, 422, reject_form=form)


@bp.app_template_filter("euros")
def euros(cents: int | None) -> str:
    """Cents as money in the reader's locale ("12,50 €" in French)."""
    return format_currency((cents or 0) / 100, "EUR")

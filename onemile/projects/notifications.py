"""What projects tell their owners, moderators, supporters and volunteers. Registered with
the notifications hub by projects.setup."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Project
from ..notifications.kinds import register_kind, register_target_type


def _load(ids: list[int]) -> dict[int, Project]:
    """The projects, one query."""
    return {project.id: project for project in db.session.scalars(select(Project).where(Project.id.in_(ids)))}


def _link(_notification, project: Project):
    return "projects.detail", {"project_id": project.id}


def _approved_email(_notification, project: Project, _who: str) -> tuple[str, str]:
    return (
        _("Your project is online"),
        _("A moderator approved “%(title)s”: it is now on the map.", title=project.title),
    )


def _rejected_email(_notification, project: Project, _who: str) -> tuple[str, str]:
    return (
        _("Your project was not approved"),
        _(
            "A moderator did not approve “%(title)s”. Read why on its page, edit it and send it again.",
            title=project.title,
        ),
    )


def _update_email(_notification, project: Project, who: str) -> tuple[str, str]:
    return (
        _("News from “%(title)s”", title=project.title),
        _("%(name)s posted news about “%(title)s”, a project you support.", name=who, title=project.title),
    )


def register() -> None:
    """Register the project target type and its kinds."""
    register_target_type("project", Project, _load)
    emails = {"project_approved": _approved_email, "project_rejected": _rejected_email, "project_update": _update_email}
    for kind in (
        "project_submitted",    # to moderators: a project waits for approval
        "project_approved",     # to the owner
        "project_rejected",     # to the owner, with the moderator's reason on the page
        "project_pledge",       # to the owner: someone pledged money
        "project_smiles",       # to the owner: someone gave smiles
        "project_volunteer",    # to the owner: someone offered to help with a task
        "volunteer_accepted",   # to the volunteer
        "volunteer_declined",   # to the volunteer
        "project_smiles_passed",  # to a volunteer: the project passed smiles on to them
        "project_update",       # to supporters: the owner posted news
        "project_closed",       # to supporters: completed or abandoned
    ):
        register_kind(
            kind, sentence=f"projects/notifications/{kind}.html", target="project", link=_link, email=emails.get(kind)
        )

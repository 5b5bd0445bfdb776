"""Projects and their news can be reported; moderators can hide either (see
moderation.services.register_reportable). A hidden project is gone for everyone but the
moderators, like a hidden ad; a hidden piece of news leaves the project page."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..models import Member, Project, ProjectUpdate
from ..models.protection import can_see
from ..moderation.services import Described, register_hideable

register_hideable(
    "project",
    Project,
    label=_l("Project"),
    visible_to=can_see,
    describe=lambda project: Described(
        project.title, project.summary, project.owner_id, url_for("projects.detail", project_id=project.id)
    ),
)


def _update_visible(viewer: Member, news: ProjectUpdate) -> bool:
    return news.hidden_at is None and can_see(viewer, news.project)


register_hideable(
    "project_update",
    ProjectUpdate,
    label=_l("Project news"),
    visible_to=_update_visible,
    describe=lambda news: Described(
        news.project.title, news.body, news.project.owner_id,
        url_for("projects.detail", project_id=news.project_id, _anchor=f"update-{news.id}"),
    ),
)

"""Projects and their news can be reported; moderators can hide either (see
moderation.services.register_reportable). A hidden project is gone for everyone but the
moderators, like a hidden ad; a hidden piece of news leaves the project page."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Member, Project, ProjectUpdate
from ..models.protection import can_see
from ..moderation.services import Described, hide_content, register_reportable, unhide_content

register_reportable(
    "project",
    label=_l("Project"),
    fetch=lambda project_id: db.session.get(Project, project_id),
    visible_to=can_see,
    describe=lambda project: Described(
        project.title, project.summary, project.owner_id, url_for("projects.detail", project_id=project.id)
    ),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=lambda project: project.hidden_at is not None,
)


def _update_visible(viewer: Member, news: ProjectUpdate) -> bool:
    return news.hidden_at is None and can_see(viewer, news.project)


register_reportable(
    "project_update",
    label=_l("Project news"),
    fetch=lambda update_id: db.session.get(ProjectUpdate, update_id),
    visible_to=_update_visible,
    describe=lambda news: Described(
        news.project.title, news.body, news.project.owner_id,
        url_for("projects.detail", project_id=news.project_id, _anchor=f"update-{news.id}"),
    ),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=lambda news: news.hidden_at is not None,
)

"""Reading projects: through the trust rule, never writing."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...config import MILE_METRES
from ...errors import NotFoundError
from ...extensions import db
from ...geo import LatLon, dialect_of, distance_m, in_box, latlon_columns, within_metres
from ...map.services import public_marker
from ...models import (
    Account,
    AccountKind,
    Member,
    Pledge,
    Project,
    ProjectStatus,
    ProjectTask,
    Transfer,
    Volunteer,
    VolunteerStatus,
)
from ...models.block import blocked_either_way
from ...models.protection import can_see, listed_for
from .rules import PAGE_SIZE

# --- Reading -------------------------------------------------------------------------------


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFoundError("project")
    return project


def visible_project(viewer: Member | None, project_id: int, whole: bool = False) -> Project:
    """The project if the viewer may read it; NotFoundError otherwise (never say which).

    `whole` loads what its page shows (tasks, volunteers, pledges, their members, news) in a
    fixed number of queries, however many supporters it has.
    """
    options = (
        [
            selectinload(Project.owner),
            selectinload(Project.tasks).selectinload(ProjectTask.volunteers).selectinload(Volunteer.member),
            selectinload(Project.pledges).selectinload(Pledge.member),
            selectinload(Project.updates),
        ]
        if whole
        else []
    )
    project = db.session.get(Project, project_id, options=options)
    if project is None or not can_see(viewer, project):
        raise NotFoundError("project")
    return project


def own_project(member: Member, project_id: int) -> Project:
    """The member's own project; NotFoundError for anyone else's, public or not, so that an
    owner-only page tells nothing about a project that is not yours."""
    project = _project(project_id)
    if project.owner_id != member.id:
        raise NotFoundError("project")
    return project


@dataclass(frozen=True)
class Progress:
    """The project's support at a glance, for its progress bars."""

    pledged_cents: int
    received_cents: int
    pledgers: int
    smiles_given: int
    smiles_held: int
    smile_givers: int
    tasks: int
    tasks_staffed: int
    volunteers_accepted: int

    @property
    def smiles_passed_on(self) -> int:
        """Smiles the project handed to its volunteers."""
        return self.smiles_given - self.smiles_held


def progress(project: Project) -> Progress:
    """Totals of pledges, smiles and volunteers."""
    pledged, received, pledgers = db.session.execute(
        select(
            func.coalesce(func.sum(Pledge.amount_cents), 0),
            func.coalesce(func.sum(Pledge.amount_cents).filter(Pledge.received_at.is_not(None)), 0),
            func.count(func.distinct(Pledge.member_id)),
        ).where(Pledge.project_id == project.id)
    ).one()
    account = db.session.scalar(select(Account).where(Account.project_id == project.id))
    given = givers = 0
    if account is not None:
        given, givers = db.session.execute(
            select(func.coalesce(func.sum(Transfer.amount), 0), func.count(func.distinct(Transfer.from_account_id)))
            .where(Transfer.to_account_id == account.id)
        ).one()
    staffed = {v.task_id for task in project.tasks for v in task.volunteers if v.status == VolunteerStatus.ACCEPTED}
    accepted = sum(1 for task in project.tasks for v in task.volunteers if v.status == VolunteerStatus.ACCEPTED)
    return Progress(
        pledged_cents=int(pledged),
        received_cents=int(received),
        pledgers=int(pledgers),
        smiles_given=int(given),
        smiles_held=account.balance if account is not None else 0,
        smile_givers=int(givers),
        tasks=len(project.tasks),
        tasks_staffed=len(staffed),
        volunteers_accepted=accepted,
    )


def supporter_ids(project: Project) -> set[int]:
    """Members who pledged, gave smiles or volunteered (the owner excluded)."""
    ids = set(db.session.scalars(select(Pledge.member_id).where(Pledge.project_id == project.id)))
    ids |= set(
        db.session.scalars(
            select(Volunteer.member_id).join(ProjectTask).where(ProjectTask.project_id == project.id)
        )
    )
    account = db.session.scalar(select(Account).where(Account.project_id == project.id))
    if account is not None:
        payer = db.aliased(Account)
        ids |= set(
            db.session.scalars(
                select(payer.member_id)
                .join(Transfer, Transfer.from_account_id == payer.id)
                .where(Transfer.to_account_id == account.id, payer.member_id.is_not(None))
            )
        )
    ids.discard(project.owner_id)
    return ids


def _audience(project: Project) -> set[int]:
    """Supporters to tell about news or closing: not those the owner blocked or who blocked
    the owner (they could not open the page the notification points to)."""
    blocked = set(db.session.scalars(blocked_either_way(project.owner_id)))
    return supporter_ids(project) - blocked


def my_projects(member: Member) -> list[Project]:
    """All of a member's projects, newest first, whatever their state."""
    return list(
        db.session.scalars(
            select(Project).where(Project.owner_id == member.id).order_by(Project.created_at.desc())
        )
    )


@dataclass(frozen=True)
class FoundProject:
    """An approved project with its distance from where the list was asked (None in a box)."""

    project: Project
    distance_m: float | None = None


def projects_near(
    center: LatLon, page: int = 1, metres: float = MILE_METRES, viewer_id: int | None = None
) -> tuple[list[FoundProject], bool]:
    """Approved projects within `metres` of center the viewer may see, nearest first; one
    page and whether there is a next one."""
    session = db.session
    dialect = dialect_of(session)
    distance = distance_m(dialect, Project.point, center).label("distance_m")
    rows = session.execute(
        select(Project, distance)
        .where(listed_for(viewer_id, Project))
        .where(within_metres(dialect, Project.point, Project.id, center, metres))
        .order_by(distance, Project.id)
        .options(selectinload(Project.owner))
        .limit(PAGE_SIZE + 1)
        .offset((min(max(page, 1), 1000) - 1) * PAGE_SIZE)
    ).all()
    return [FoundProject(row.Project, row.distance_m) for row in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def projects_in_box(box, page: int = 1, viewer_id: int | None = None) -> tuple[list[FoundProject], bool]:
    """Approved projects the viewer may see in the visible map area, newest first."""
    session = db.session
    rows = session.scalars(
        select(Project)
        .where(listed_for(viewer_id, Project))
        .where(in_box(dialect_of(session), Project.point, Project.id, box.south, box.west, box.north, box.east))
        .order_by(Project.created_at.desc(), Project.id.desc())
        .options(selectinload(Project.owner))
        .limit(PAGE_SIZE + 1)
        .offset((min(max(page, 1), 1000) - 1) * PAGE_SIZE)
    ).all()
    return [FoundProject(project) for project in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


def map_markers(box, viewer_id: int | None, cap: int) -> list:
    """The `projects` map layer: approved projects in the box, up to cap + 1, newest first."""
    session = db.session
    lat, lon = latlon_columns(Project.point)
    rows = session.execute(
        select(Project.id, Project.title, Project.owner_id, lat, lon)
        .where(in_box(dialect_of(session), Project.point, Project.id, box.south, box.west, box.north, box.east))
        .where(listed_for(viewer_id, Project))
        .order_by(Project.created_at.desc())
        .limit(cap + 1)
    )
    label = _("Project of general interest")
    return [public_marker(row, "projects", label, "projects.detail", "project_id", viewer_id) for row in rows]


def moderation_queue(moderator: Member) -> list[Project]:
    """Projects waiting for a moderator, oldest first."""
    _require_moderator(moderator)
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.status == ProjectStatus.PENDING)
            .options(selectinload(Project.owner), selectinload(Project.tasks))
            .order_by(Project.updated_at, Project.id)
        )
    )


# --- Moderation ----------------------------------------------------------------------------


def _require_moderator(member: Member) -> None:
    if not member.is_moderator:
        raise NotFoundError("moderation")


def viewer_volunteering(member: Member | None, project: Project) -> dict[int, Volunteer]:
    """The viewer's own offers on this project, by task id."""
    if member is None or not member.is_authenticated:
        return {}
    return {
        offer.task_id: offer
        for task in project.tasks
        for offer in task.volunteers
        if offer.member_id == member.id
    }



# --- My data (account export and deletion) -------------------------------------------------


def _time(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def export_for(member: Member) -> dict:
    """The member's project data for the account download: the projects they proposed
    (with tasks and news), their pledges, their offers to volunteer and the smiles they gave
    to projects. Other supporters' names and messages are theirs, so they are left out."""
    projects = db.session.scalars(
        select(Project)
        .where(Project.owner_id == member.id)
        .options(selectinload(Project.tasks), selectinload(Project.updates))
        .order_by(Project.id)
    ).all()
    pledges = db.session.scalars(
        select(Pledge).where(Pledge.member_id == member.id).options(selectinload(Pledge.project)).order_by(Pledge.id)
    ).all()
    offers = db.session.scalars(
        select(Volunteer)
        .where(Volunteer.member_id == member.id)
        .options(selectinload(Volunteer.task).selectinload(ProjectTask.project))
        .order_by(Volunteer.id)
    ).all()
    payer, receiver = db.aliased(Account), db.aliased(Account)
    gifts = db.session.execute(
        select(Transfer.id, Transfer.amount, Transfer.created_at, receiver.project_id)
        .join(payer, payer.id == Transfer.from_account_id)
        .join(receiver, receiver.id == Transfer.to_account_id)
        .where(payer.member_id == member.id, receiver.kind == AccountKind.PROJECT)
        .order_by(Transfer.id)
    ).all()
    return {
        "projects": [
            {
                "id": p.id,
                "title": p.title,
                "summary": p.summary,
                "description": p.description,
                "latitude": p.latlon.lat,
                "longitude": p.latlon.lon,
                "money_target_euros": p.money_target,
                "status": p.status,
                "rejection_reason": p.rejection_reason,
                "hidden_by_moderation": p.hidden_at is not None,
                "created_at": _time(p.created_at),
                "closed_at": _time(p.closed_at),
                "tasks": [{"id": t.id, "title": t.title, "skill": t.skill} for t in p.tasks],
                "updates": [{"id": u.id, "body": u.body, "created_at": _time(u.created_at)} for u in p.updates],
            }
            for p in projects
        ],
        "pledges": [
            {
                "id": p.id,
                "project_id": p.project_id,
                "project_title": p.project.title,
                "amount_cents": p.amount_cents,
                "message": p.message,
                "created_at": _time(p.created_at),
                "received_at": _time(p.received_at),
            }
            for p in pledges
        ],
        "volunteering": [
            {
                "id": v.id,
                "project_id": v.task.project_id,
                "project_title": v.task.project.title,
                "task": v.task.title,
                "message": v.message,
                "status": v.status,
                "created_at": _time(v.created_at),
            }
            for v in offers
        ],
        "project_smiles": [
            {"transfer_id": g.id, "project_id": g.project_id, "amount": g.amount, "created_at": _time(g.created_at)}
            for g in gifts
        ],
    }

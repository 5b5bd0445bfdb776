"""Project rules: propose, moderate, support (money pledges, smiles, skills), follow, close.

Who may see what is decided by the one trust rule (models.protection), never in the
routes: pending and rejected projects exist only for their owner and the moderators;
everyone else gets NotFoundError, exactly as for a project that does not exist.

The trust rules of the rest of 1Mile hold here too: acting (proposing, supporting) takes a
verified e-mail address; two members who blocked one another, either way, stop seeing each
other's projects; a suspended member's projects and a project a moderator hid are gone for
everyone but the moderators (the suspension is read live, so reinstating brings them back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..auth.gate import require_verified
from ..config import MILE_METRES
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import LatLon, dialect_of, distance_m, in_box, latlon_columns, within_metres
from ..images import delete_image
from ..map.services import Marker
from ..models import (
    Account,
    Member,
    Pledge,
    Project,
    ProjectTask,
    ProjectUpdate,
    Transfer,
    Volunteer,
    utcnow,
)
from ..models.block import blocked_either_way
from ..models.protection import can_see, listed_for
from ..notifications.services import notify
from ..privacy import place_point
from ..smiles import services as smiles
from ..unit_of_work import after_commit, insert_once

TITLE_MAX = 120
SUMMARY_MAX = 300
DESCRIPTION_MAX = 10_000
TASK_TITLE_MAX = 120
SKILL_MAX = 80
MAX_TASKS = 10
# A local project asks for at most a million euros; a pledge is at most 100,000 €.
TARGET_MAX_EUROS = 1_000_000
PLEDGE_MAX_CENTS = 100_000 * 100
MESSAGE_MAX = 500
UPDATE_MAX = 5000
REASON_MAX = 1000
# Smiles are earned one service at a time: a single gift above this is surely a typo.
SMILES_GIFT_MAX = 100
PAGE_SIZE = 20
# A form's one-time key (secrets.token_urlsafe(16) is 22 characters).
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class SupportClosed(RuleError):
    """The project is not open to support (waiting, rejected or closed)."""


@dataclass(frozen=True)
class TaskData:
    """One task of the form: what to do and the skill it needs."""

    title: str
    skill: str


@dataclass(frozen=True)
class ProjectData:
    """What the project form collected."""

    title: str
    summary: str
    description: str
    point: LatLon
    money_target: str | None  # as typed: parsed here so the message is the same everywhere
    tasks: tuple[TaskData, ...] = ()
    charter_accepted: bool = False
    photo: str | None = None  # a name from onemile.images.store_image
    remove_photo: bool = False
    public_place: bool = False  # the author says the point is a public place: shown exactly


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


def project_account(project: Project) -> Account:
    """The project's smiles account, opened on first use (once, even when two requests open it)."""
    account, _opened = insert_once(
        lambda: db.session.scalar(select(Account).where(Account.project_id == project.id)),
        lambda: Account(kind="project", project_id=project.id, balance=0),
    )
    return account


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
    staffed = {v.task_id for task in project.tasks for v in task.volunteers if v.status == "accepted"}
    accepted = sum(1 for task in project.tasks for v in task.volunteers if v.status == "accepted")
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
    return [
        Marker(
            id=row.id,
            layer="projects",
            title=row.title,
            label=label,
            lat=round(row.lat, 6),
            lon=round(row.lon, 6),
            endpoint="projects.detail",
            url_args={"project_id": row.id},
            is_own=viewer_id is not None and row.owner_id == viewer_id,
            public=True,
        )
        for row in rows
    ]


def moderation_queue(moderator: Member) -> list[Project]:
    """Projects waiting for a moderator, oldest first."""
    _require_moderator(moderator)
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.status == "pending")
            .options(selectinload(Project.owner), selectinload(Project.tasks))
            .order_by(Project.updated_at, Project.id)
        )
    )


# --- Proposing and editing -----------------------------------------------------------------


def parse_euros(text: str | None, field_name: str, max_cents: int, whole: bool = False) -> int | None:
    """Euros as typed ("12", "12,50", "1 200.5 €") -> cents; None when empty.

    Raises RuleError with a message for the field: not a number, zero or less, more than
    two decimals (or any, when `whole`), or more than max_cents.
    """
    cleaned = (text or "").strip().replace("€", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not cleaned:
        return None
    if len(cleaned) > 20 or not re.fullmatch(r"[0-9]+(?:[.,][0-9]+)?", cleaned):
        raise RuleError(_("Type an amount in euros, for example 20 or 12,50."), field_name)
    try:
        amount = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        raise RuleError(_("Type an amount in euros, for example 20 or 12,50."), field_name) from None
    if amount <= 0:
        raise RuleError(_("The amount must be above zero."), field_name)
    if whole and amount != amount.to_integral_value():
        raise RuleError(_("Give a whole number of euros."), field_name)
    if amount * 100 != (amount * 100).to_integral_value():
        raise RuleError(_("Give the amount in euros and cents, at most two decimals."), field_name)
    cents = int(amount * 100)
    if cents > max_cents:
        raise RuleError(_("The amount cannot be above %(max)s €.", max=f"{max_cents // 100:,}".replace(",", " ")), field_name)
    return cents


def _checked(data: ProjectData) -> tuple[dict, list[TaskData], int | None]:
    if not data.charter_accepted:
        raise RuleError(_("Please accept the charter: the project is non-profit and of general interest."), "charter")
    title = " ".join(data.title.split())
    summary = " ".join(data.summary.split())
    description = data.description.strip()
    if not title or len(title) > TITLE_MAX:
        raise RuleError(_("Give a title of 1 to %(n)d characters.", n=TITLE_MAX), "title")
    if not summary or len(summary) > SUMMARY_MAX:
        raise RuleError(_("Write a summary of 1 to %(n)d characters.", n=SUMMARY_MAX), "summary")
    if not description or len(description) > DESCRIPTION_MAX:
        raise RuleError(_("Write a description of 1 to %(n)d characters.", n=DESCRIPTION_MAX), "description")
    if data.point is None:
        raise RuleError(_("Place the project on the map."), "latitude")
    target = parse_euros(data.money_target, "money_target", TARGET_MAX_EUROS * 100, whole=True)
    tasks = []
    for task in data.tasks:
        task_title, skill = " ".join(task.title.split()), " ".join(task.skill.split())
        if not task_title and not skill:
            continue  # an empty row of the form
        if not task_title or not skill:
            raise RuleError(_("Each task needs both what to do and the skill it takes."), "tasks")
        if len(task_title) > TASK_TITLE_MAX or len(skill) > SKILL_MAX:
            raise RuleError(
                _("A task is at most %(t)d characters, a skill at most %(s)d.", t=TASK_TITLE_MAX, s=SKILL_MAX), "tasks"
            )
        tasks.append(TaskData(task_title, skill))
    if len(tasks) > MAX_TASKS:
        raise RuleError(_("At most %(n)d tasks.", n=MAX_TASKS), "tasks")
    fields = {"title": title, "summary": summary, "description": description, "point": data.point.wkt()}
    return fields, tasks, (target // 100 if target is not None else None)


def propose(owner: Member, data: ProjectData) -> Project:
    """Propose a project: it waits, invisible to others, until a moderator approves it."""
    require_verified(owner)
    fields, tasks, target = _checked(data)
    now = utcnow()
    project = Project(
        owner_id=owner.id, money_target=target, photo=data.photo, status="pending",
        charter_accepted_at=now, created_at=now, updated_at=now, **fields,
    )
    project.tasks = [ProjectTask(title=task.title, skill=task.skill) for task in tasks]
    db.session.add(project)
    db.session.flush()
    _place(project, owner, data)
    _tell_moderators(project, owner)
    db.session.flush()
    return project


def _place(project: Project, owner: Member, data: ProjectData) -> None:
    """The chosen point, or an approximate one when it may be the owner's home."""
    project.point = place_point(owner, data.point, data.public_place, f"project:{project.id}")[0].wkt()


def _tell_moderators(project: Project, actor: Member) -> None:
    for moderator_id in db.session.scalars(select(Member.id).where(Member.is_moderator.is_(True))):
        if moderator_id != actor.id:
            notify(moderator_id, "project_submitted", actor_id=actor.id, target_id=project.id)


def update_project(owner: Member, project_id: int, data: ProjectData) -> Project:
    """Edit a pending or rejected project; a rejected one goes back to the moderators.

    Approved projects are not edited (what supporters backed must not change under them):
    their owner posts updates instead.
    """
    require_verified(owner)
    project = own_project(owner, project_id)
    if project.status not in ("pending", "rejected"):
        raise RuleError(_("An approved project is not edited any more: post an update instead."))
    fields, tasks, target = _checked(data)
    for name, value in fields.items():
        setattr(project, name, value)
    _place(project, owner, data)
    project.money_target = target
    project.charter_accepted_at = utcnow()
    old_photo = project.photo
    if data.photo:
        project.photo = data.photo
    elif data.remove_photo:
        project.photo = None
    # Nobody can volunteer before approval: the tasks are simply replaced.
    project.tasks = [ProjectTask(title=task.title, skill=task.skill) for task in tasks]
    resubmitted = project.status == "rejected"
    project.status = "pending"
    project.rejection_reason = None
    project.updated_at = utcnow()
    if resubmitted:
        _tell_moderators(project, owner)
    db.session.flush()
    if old_photo and old_photo != project.photo:
        after_commit(lambda: delete_image(old_photo))
    return project


# --- Moderation ----------------------------------------------------------------------------


def _require_moderator(member: Member) -> None:
    if not member.is_moderator:
        raise NotFoundError("moderation")


def _pending_for(moderator: Member, project_id: int) -> Project:
    _require_moderator(moderator)
    project = _project(project_id)
    if project.status != "pending":
        raise RuleError(_("This project is not waiting for moderation any more."))
    if project.owner_id == moderator.id:
        raise RuleError(_("Another moderator must review your own project."))
    return project


def approve(moderator: Member, project_id: int) -> Project:
    """Publish a pending project: it appears on the map and in the lists."""
    project = _pending_for(moderator, project_id)
    project.status = "approved"
    project.moderated_by_id, project.moderated_at = moderator.id, utcnow()
    project_account(project)
    notify(project.owner_id, "project_approved", actor_id=moderator.id, target_id=project.id)
    db.session.flush()
    return project


def reject(moderator: Member, project_id: int, reason: str) -> Project:
    """Refuse a pending project with a reason its owner reads; they may edit and resubmit."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise RuleError(_("Tell the proposer why, in 1 to %(n)d characters.", n=REASON_MAX), "reason")
    project = _pending_for(moderator, project_id)
    project.status = "rejected"
    project.rejection_reason = reason
    project.moderated_by_id, project.moderated_at = moderator.id, utcnow()
    notify(project.owner_id, "project_rejected", actor_id=moderator.id, target_id=project.id)
    db.session.flush()
    return project


# --- Support -------------------------------------------------------------------------------


def _supportable(member: Member, project_id: int) -> Project:
    """An approved project someone else owns (NotFoundError when the member cannot see it:
    hidden, owner suspended, a block either way). Supporting takes a verified address."""
    require_verified(member)
    project = visible_project(member, project_id)
    if project.status != "approved":
        raise SupportClosed(_("This project is not open to support."))
    if project.owner_id == member.id:
        raise RuleError(_("You cannot support your own project."))
    return project


def pledge(
    member: Member, project_id: int, amount: str | None, message: str | None, key: str | None = None
) -> Pledge:
    """Promise an amount of money. Nothing is paid through 1Mile: the owner sees the
    pledger's contact and they settle it between themselves.

    `key` comes from the form (one per form shown): submitting the same form twice returns
    the first promise instead of recording a second one.
    """
    project = _supportable(member, project_id)
    cents = parse_euros(amount, "amount", PLEDGE_MAX_CENTS)
    if cents is None:
        raise RuleError(_("Type the amount you promise."), "amount")
    message = (message or "").strip() or None
    if message and len(message) > MESSAGE_MAX:
        raise RuleError(_("A message is at most %(n)d characters.", n=MESSAGE_MAX), "message")
    submission = f"{member.id}:{_checked_key(key)}" if key else None
    promise, promised = insert_once(
        # Without a key there is nothing to replay: every pledge is a new one.
        lambda: db.session.scalar(select(Pledge).where(Pledge.submission_key == submission)) if submission else None,
        lambda: Pledge(
            project_id=project.id, member_id=member.id, amount_cents=cents, message=message,
            submission_key=submission,
        ),
    )
    if not promised:
        return promise  # the same form, sent again or a moment ago by another request
    notify(project.owner_id, "project_pledge", actor_id=member.id, target_id=project.id)
    db.session.flush()
    return promise


def mark_pledge_received(owner: Member, project_id: int, pledge_id: int, received: bool = True) -> Pledge:
    """The owner says the promised money arrived (or not, to undo a mistake)."""
    project = own_project(owner, project_id)
    promise = db.session.get(Pledge, pledge_id)
    if promise is None or promise.project_id != project.id:
        raise NotFoundError("pledge")
    promise.received_at = utcnow() if received else None
    db.session.flush()
    return promise


def _checked_key(key: str | None) -> str:
    if not key or not SUBMISSION_KEY.match(key):
        raise RuleError(_("This form has expired: please try again."))
    return key


def _smiles_count(amount) -> int:
    try:
        count = int(str(amount).strip())
    except (TypeError, ValueError):
        raise RuleError(_("Give a whole number of smiles."), "amount") from None
    if count < 1:
        raise RuleError(_("Give at least one smile."), "amount")
    if count > SMILES_GIFT_MAX:
        raise RuleError(_("At most %(n)d smiles at a time.", n=SMILES_GIFT_MAX), "amount")
    return count


def give_smiles(member: Member, project_id: int, amount, key: str | None) -> Transfer:
    """Move smiles from the member to the project's account (reason project_support).

    `key` comes from the form (one per form shown): a double submit replays the first
    transfer instead of paying twice. Never below zero, atomic: see smiles.services.transfer.
    """
    project = _supportable(member, project_id)
    count = _smiles_count(amount)
    key = _checked_key(key)
    payer = smiles.member_account(member.id)
    record, given = smiles.transfer_once(
        payer, project_account(project), count, "project_support", f"project:{member.id}:{key}"
    )
    if given:
        notify(project.owner_id, "project_smiles", actor_id=member.id, target_id=project.id)
    db.session.flush()
    return record


def pass_smiles(owner: Member, project_id: int, volunteer_id: int, amount, key: str | None) -> Transfer:
    """The owner thanks an accepted volunteer with smiles from the project's account."""
    project = own_project(owner, project_id)
    helper = _volunteer_of(project, volunteer_id)
    if helper.status != "accepted":
        raise RuleError(_("Smiles go to accepted volunteers only."))
    count = _smiles_count(amount)
    key = _checked_key(key)
    ledger_key = f"project-out:{project.id}:{key}"
    try:
        record, passed = smiles.transfer_once(
            project_account(project), smiles.member_account(helper.member_id), count, "project_support", ledger_key
        )
    except smiles.InsufficientSmiles:
        raise RuleError(_("The project does not hold that many smiles."), "amount") from None
    if passed:
        notify(helper.member_id, "project_smiles_passed", actor_id=owner.id, target_id=project.id)
    db.session.flush()
    return record


def volunteer(member: Member, project_id: int, task_id: int, message: str | None) -> Volunteer:
    """Offer one's skill for a task; the owner accepts or declines."""
    project = _supportable(member, project_id)
    task = db.session.get(ProjectTask, task_id)
    if task is None or task.project_id != project.id:
        raise NotFoundError("task")
    message = " ".join((message or "").split())
    if not message or len(message) > MESSAGE_MAX:
        raise RuleError(_("Say in 1 to %(n)d characters what you can do.", n=MESSAGE_MAX), "message")
    offer, offered = insert_once(
        lambda: db.session.scalar(select(Volunteer).where(Volunteer.task_id == task.id, Volunteer.member_id == member.id)),
        lambda: Volunteer(task_id=task.id, member_id=member.id, message=message, status="pending"),
    )
    if not offered:
        if offer.message == message:
            return offer  # the same offer sent twice (a double click, a reload): it stands
        raise RuleError(_("You already offered to help with this task."))
    notify(project.owner_id, "project_volunteer", actor_id=member.id, target_id=project.id)
    db.session.flush()
    return offer


def _volunteer_of(project: Project, volunteer_id: int) -> Volunteer:
    offer = db.session.get(Volunteer, volunteer_id)
    if offer is None or offer.task.project_id != project.id:
        raise NotFoundError("volunteer")
    return offer


def answer_volunteer(owner: Member, project_id: int, volunteer_id: int, accept: bool) -> Volunteer:
    """Accept or decline a volunteer; they are told."""
    project = own_project(owner, project_id)
    offer = _volunteer_of(project, volunteer_id)
    if project.status != "approved":
        raise SupportClosed(_("This project is not open to support."))
    status = "accepted" if accept else "declined"
    if offer.status != status:
        offer.status = status
        notify(
            offer.member_id, "volunteer_accepted" if accept else "volunteer_declined",
            actor_id=owner.id, target_id=project.id,
        )
    db.session.flush()
    return offer


# --- Following and closing -----------------------------------------------------------------


def post_update(owner: Member, project_id: int, body: str) -> ProjectUpdate:
    """News from the owner; every supporter is notified."""
    require_verified(owner)
    project = own_project(owner, project_id)
    if project.status != "approved":
        raise RuleError(_("Updates are for approved projects that are still running."))
    if project.hidden_at is not None:
        # Its supporters could not open the page the notification points to.
        raise RuleError(_("A moderator hid this project: it takes no news until it is shown again."))
    body = (body or "").strip()
    if not body or len(body) > UPDATE_MAX:
        raise RuleError(_("Write an update of 1 to %(n)d characters.", n=UPDATE_MAX), "body")
    news = ProjectUpdate(project_id=project.id, body=body)
    db.session.add(news)
    for supporter_id in _audience(project):
        notify(supporter_id, "project_update", actor_id=owner.id, target_id=project.id)
    db.session.flush()
    return news


def close_project(owner: Member, project_id: int, outcome: str) -> Project:
    """The owner closes an approved project as completed or abandoned; supporters are told.
    The page stays readable; the project leaves the map."""
    project = own_project(owner, project_id)
    if outcome not in ("completed", "abandoned"):
        raise RuleError(_("Say whether the project is completed or abandoned."), "outcome")
    if project.status != "approved":
        raise RuleError(_("Only an approved project that is still running can be closed."))
    project.status = outcome
    project.closed_at = utcnow()
    for supporter_id in _audience(project):
        notify(supporter_id, "project_closed", actor_id=owner.id, target_id=project.id)
    db.session.flush()
    return project


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
        .where(payer.member_id == member.id, receiver.kind == "project")
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


def forget_member(member: Member) -> list[str]:
    """Remove the member from projects as their account is deleted (the caller commits).

    Their pledges and offers to volunteer go. Their projects that never went public
    (pending, rejected) are deleted. A running approved project is closed as abandoned and
    its supporters are told: nobody is left to settle pledges or answer volunteers, but
    supporters keep the page of what they backed, now signed "Former member", and the
    project's smiles account (with its transfers) stays so the ledger still balances.
    Completed or abandoned projects stay as they are. Returns the photos to delete once
    committed.
    """
    db.session.execute(Volunteer.__table__.delete().where(Volunteer.member_id == member.id))
    db.session.execute(Pledge.__table__.delete().where(Pledge.member_id == member.id))
    photos = []
    now = utcnow()
    for project in my_projects(member):
        if project.status in ("pending", "rejected"):
            # Never public, so never supported: nobody else has a stake in it. (Should a
            # smiles account exist, its row stays: the foreign key is SET NULL.)
            if project.photo:
                photos.append(project.photo)
            db.session.delete(project)
        elif project.status == "approved":
            for supporter_id in _audience(project):
                notify(supporter_id, "project_closed", actor_id=member.id, target_id=project.id)
            project.status, project.closed_at = "abandoned", now
    return photos

"""Project actions: propose, moderate, support, follow, close. They add and flush; the edge commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ...alerts import services as alerts
from ...auth.gate import require_verified
from ...errors import NotFoundError, RuleError
from ...extensions import db
from ...images import delete_image
from ...models import (
    Account,
    AccountKind,
    Member,
    Pledge,
    Project,
    ProjectStatus,
    ProjectTask,
    ProjectUpdate,
    Transfer,
    TransferReason,
    Volunteer,
    VolunteerStatus,
    utcnow,
)
from ...notifications.services import notify
from ...privacy import place_point
from ...smiles import services as smiles
from ...unit_of_work import after_commit, insert_once
from .reads import (
    _audience,
    _project,
    _require_moderator,
    my_projects,
    own_project,
    visible_project,
)
from .rules import (
    MESSAGE_MAX,
    PLEDGE_MAX_CENTS,
    REASON_MAX,
    UPDATE_MAX,
    ProjectData,
    SupportClosed,
    _checked,
    _checked_key,
    _smiles_count,
    parse_euros,
)


def project_account(project: Project) -> Account:
    """The project's smiles account, opened on first use (once, even when two requests open it)."""
    account, _opened = insert_once(
        lambda: db.session.scalar(select(Account).where(Account.project_id == project.id)),
        lambda: Account(kind=AccountKind.PROJECT, project_id=project.id, balance=0),
    )
    return account


def propose(owner: Member, data: ProjectData) -> Project:
    """Propose a project: it waits, invisible to others, until a moderator approves it."""
    require_verified(owner)
    fields, tasks, target = _checked(data)
    now = utcnow()
    project = Project(
        owner_id=owner.id, money_target=target, photo=data.photo, status=ProjectStatus.PENDING,
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
    if project.status not in (ProjectStatus.PENDING, ProjectStatus.REJECTED):
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
    resubmitted = project.status == ProjectStatus.REJECTED
    project.status = ProjectStatus.PENDING
    project.rejection_reason = None
    project.updated_at = utcnow()
    if resubmitted:
        _tell_moderators(project, owner)
    db.session.flush()
    if old_photo and old_photo != project.photo:
        after_commit(lambda: delete_image(old_photo))
    return project


def _pending_for(moderator: Member, project_id: int) -> Project:
    _require_moderator(moderator)
    project = _project(project_id)
    if project.status != ProjectStatus.PENDING:
        raise RuleError(_("This project is not waiting for moderation any more."))
    if project.owner_id == moderator.id:
        raise RuleError(_("Another moderator must review your own project."))
    return project


def approve(moderator: Member, project_id: int) -> Project:
    """Publish a pending project: it appears on the map and in the lists."""
    project = _pending_for(moderator, project_id)
    project.status = ProjectStatus.APPROVED
    project.moderated_by_id, project.moderated_at = moderator.id, utcnow()
    project_account(project)
    notify(project.owner_id, "project_approved", actor_id=moderator.id, target_id=project.id)
    db.session.flush()
    alerts.project_published(project)
    return project


def reject(moderator: Member, project_id: int, reason: str) -> Project:
    """Refuse a pending project with a reason its owner reads; they may edit and resubmit."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise RuleError(_("Tell the proposer why, in 1 to %(n)d characters.", n=REASON_MAX), "reason")
    project = _pending_for(moderator, project_id)
    project.status = ProjectStatus.REJECTED
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
    if project.status != ProjectStatus.APPROVED:
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
        payer, project_account(project), count, TransferReason.PROJECT_SUPPORT, f"project:{member.id}:{key}"
    )
    if given:
        notify(project.owner_id, "project_smiles", actor_id=member.id, target_id=project.id)
    db.session.flush()
    return record


def pass_smiles(owner: Member, project_id: int, volunteer_id: int, amount, key: str | None) -> Transfer:
    """The owner thanks an accepted volunteer with smiles from the project's account."""
    project = own_project(owner, project_id)
    helper = _volunteer_of(project, volunteer_id)
    if helper.status != VolunteerStatus.ACCEPTED:
        raise RuleError(_("Smiles go to accepted volunteers only."))
    count = _smiles_count(amount)
    key = _checked_key(key)
    ledger_key = f"project-out:{project.id}:{key}"
    try:
        record, passed = smiles.transfer_once(
            project_account(project), smiles.member_account(helper.member_id), count, TransferReason.PROJECT_SUPPORT, ledger_key
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
        lambda: Volunteer(task_id=task.id, member_id=member.id, message=message, status=VolunteerStatus.PENDING),
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
    if project.status != ProjectStatus.APPROVED:
        raise SupportClosed(_("This project is not open to support."))
    status = VolunteerStatus.ACCEPTED if accept else VolunteerStatus.DECLINED
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
    if project.status != ProjectStatus.APPROVED:
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
    if outcome not in (ProjectStatus.COMPLETED, ProjectStatus.ABANDONED):
        raise RuleError(_("Say whether the project is completed or abandoned."), "outcome")
    if project.status != ProjectStatus.APPROVED:
        raise RuleError(_("Only an approved project that is still running can be closed."))
    project.status = outcome
    project.closed_at = utcnow()
    for supporter_id in _audience(project):
        notify(supporter_id, "project_closed", actor_id=owner.id, target_id=project.id)
    db.session.flush()
    return project


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
        if project.status in (ProjectStatus.PENDING, ProjectStatus.REJECTED):
            # Never public, so never supported: nobody else has a stake in it. (Should a
            # smiles account exist, its row stays: the foreign key is SET NULL.)
            if project.photo:
                photos.append(project.photo)
            db.session.delete(project)
        elif project.status == ProjectStatus.APPROVED:
            for supporter_id in _audience(project):
                notify(supporter_id, "project_closed", actor_id=member.id, target_id=project.id)
            project.status, project.closed_at = ProjectStatus.ABANDONED, now
    return photos

"""Reporting and moderation rules.

Any member reports something they can see (an ad, a message, a member...) with a reason.
Moderators see the open reports grouped by target and act: hide or unhide the content,
warn or suspend its owner, reinstate a suspended member, or dismiss the reports. Every
action is written to the audit log (ModerationAction) in the same transaction.

Making a new kind of content reportable takes one call, from the feature's own package
(register_hideable is the short form for content hidden by its `hidden_at` stamp)::

    from ..moderation.services import Described, register_reportable

    register_reportable(
        "project",
        label=_l("Project"),
        fetch=lambda project_id: db.session.get(Project, project_id),
        visible_to=lambda viewer, project: project.approved or viewer.id == project.owner_id,
        describe=lambda project: Described(project.title, project.summary, project.owner_id,
                                           url_for("projects.detail", project_id=project.id)),
        hide=lambda project: setattr(project, "hidden_at", utcnow()),
        unhide=lambda project: setattr(project, "hidden_at", None),
        is_hidden=lambda project: project.hidden_at is not None,
    )

The report page, the moderation queue, the actions and the log then handle projects too;
tests/test_authorization_matrix.py needs the victim's project id under "project".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..models import (
    REPORT_REASONS,
    HiddenReason,
    Listing,
    Member,
    ModerationAction,
    ModerationVerb,
    Report,
    ReportStatus,
    utcnow,
)
from ..notifications.services import notify
from ..unit_of_work import insert_once

DETAILS_MAX = 1000
REASON_MAX = 1000
LOG_PAGE = 200


@dataclass(frozen=True)
class Described:
    """What the report page and the moderators see of a target.

    `owner_id` is the member a warning or a suspension applies to; `url` is a page a
    moderator may open (None when the content is private, e.g. a message).
    """

    title: str
    excerpt: str
    owner_id: int | None
    url: str | None = None


@dataclass(frozen=True)
class Reportable:
    """How the moderation feature reaches one kind of content (see register_reportable)."""

    target_type: str
    label: Any
    fetch: Callable[[int], Any]
    visible_to: Callable[[Member, Any], bool]
    describe: Callable[[Any], Described]
    hide: Callable[[Any], None] | None = None
    unhide: Callable[[Any], None] | None = None
    is_hidden: Callable[[Any], bool] = field(default=lambda _target: False)

    @property
    def hideable(self) -> bool:
        """Whether moderators can hide this kind of content (members are suspended instead)."""
        return self.hide is not None


_reportables: dict[str, Reportable] = {}


def hide_content(content) -> None:
    """The usual `hide` of a reportable: stamp `hidden_at` (the first time only)."""
    content.hidden_at = content.hidden_at or utcnow()


def unhide_content(content) -> None:
    """The usual `unhide` of a reportable."""
    content.hidden_at = None


def content_is_hidden(content) -> bool:
    """The usual `is_hidden` of a reportable: it carries a `hidden_at` stamp."""
    return content.hidden_at is not None


def register_hideable(
    target_type: str,
    model,
    *,
    label,
    visible_to: Callable[[Member, Any], bool],
    describe: Callable[[Any], Described],
    hide: Callable[[Any], None] = hide_content,
    unhide: Callable[[Any], None] = unhide_content,
) -> None:
    """The usual `register_reportable`: rows of `model` fetched by id, hidden by their
    `hidden_at` stamp (hide_content/unhide_content unless the caller does more)."""
    register_reportable(
        target_type,
        label=label,
        fetch=lambda target_id: db.session.get(model, target_id),
        visible_to=visible_to,
        describe=describe,
        hide=hide,
        unhide=unhide,
        is_hidden=content_is_hidden,
    )


def register_reportable(
    target_type: str,
    *,
    label,
    fetch: Callable[[int], Any],
    visible_to: Callable[[Member, Any], bool],
    describe: Callable[[Any], Described],
    hide: Callable[[Any], None] | None = None,
    unhide: Callable[[Any], None] | None = None,
    is_hidden: Callable[[Any], bool] | None = None,
) -> None:
    """Make a kind of content reportable.

    fetch(id) -> the object or None (whoever asks); visible_to(member, obj) -> may this
    member see it, hence report it; describe(obj) -> Described; hide/unhide(obj) change it
    without committing (the caller commits with the audit entry); is_hidden(obj).
    """
    if not target_type.isidentifier() or len(target_type) > 20:
        raise ValueError(f"bad target type {target_type!r}")
    _reportables[target_type] = Reportable(
        target_type, label, fetch, visible_to, describe, hide, unhide, is_hidden or (lambda _target: False)
    )


def reportable(target_type: str) -> Reportable:
    """The registration of a target type; NotFoundError for an unknown one (a 404)."""
    try:
        return _reportables[target_type]
    except KeyError:
        raise NotFoundError("target type") from None


def reportable_types() -> list[str]:
    """Every registered target type."""
    return sorted(_reportables)


# --- Members report --------------------------------------------------------------------------


def target_for_reporter(reporter: Member, target_type: str, target_id: int) -> tuple[Reportable, Any]:
    """The target a member may report: it exists, they can see it and it is not their own."""
    kind = reportable(target_type)
    target = kind.fetch(target_id)
    if target is None or not kind.visible_to(reporter, target):
        raise NotFoundError(target_type)
    if kind.describe(target).owner_id == reporter.id:
        raise NotFoundError(target_type)  # nobody reports themselves
    return kind, target


def open_report(reporter: Member, target_type: str, target_id: int) -> Report | None:
    """The member's open report on this target, if any."""
    return db.session.scalar(
        select(Report).where(
            Report.reporter_id == reporter.id,
            Report.target_type == target_type,
            Report.target_id == target_id,
            Report.status == ReportStatus.OPEN,
        )
    )


def report(reporter: Member, target_type: str, target_id: int, reason: str, details: str | None) -> Report:
    """File a report. A member has one open report per target: a second one (a double
    submit, another tab) returns the first, unchanged."""
    target_for_reporter(reporter, target_type, target_id)
    if reason not in REPORT_REASONS:
        raise RuleError(_("Choose a reason."), "reason")
    details = (details or "").replace("\x00", "").strip() or None
    if details and len(details) > DETAILS_MAX:
        raise RuleError(_("Use at most %(n)d characters.", n=DETAILS_MAX), "details")
    # The same member reporting the same target twice, or twice at once: the first stands.
    filed, _filed_now = insert_once(
        lambda: open_report(reporter, target_type, target_id),
        lambda: Report(reporter_id=reporter.id, target_type=target_type, target_id=target_id,
                       reason=reason, details=details, status=ReportStatus.OPEN),
    )
    db.session.flush()
    return filed


# --- Moderators' queue -----------------------------------------------------------------------


@dataclass
class QueueItem:
    """One reported target with its open reports, as moderators see it."""

    kind: Reportable
    target_id: int
    target: Any  # None when the content was deleted since
    described: Described | None
    owner: Member | None
    hidden: bool
    reports: list[Report]


def queue_item(target_type: str, target_id: int) -> QueueItem:
    """One target as the queue shows it, with its open reports (there may be none)."""
    kind = reportable(target_type)
    reports = db.session.scalars(
        select(Report)
        .where(Report.target_type == target_type, Report.target_id == target_id, Report.status == ReportStatus.OPEN)
        .order_by(Report.id)
    ).all()
    return _item(kind, target_id, list(reports))


def _item(kind: Reportable, target_id: int, reports: list[Report]) -> QueueItem:
    target = kind.fetch(target_id)
    described = kind.describe(target) if target is not None else None
    owner = db.session.get(Member, described.owner_id) if described and described.owner_id else None
    hidden = target is not None and kind.is_hidden(target)
    return QueueItem(kind, target_id, target, described, owner, hidden, reports)


def queue() -> list[QueueItem]:
    """Open reports grouped by target, the most reported first, then the oldest."""
    reports = db.session.scalars(select(Report).where(Report.status == ReportStatus.OPEN).order_by(Report.id)).all()
    grouped: dict[tuple[str, int], list[Report]] = {}
    for filed in reports:
        grouped.setdefault((filed.target_type, filed.target_id), []).append(filed)
    items = [
        _item(_reportables[target_type], target_id, group)
        for (target_type, target_id), group in grouped.items()
        if target_type in _reportables
    ]
    return sorted(items, key=lambda item: (-len(item.reports), item.reports[0].id))


def suspended_members() -> list[Member]:
    """Members currently suspended, the latest first."""
    return list(
        db.session.scalars(select(Member).where(Member.suspended_at.is_not(None)).order_by(Member.suspended_at.desc()))
    )


# --- Moderators act --------------------------------------------------------------------------


def _log(moderator: Member, action: str, target_type: str, target_id: int, reason: str | None) -> None:
    db.session.add(ModerationAction(moderator_id=moderator.id, action=action, target_type=target_type,
                                    target_id=target_id, reason=reason))


# Actions other features log through `log_action` (name -> label shown in the log).
_LOGGED_ELSEWHERE: dict[str, Any] = {}


def register_logged_action(action: str, label) -> None:
    """A feature's moderator action that goes to the log (an organisation verified)."""
    _LOGGED_ELSEWHERE[action] = label


def logged_action_labels() -> dict[str, Any]:
    """Labels of the actions registered with `register_logged_action`."""
    return dict(_LOGGED_ELSEWHERE)


def log_action(moderator: Member, action: str, target_type: str, target_id: int, reason: str | None) -> None:
    """Record a registered action of another feature in the moderation log (no commit)."""
    if action not in _LOGGED_ELSEWHERE:
        raise KeyError(f"moderation action {action!r} is not registered")
    _log(moderator, action, target_type, target_id, reason)


def _close_reports(moderator: Member, target_type: str, target_id: int, status: str) -> None:
    db.session.execute(
        update(Report)
        .where(Report.target_type == target_type, Report.target_id == target_id, Report.status == ReportStatus.OPEN)
        .values(status=status, resolved_at=utcnow(), resolved_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )


def _clean_reason(reason: str | None, required: bool) -> str | None:
    reason = (reason or "").replace("\x00", "").strip() or None
    if required and not reason:
        raise RuleError(_("Say why: the member will read it."), "reason")
    if reason and len(reason) > REASON_MAX:
        raise RuleError(_("Use at most %(n)d characters.", n=REASON_MAX), "reason")
    return reason


def _owner_of(kind: Reportable, target) -> Member:
    described = kind.describe(target)
    owner = db.session.get(Member, described.owner_id) if described.owner_id else None
    if owner is None:
        raise RuleError(_("This content has no member to act on."))
    return owner


def moderate(moderator: Member, target_type: str, target_id: int, action: str, reason: str | None) -> None:
    """Apply one moderator action to a target, close its open reports when the action
    settles them, and log it, all in one transaction."""
    if not moderator.is_moderator:
        raise NotFoundError("moderation")
    kind = reportable(target_type)
    target = kind.fetch(target_id)
    if action == ModerationVerb.DISMISS:
        reason = _clean_reason(reason, required=False)
        _close_reports(moderator, target_type, target_id, ReportStatus.DISMISSED)
        _log(moderator, action, target_type, target_id, reason)
        db.session.flush()
        return
    if target is None:
        raise NotFoundError(target_type)
    if action in (ModerationVerb.HIDE, ModerationVerb.UNHIDE):
        reason = _clean_reason(reason, required=False)
        if not kind.hideable:
            raise RuleError(_("This cannot be hidden."))
        (kind.hide if action == ModerationVerb.HIDE else kind.unhide)(target)
        if action == ModerationVerb.HIDE:
            _close_reports(moderator, target_type, target_id, ReportStatus.RESOLVED)
        _log(moderator, action, target_type, target_id, reason)
        db.session.flush()
        return
    if action == ModerationVerb.WARN:
        reason = _clean_reason(reason, required=True)
        owner = _owner_of(kind, target)
        notify(owner.id, "moderation_warning", actor_id=None, detail=reason)
        _close_reports(moderator, target_type, target_id, ReportStatus.RESOLVED)
        _log(moderator, action, target_type, target_id, reason)
        db.session.flush()
        return
    if action in (ModerationVerb.SUSPEND, ModerationVerb.REINSTATE):
        reason = _clean_reason(reason, required=False)
        owner = _owner_of(kind, target)
        if owner.id == moderator.id:
            raise RuleError(_("You cannot suspend yourself."))
        if action == ModerationVerb.SUSPEND:
            suspend(owner)
            _close_reports(moderator, target_type, target_id, ReportStatus.RESOLVED)
        else:
            reinstate(owner)
        # The log names the member, whatever content led to them.
        _log(moderator, action, "member", owner.id, reason)
        db.session.flush()
        return
    raise NotFoundError("action")


def suspend(member: Member) -> None:
    """Suspend a member (caller commits): no more log-ins, and their visible listings hide
    until they are reinstated."""
    now = utcnow()
    member.suspended_at = member.suspended_at or now
    db.session.execute(
        update(Listing)
        .where(Listing.author_id == member.id, Listing.hidden_at.is_(None))
        .values(hidden_at=now, hidden_reason=HiddenReason.SUSPENSION)
        .execution_options(synchronize_session=False)
    )


def reinstate(member: Member) -> None:
    """Lift a suspension (caller commits); listings hidden by it come back, those a
    moderator hid stay hidden."""
    member.suspended_at = None
    db.session.execute(
        update(Listing)
        .where(Listing.author_id == member.id, Listing.hidden_reason == HiddenReason.SUSPENSION)
        .values(hidden_at=None, hidden_reason=None)
        .execution_options(synchronize_session=False)
    )


@dataclass
class LogEntry:
    """One line of the audit log, with what it was about when that still exists."""

    action: ModerationAction
    kind: Reportable | None
    described: Described | None
    hidden: bool


def log(limit: int = LOG_PAGE) -> list[LogEntry]:
    """The latest moderation actions, newest first."""
    actions = db.session.scalars(select(ModerationAction).order_by(ModerationAction.id.desc()).limit(limit)).all()
    entries = []
    for action in actions:
        kind = _reportables.get(action.target_type)
        target = kind.fetch(action.target_id) if kind else None
        entries.append(
            LogEntry(action, kind, kind.describe(target) if target is not None else None,
                     bool(target is not None and kind.is_hidden(target)))
        )
    return entries

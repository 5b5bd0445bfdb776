"""Every notification recorded is queued for each device of its member, in the transaction
that records it: a rolled-back notification pushes nothing, a committed one is pushed after
the commit (the delivery job is woken by unit_of_work.after_commit), or at the end of the
member's quiet hours when it comes during them (read by then, it is not pushed at all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, select

from ..extensions import db
from ..models import Member, Notification, PushDelivery, PushSubscription, utcnow
from ..timezones import zone_of
from ..unit_of_work import after_commit
from .delivery import wake


def quiet_until(member, now: datetime) -> datetime | None:
    """When the member's quiet hours end (naive UTC) if `now` (naive UTC) falls in them,
    else None. Quiet hours are whole hours of their own time zone (`quiet_start`,
    `quiet_end`, 22 and 8 by default where the alerts set them); a member without them has none."""
    start, end = getattr(member, "quiet_start", None), getattr(member, "quiet_end", None)
    if start is None or end is None or start == end:
        return None
    local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(zone_of(member)))
    hour = local.hour + local.minute / 60
    quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    ends = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC).replace(tzinfo=None)

_NEW = "onemile_push_new_notifications"


def _collect(session, _flush_context) -> None:
    new = [obj for obj in session.new if isinstance(obj, Notification)]
    if new:
        session.info.setdefault(_NEW, []).extend(new)


def _queue(session) -> None:
    pending = session.info.pop(_NEW, [])
    if not pending:
        return
    session.flush()
    # A savepoint rolled back after the notification was added took it with it: nothing to push.
    kept = [n for n in pending if inspect(n).persistent]
    if not kept:
        return
    devices = session.execute(
        select(PushSubscription.id, PushSubscription.member_id).where(
            PushSubscription.member_id.in_(sorted({n.member_id for n in kept}))
        )
    ).all()
    by_member: dict[int, list[int]] = {}
    for subscription_id, member_id in devices:
        by_member.setdefault(member_id, []).append(subscription_id)
    now = utcnow()
    due = {member_id: quiet_until(session.get(Member, member_id), now) or now for member_id in by_member}
    rows = [
        PushDelivery(notification_id=n.id, subscription_id=subscription_id, next_attempt_at=due[n.member_id])
        for n in kept
        for subscription_id in by_member.get(n.member_id, [])
    ]
    if rows:
        session.add_all(rows)
        session.flush()
        after_commit(wake)


def _forget(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NEW, None)


def connect() -> None:
    """Listen to the session (once per process: the session is global)."""
    for name, listener in (("after_flush", _collect), ("before_commit", _queue), ("after_transaction_end", _forget)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)

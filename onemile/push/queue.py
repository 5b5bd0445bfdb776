"""Every notification recorded is queued for each device of its member, in the transaction
that records it: a rolled-back notification pushes nothing, a committed one is pushed after
the commit (the delivery job is woken by unit_of_work.after_commit), or at the end of the
member's quiet hours (alerts settings) when it comes during them (read by then, it is not
pushed at all)."""

from __future__ import annotations

from sqlalchemy import event, inspect, select

from ..alerts.timing import quiet_until
from ..extensions import db
from ..models import Member, Notification, PushDelivery, PushSubscription, utcnow
from ..unit_of_work import after_commit
from .delivery import wake

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
    members = {member_id: session.get(Member, member_id) for member_id in by_member}
    # The member's quiet hours (their alert settings, in their zone): held until they end.
    due = {
        member_id: quiet_until(now, member.timezone, member.quiet_start, member.quiet_end) or now
        for member_id, member in members.items()
    }
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

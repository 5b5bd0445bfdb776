"""Tell members what happened: a row per notification, and an e-mail for the kinds that
deserve one, queued in the outbox by the transaction that causes it (onemile.mail).

The kinds are registered by the features (onemile.notifications.kinds): this module records,
lists and e-mails notifications through them and names no feature."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, event, func, inspect, select, update
from sqlalchemy.orm import joinedload

from .. import live, timezones
from ..extensions import db
from ..mail import public_url, send_mail
from ..models import Member, Notification, utcnow
from . import kinds

_PENDING = "onemile_pending_mail"


def notify(
    recipient_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    target_id: int | None = None,
    detail: str | None = None,
) -> Notification:
    """Record a notification in the current transaction (the caller commits) and queue its
    e-mail, if any, for after the commit. `target_id` is the id of the object the kind's
    registered target type names (a conversation, a project …)."""
    registered = kinds.kind_of(kind)
    if (registered.target is None) != (target_id is None):
        raise ValueError(f"a {kind!r} notification needs {'a' if registered.target else 'no'} target_id")
    notification = Notification(
        member_id=recipient_id,
        kind=kind,
        actor_id=actor_id,
        target_type=registered.target,
        target_id=target_id,
        detail=detail,
    )
    db.session.add(notification)
    live.notifications_changed(recipient_id)
    if registered.emailed:
        db.session.info.setdefault(_PENDING, []).append(notification)
    return notification


def unread_count(member_id: int) -> int:
    """How many notifications the member has not seen yet."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
    )


def bell_count(member_id: int) -> int:
    """unread_count for the bell, which every open page polls: from Redis while no
    notification of the member changed since it was last counted (REDIS_URL), else counted."""
    return live.unread_count(member_id, unread_count)


def recent(member_id: int, limit: int = 50) -> list[Notification]:
    """The member's latest notifications, newest first, each with its actor (same query)
    and its object (`n.target`, one query per target type). Those of a kind no longer
    registered, or whose object is gone, are left out."""
    notifications = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member_id)
            .options(joinedload(Notification.actor))
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
    kinds.load_targets(notifications)
    return [n for n in notifications if n.kind in kinds.KINDS and not n.target_missing]


def export_of(member_id: int) -> list[dict]:
    """The member's notifications for their data export, oldest first: kind, times (as
    datetimes) and what each target type adds about its object. Those whose object is gone
    are left out, as on the page."""
    notifications = list(
        db.session.scalars(select(Notification).where(Notification.member_id == member_id).order_by(Notification.id))
    )
    kinds.load_targets(notifications)
    lines = []
    for n in notifications:
        if n.target_missing:
            continue
        target_type = kinds.TARGET_TYPES.get(n.target_type)
        about = target_type.export(n.target) if target_type and target_type.export else {}
        # Format 1mile-export-1 has these two keys on every line, null when not about a conversation.
        lines.append({"kind": n.kind, "created_at": n.created_at, "read_at": n.read_at,
                      "listing_id": None, "conversation_id": None, **about})
    return lines


def sentence_template(notification: Notification) -> str:
    """The template of the notification's line, registered with its kind."""
    return kinds.KINDS[notification.kind].sentence


def action_template(notification: Notification) -> str | None:
    """The template of the one-tap button its kind shows after the line, if any."""
    return kinds.KINDS[notification.kind].action


def link_for(notification: Notification) -> tuple[str, dict]:
    """(endpoint, values) of where the notification's line leads, for url_for."""
    return kinds.KINDS[notification.kind].link_for(notification, notification.target)


def set_email_notifications(member_id: int, enabled: bool) -> None:
    """Turn the member's notification e-mails on or off."""
    db.session.execute(update(Member).where(Member.id == member_id).values(email_notifications=enabled))
    db.session.flush()


def mark_all_read(member_id: int) -> None:
    """The member has seen everything."""
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    live.notifications_changed(member_id)
    db.session.flush()


def mark_read_about(member_id: int, target_type: str, target_id: int) -> None:
    """Opening an object (a conversation) reads the member's notifications about it
    (caller commits)."""
    read = db.session.execute(
        update(Notification)
        .where(
            Notification.member_id == member_id,
            Notification.target_type == target_type,
            Notification.target_id == target_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    if read.rowcount:
        live.notifications_changed(member_id)


def withdraw(kind: str, target_id: int) -> None:
    """Take back the notifications of a kind about an object (caller commits): their
    sentence would show what is no longer public."""
    target_type = kinds.kind_of(kind).target
    db.session.execute(
        delete(Notification).where(
            Notification.kind == kind, Notification.target_type == target_type, Notification.target_id == target_id
        )
    )


def emailed_alone(member: Member, kind_name: str) -> bool:
    """Whether a notification of this kind is e-mailed to the member on its own, as it
    happens (the digest then leaves it out: one e-mail per piece of news)."""
    kind = kinds.KINDS.get(kind_name)
    return kind is not None and kind.emailed and (member.email_notifications or kind.account_kind)


def _email_for(notification: Notification) -> tuple[str, str, str, str] | None:
    """(address, subject, body, language) in the recipient's language, or None if they opted
    out or the notification's object is already gone."""
    member = db.session.get(Member, notification.member_id)
    if member is None or not emailed_alone(member, notification.kind):
        return None
    kind = kinds.KINDS[notification.kind]
    kinds.load_targets([notification])
    if notification.target_missing:
        return None
    target = notification.target
    actor = db.session.get(Member, notification.actor_id) if notification.actor_id else None
    endpoint, values = kind.email_link_for(notification, target)
    link = _external_url(endpoint, **values)
    settings_link = _external_url("notifications.settings")
    # The member's language and time zone for anything dated in the text.
    with timezones.as_member(member):
        who = actor.display_name if actor else _("A member")
        subject, lead = kind.email(notification, target, who)
        if kind.account_kind:
            # Not something the settings turn off: do not offer to.
            body = _("Hello %(first_name)s,\n\n%(lead)s\n\n%(link)s\n\n1Mile",
                     first_name=member.first_name, lead=lead, link=link)
        else:
            body = _(
                "Hello %(first_name)s,\n\n%(lead)s\n\n%(link)s\n\n"
                "You can turn these e-mails off in your settings: %(settings_link)s\n\n1Mile",
                first_name=member.first_name,
                lead=lead,
                link=link,
                settings_link=settings_link,
            )
    return member.email, subject, body, member.language


def _external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, on the configured public address."""
    return public_url(endpoint, **values)


@event.listens_for(db.session, "before_commit")
def _queue_pending_mail(session) -> None:
    """Queue the e-mails in the outbox while the transaction can still write: they commit
    with the notifications that caused them, and leave after the commit (onemile.mail)."""
    pending = session.info.pop(_PENDING, [])
    if pending:
        session.flush()
        # A savepoint rolled back after notify() took its notification with it: no e-mail.
        kept = [notification for notification in pending if inspect(notification).persistent]
        for email in filter(None, map(_email_for, kept)):
            send_mail(*email)


@event.listens_for(db.session, "after_transaction_end")
def _drop_pending_mail(session, transaction) -> None:
    # Only the outermost transaction decides. `after_rollback` also fires when a savepoint
    # rolls back (a refused transfer, a lost race caught with begin_nested), which dropped
    # the e-mails of notifications the outer transaction then committed.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(db.session, "before_flush")
def _forget_notifications_of_deleted_targets(session, flush_context, instances) -> None:
    """Notifications go with their object: deleted through the ORM, or by the database along
    with a row the target type declared (`deleted_with`, e.g. a listing's conversations)."""
    doomed: dict[str, set[int]] = {}
    for obj in session.deleted:
        for target_type in kinds.TARGET_TYPES.values():
            if isinstance(obj, target_type.model):
                doomed.setdefault(target_type.name, set()).add(obj.id)
            for parent, children_of in target_type.deleted_with.items():
                if isinstance(obj, parent):
                    doomed.setdefault(target_type.name, set()).update(children_of([obj.id]))
    for name, ids in doomed.items():
        session.execute(
            delete(Notification)
            .where(Notification.target_type == name, Notification.target_id.in_(sorted(ids)))
            .execution_options(synchronize_session=False)
        )

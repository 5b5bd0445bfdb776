"""Tell members what happened: a row per notification, and an e-mail for the kinds that
deserve one, sent only once the transaction that caused it has committed."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, select, update

from ..extensions import db
from ..mail import send_mail
from ..models import Member, Notification, utcnow
from ..models.notification import NOTIFICATION_KINDS

# Kinds that also send an e-mail (when the member has not turned e-mails off).
EMAILED_KINDS = frozenset({"first_reply", "confirmation_requested"})
_PENDING = "onemile_pending_mail"
_READY = "onemile_ready_mail"


def notify(
    recipient_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    listing_id: int | None = None,
    conversation_id: int | None = None,
) -> Notification:
    """Record a notification in the current transaction (the caller commits) and queue its
    e-mail, if any, for after the commit."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    notification = Notification(
        member_id=recipient_id,
        kind=kind,
        actor_id=actor_id,
        listing_id=listing_id,
        conversation_id=conversation_id,
    )
    db.session.add(notification)
    if kind in EMAILED_KINDS:
        db.session.info.setdefault(_PENDING, []).append(notification)
    return notification


def unread_count(member_id: int) -> int:
    """How many notifications the member has not seen yet."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
    )


def recent(member_id: int, limit: int = 50) -> list[Notification]:
    """The member's latest notifications, newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(member_id: int) -> None:
    """The member has seen everything."""
    db.session.execute(
        update(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()


def mark_read_for_conversation(member_id: int, conversation_id: int) -> None:
    """Opening a conversation reads its notifications (caller commits)."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.member_id == member_id,
            Notification.conversation_id == conversation_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )


def _email_for(notification: Notification) -> tuple[str, str, str] | None:
    """(address, subject, body) in the recipient's language, or None if they opted out."""
    member = db.session.get(Member, notification.member_id)
    if member is None or not member.email_notifications:
        return None
    actor = db.session.get(Member, notification.actor_id) if notification.actor_id else None
    listing_title = notification.listing.title if notification.listing else ""
    link = url_for("notifications.index", _external=True)
    with force_locale(member.language):
        who = actor.display_name if actor else _("A member")
        if notification.kind == "first_reply":
            subject = _("%(name)s answered your listing", name=who)
            lead = _("%(name)s answered “%(title)s”.", name=who, title=listing_title)
        else:
            subject = _("Please confirm the service with %(name)s", name=who)
            lead = _(
                "%(name)s marked “%(title)s” as done with you. Confirm it to thank them with a smile.",
                name=who,
                title=listing_title,
            )
        body = _(
            "Hello %(first_name)s,\n\n%(lead)s\n\n%(link)s\n\n"
            "You can turn these e-mails off in your account settings.\n\n1Mile",
            first_name=member.first_name,
            lead=lead,
            link=link,
        )
    return member.email, subject, body


@event.listens_for(db.session, "before_commit")
def _prepare_pending_mail(session) -> None:
    """Write the e-mails while the transaction can still read (after_commit cannot)."""
    pending = session.info.pop(_PENDING, [])
    if pending:
        session.flush()
        session.info[_READY] = [email for email in map(_email_for, pending) if email]


@event.listens_for(db.session, "after_commit")
def _send_ready_mail(session) -> None:
    for email in session.info.pop(_READY, []):
        try:
            send_mail(*email)
        except OSError:
            # The notification itself is saved; a mail server hiccup must not undo it.
            current_app.logger.exception("could not send a notification e-mail to %s", email[0])


@event.listens_for(db.session, "after_rollback")
def _drop_pending_mail(session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_READY, None)

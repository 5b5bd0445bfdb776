"""Tell members what happened: a row per notification, and an e-mail for the kinds that
deserve one, queued in the outbox by the transaction that causes it (onemile.mail)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import joinedload

from .. import live
from ..extensions import db
from ..mail import public_url, send_mail
from ..models import Article, Member, Notification, utcnow
from ..models.notification import NOTIFICATION_KINDS

# Kinds that also send an e-mail (when the member has not turned e-mails off).
EMAILED_KINDS = frozenset(
    {
        "first_reply",
        "confirmation_requested",
        "new_article",
        "project_approved",
        "project_rejected",
        "project_update",
        "moderation_warning",
    }
)
# Kinds about the account itself: e-mailed even to members who turned e-mails off.
ACCOUNT_KINDS = frozenset({"moderation_warning"})
_PENDING = "onemile_pending_mail"


def notify(
    recipient_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    listing_id: int | None = None,
    conversation_id: int | None = None,
    article_id: int | None = None,
    project_id: int | None = None,
    detail: str | None = None,
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
        article_id=article_id,
        project_id=project_id,
        detail=detail,
    )
    db.session.add(notification)
    live.notifications_changed(recipient_id)
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


def bell_count(member_id: int) -> int:
    """unread_count for the bell, which every open page polls: from Redis while no
    notification of the member changed since it was last counted (REDIS_URL), else counted."""
    return live.unread_count(member_id, unread_count)


def recent(member_id: int, limit: int = 50) -> list[Notification]:
    """The member's latest notifications, newest first, with their actor and listing
    loaded in the same query (the page names both in every sentence)."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member_id)
            .options(
                joinedload(Notification.actor),
                joinedload(Notification.listing),
                joinedload(Notification.article).joinedload(Article.mag),
                joinedload(Notification.project),
            )
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def received_smile(notification: Notification) -> bool:
    """For a confirmed service: True when the recipient was the helper (they got the
    smile), False when they were the beneficiary (they gave it). On a request the author
    is the beneficiary; on an offer the author helps."""
    listing = notification.listing
    if notification.kind != "service_confirmed" or listing is None:
        return False
    recipient_is_author = listing.author_id == notification.member_id
    return recipient_is_author == (listing.kind == "offer")


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


def mark_read_for_conversation(member_id: int, conversation_id: int) -> None:
    """Opening a conversation reads its notifications (caller commits)."""
    read = db.session.execute(
        update(Notification)
        .where(
            Notification.member_id == member_id,
            Notification.conversation_id == conversation_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    if read.rowcount:
        live.notifications_changed(member_id)


def _email_for(notification: Notification) -> tuple[str, str, str, str] | None:
    """(address, subject, body, language) in the recipient's language, or None if they opted out."""
    member = db.session.get(Member, notification.member_id)
    if member is None or not (member.email_notifications or notification.kind in ACCOUNT_KINDS):
        return None
    actor = db.session.get(Member, notification.actor_id) if notification.actor_id else None
    listing_title = notification.listing.title if notification.listing else ""
    project_title = notification.project.title if notification.project else ""
    link = (
        _external_url("projects.detail", project_id=notification.project_id)
        if notification.project_id
        else _external_url("notifications.index")
    )
    settings_link = _external_url("notifications.settings")
    with force_locale(member.language):
        who = actor.display_name if actor else _("A member")
        if notification.kind == "new_article" and notification.article is not None:
            article = notification.article
            link = _external_url("mags.article", mag_id=article.mag_id, article_id=article.id) or link
            subject = _("New in %(mag)s: %(title)s", mag=article.mag.title, title=article.title)
            lead = _(
                "%(mag)s, a mag you follow, published “%(title)s”.", mag=article.mag.title, title=article.title
            )
        elif notification.kind == "project_approved":
            subject = _("Your project is online")
            lead = _("A moderator approved “%(title)s”: it is now on the map.", title=project_title)
        elif notification.kind == "project_rejected":
            subject = _("Your project was not approved")
            lead = _(
                "A moderator did not approve “%(title)s”. Read why on its page, edit it and send it again.",
                title=project_title,
            )
        elif notification.kind == "project_update":
            subject = _("News from “%(title)s”", title=project_title)
            lead = _("%(name)s posted news about “%(title)s”, a project you support.", name=who, title=project_title)
        elif notification.kind == "moderation_warning":
            subject = _("A warning from the 1Mile moderators")
            lead = _(
                "The moderators reviewed reports about your activity on 1Mile and ask you to "
                "respect the community rules. Their message:\n\n%(reason)s",
                reason=notification.detail or "",
            )
        elif notification.kind == "first_reply":
            subject = _("%(name)s answered your listing", name=who)
            lead = _("%(name)s answered “%(title)s”.", name=who, title=listing_title)
        else:
            subject = _("Please confirm the service with %(name)s", name=who)
            lead = _(
                "%(name)s marked “%(title)s” as done with you. Confirm it to thank them with a smile.",
                name=who,
                title=listing_title,
            )
        if notification.kind in ACCOUNT_KINDS:
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

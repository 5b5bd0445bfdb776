"""The digest e-mail: once a day or once a week (the member's choice, daily by default: ads
in a neighbourhood are fresh for a day or two), in the member's language, after DIGEST_HOUR
in their time zone: the new ads in their miles that waited for it (with distance bands),
news of projects they support, new articles of mags they follow, their unread messages.

`flask digest send` (cron or a systemd timer, docs/deploy.md) goes through the members in
batches of DIGEST_BATCH and commits each batch: it is its own edge, like the mail worker.
Idempotent: a digest is a `Digest` row unique per member and period (a local date, or an ISO
week), written with `insert_once` in the same transaction as its e-mail in the durable
outbox (onemile.mail) and the marking of the alerts it carries. Run twice, nothing is sent
twice; killed half-way, the committed batches stand and the next run does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from ..extensions import db
from ..listings.labels import KIND_LABELS
from ..mail import public_url, send_mail
from ..models import AdAlert, Digest, Listing, Mag, Member, Notification, Project, utcnow
from ..models.protection import can_list
from ..notifications import kinds
from ..notifications.services import emailed_alone
from ..privacy import distance_band
from ..unit_of_work import insert_once
from . import timing

# What the digest counts as news of a supported project, a new article, an unread message.
PROJECT_NEWS_KINDS = ("project_update", "project_closed")
ARTICLE_KINDS = ("new_article",)
MESSAGE_KINDS = ("first_reply", "message")
MAX_ADS = 30
_SALT = "digest-unsubscribe"


def unsubscribe_token(member_id: int) -> str:
    """A signed token naming the member, for the one-click unsubscribe link (no expiry: an
    old digest's link must still work)."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).dumps(member_id)


def member_of_unsubscribe_token(token: str) -> int | None:
    """The member a token names, or None for a forged or damaged one."""
    try:
        member_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).loads(token)
    except BadSignature:
        return None
    return member_id if isinstance(member_id, int) else None


@dataclass
class Content:
    """What one member's digest holds."""

    ads: list[tuple[AdAlert, object]] = field(default_factory=list)
    news: list[Notification] = field(default_factory=list)
    unread_messages: int = 0
    last_notification_id: int = 0

    @property
    def empty(self) -> bool:
        return not (self.ads or self.news or self.unread_messages)


_MODELS = {"listing": Listing, "project": Project, "mag": Mag}


def content_for(member: Member, now) -> Content:
    """The member's digest as of now: waiting ad alerts still listed for them, news since
    their previous digest, unread messages."""
    content = Content()
    waiting = list(db.session.scalars(
        select(AdAlert).where(AdAlert.member_id == member.id, AdAlert.delivery == "digest",
                              AdAlert.digest_id.is_(None)).order_by(AdAlert.distance_m, AdAlert.id)
    ))
    for alert in waiting:
        target = db.session.get(_MODELS[alert.target_type], alert.target_id)
        if target is not None and can_list(member.id, target, now):
            content.ads.append((alert, target))
    previous = db.session.scalar(select(func.max(Digest.last_notification_id)).where(Digest.member_id == member.id))
    content.last_notification_id = db.session.scalar(
        select(func.coalesce(func.max(Notification.id), 0)).where(Notification.member_id == member.id)) or 0
    news = list(db.session.scalars(
        select(Notification).where(
            Notification.member_id == member.id, Notification.id > (previous or 0),
            Notification.kind.in_(PROJECT_NEWS_KINDS + ARTICLE_KINDS),
        ).order_by(Notification.id)
    ))
    kinds.load_targets(news)
    # News already e-mailed on its own as it happened is not told a second time.
    content.news = [n for n in news if not n.target_missing and not emailed_alone(member, n.kind)][:MAX_ADS]
    content.unread_messages = db.session.scalar(
        select(func.count()).select_from(Notification).where(
            Notification.member_id == member.id, Notification.read_at.is_(None),
            Notification.kind.in_(MESSAGE_KINDS),
        )
    )
    return content


def _ad_line(alert: AdAlert, target) -> str:
    band = distance_band(alert.distance_m)
    if alert.target_type == "listing":
        link = public_url("listings.detail", listing_id=target.id)
        return f"- {KIND_LABELS[target.kind]}: “{target.title}” ({band})\n  {link}"
    if alert.target_type == "project":
        link = public_url("projects.detail", project_id=target.id)
        return f"- {_('Project')}: “{target.title}” ({band})\n  {link}"
    link = public_url("mags.show", mag_id=target.id)
    return f"- {_('Mag')}: “{target.title}” ({band})\n  {link}"


def _news_line(notification: Notification) -> str:
    target = notification.target
    if notification.kind in ARTICLE_KINDS:
        return f"- {target.mag.title}: “{target.title}”\n  " + public_url(
            "mags.article", mag_id=target.mag_id, article_id=target.id)
    return f"- “{target.title}”\n  " + public_url("projects.detail", project_id=target.id)


def compose(member: Member, content: Content) -> tuple[str, str, dict[str, str]]:
    """(subject, body, headers) of the digest, in the member's language."""
    unsubscribe = public_url("alerts.unsubscribe", token=unsubscribe_token(member.id))
    settings = public_url("alerts.settings")
    with force_locale(member.language):
        parts = [_("Hello %(first_name)s,", first_name=member.first_name)]
        if content.ads:
            parts.append(_("New near you:") + "\n" + "\n".join(_ad_line(a, t) for a, t in content.ads[:MAX_ADS]))
        projects = [n for n in content.news if n.kind in PROJECT_NEWS_KINDS]
        articles = [n for n in content.news if n.kind in ARTICLE_KINDS]
        if projects:
            parts.append(_("News of projects you support:") + "\n" + "\n".join(map(_news_line, projects)))
        if articles:
            parts.append(_("New in the mags you follow:") + "\n" + "\n".join(map(_news_line, articles)))
        if content.unread_messages:
            parts.append(ngettext("You have %(num)d unread message:", "You have %(num)d unread messages:",
                                  content.unread_messages) + "\n" + public_url("notifications.index"))
        parts.append(_("Choose what you hear about, and how often: %(link)s", link=settings))
        parts.append(_("Stop these e-mails: %(link)s", link=unsubscribe))
        parts.append("1Mile")
        count = len(content.ads)
        subject = (ngettext("%(num)d new ad near you", "%(num)d new ads near you", count) if count
                   else _("Your news from 1Mile"))
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return subject, "\n\n".join(parts), headers


def due(member: Member, now) -> str | None:
    """The period whose digest the member is due now, or None (never, not yet the hour)."""
    if member.digest_frequency not in ("daily", "weekly"):
        return None
    if timing.local(now, member.timezone).hour < current_app.config["DIGEST_HOUR"]:
        return None
    return timing.digest_period(now, member.timezone, member.digest_frequency)


def send_digest(member: Member, period: str, now) -> bool:
    """Write the member's digest for `period` into the outbox, once: False when it was
    already sent or there is nothing to say. The caller commits."""
    content = content_for(member, now)
    if content.empty:
        return False
    digest, created = insert_once(
        lambda: db.session.scalar(select(Digest).where(Digest.member_id == member.id, Digest.period == period)),
        lambda: Digest(member_id=member.id, period=period, created_at=now,
                       last_notification_id=content.last_notification_id),
    )
    if not created:
        return False
    if content.ads:
        db.session.execute(
            update(AdAlert).where(AdAlert.id.in_([alert.id for alert, _ in content.ads])).values(digest_id=digest.id)
        )
    subject, body, headers = compose(member, content)
    send_mail(member.email, subject, body, member.language, headers=headers)
    db.session.flush()
    return True


def candidates_after(last_id: int, limit: int) -> list[Member]:
    """The next members (by id) who may get a digest: verified, not suspended nor deleted,
    not opted out."""
    return list(db.session.scalars(
        select(Member).where(
            Member.id > last_id, Member.digest_frequency != "never", Member.email_verified_at.is_not(None),
            Member.suspended_at.is_(None), Member.deleted_at.is_(None),
        ).order_by(Member.id).limit(limit)
    ))


def send_batch(last_id: int, limit: int, now=None) -> tuple[int, int, int]:
    """One batch of `flask digest send`: (last member id seen, members looked at, digests
    written). The caller commits the batch."""
    now = now or utcnow()
    members = candidates_after(last_id, limit)
    if not members:
        return last_id, 0, 0
    already = {tuple(row) for row in db.session.execute(
        select(Digest.member_id, Digest.period).where(Digest.member_id.in_([m.id for m in members]))
    )}
    written = 0
    for member in members:
        period = due(member, now)
        if period is not None and (member.id, period) not in already and send_digest(member, period, now):
            written += 1
    return members[-1].id, len(members), written


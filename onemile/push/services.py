"""A device's subscription: kept once per push endpoint, for the member logged in on it."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from ..errors import RuleError
from ..extensions import db
from ..models import Member, PushSubscription
from ..unit_of_work import insert_once

# RFC 8291: the browser's key is an uncompressed P-256 point, its auth secret 16 bytes.
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


def _decoded(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _allowed_endpoint(endpoint: str) -> bool:
    """Only the browsers' push services: the server posts to this address, so it must not
    be a way to make it reach anything else (an internal address, say)."""
    parts = urlsplit(endpoint)
    config = current_app.config
    if parts.scheme != "https" and not (config["PUSH_ALLOW_HTTP"] and parts.scheme == "http"):
        return False
    host = (parts.hostname or "").lower()
    return any(host == allowed or host.endswith("." + allowed) for allowed in config["PUSH_SERVICE_HOSTS"])


def subscribe(member: Member, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Push this member's notifications to the device with this endpoint (caller commits).
    The same device subscribing again (or another member logging in on it) updates its
    row: one subscription per device.

    A device subscribed for another member changes hands only with the same auth secret
    (the same browser, with a new member logged in): knowing someone's endpoint is not
    enough to take their notifications away from them."""
    _check(endpoint, p256dh, auth)
    held = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if held is not None and held.member_id != member.id and not hmac.compare_digest(held.auth.encode(), auth.encode()):
        raise RuleError(_("This subscription is not known here."), field="endpoint")
    return _store(member.id, endpoint, p256dh, auth)


def renew(old_endpoint: str, old_auth: str, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """The browser replaced a device's subscription (its service worker's
    `pushsubscriptionchange`, with no page open and maybe no session): the new one takes the
    old one's place, for the same member (caller commits).

    The proof is the old subscription's auth secret, which only that browser and this
    server know; a wrong or unknown one changes nothing, and says no more than "refused"."""
    old = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == old_endpoint))
    if old is None or not hmac.compare_digest(old.auth.encode(), old_auth.encode()):
        raise RuleError(_("This subscription is not known here."), field="old_endpoint")
    _check(endpoint, p256dh, auth)  # before anything changes
    member_id = old.member_id
    if endpoint != old_endpoint:
        db.session.delete(old)
        db.session.flush()
    return _store(member_id, endpoint, p256dh, auth)


def _check(endpoint: str, p256dh: str, auth: str) -> None:
    key, secret = _decoded(p256dh), _decoded(auth)
    if key is None or len(key) != P256_POINT_BYTES or key[0] != 4 or secret is None or len(secret) != AUTH_SECRET_BYTES:
        raise RuleError(_("This browser's notification keys are not valid."), field="p256dh")
    if not _allowed_endpoint(endpoint):
        raise RuleError(_("This browser's push service is not supported."), field="endpoint")


def _store(member_id: int, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """The device's one row, now the member's, with these keys (checked by the caller)."""

    def find():
        return db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))

    subscription, _created = insert_once(
        find, lambda: PushSubscription(member_id=member_id, endpoint=endpoint, p256dh=p256dh, auth=auth)
    )
    subscription.member_id, subscription.p256dh, subscription.auth = member_id, p256dh, auth
    db.session.flush()
    return subscription


def unsubscribe(member: Member, endpoint: str) -> None:
    """This device no longer wants the member's notifications (caller commits)."""
    db.session.execute(
        delete(PushSubscription).where(PushSubscription.member_id == member.id, PushSubscription.endpoint == endpoint)
    )


def devices_of(member_id: int) -> list[PushSubscription]:
    """The member's subscribed devices, oldest first."""
    return list(
        db.session.scalars(
            select(PushSubscription).where(PushSubscription.member_id == member_id).order_by(PushSubscription.id)
        )
    )

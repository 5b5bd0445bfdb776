"""Pushing the queue (PushDelivery rows): claim a due row, write its text in the member's
language and time zone, encrypt it for the device and send it to its push service; retry
with back-off, forget a device its push service no longer knows (404/410).

The same shape as the mail outbox (onemile.mail.delivery), whose thread and worker loop it
reuses: a background thread of the web process woken after each commit that queued pushes
(PUSH_DELIVERY=thread, the default without REDIS_URL), or `flask push worker` woken through
Redis (PUSH_DELIVERY=worker). Each step is its own unit of work and commits at its edge.
A retried push cannot show twice: the notification's tag makes the browser replace it.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import requests
from flask import Flask, current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..mail.delivery import (
    DeliveryThread,
    backoff,
    claim,
    due_ids,
    hourly,
    wake_with_first_request,
    wake_worker,
)
from ..models import (
    Member,
    Notification,
    PushDelivery,
    PushDeliveryStatus,
    PushSubscription,
    utcnow,
)
from ..unit_of_work import job_step
from . import payload, vapid

log = logging.getLogger(__name__)

# What the push service's answer means (RFC 8030): the subscription is gone for good.
GONE = (404, 410)


class Retry(Exception):
    """Nothing was delivered but a later attempt may be (network, 429, 5xx)."""


def _send(subscription: PushSubscription, data: bytes) -> int:
    """Encrypt and POST one push; the push service's status code."""
    config = current_app.config
    try:
        response = webpush(
            {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
            data=data,
            vapid_private_key=vapid.signer(),
            # A new dict each time: pywebpush writes `aud` and `exp` into it.
            vapid_claims={"sub": vapid.subject()},
            ttl=config["PUSH_TTL"],
            timeout=config["PUSH_TIMEOUT"],
            headers={"Urgency": "normal"},
        )
    except WebPushException as error:
        if error.response is None:
            raise Retry(str(error)) from error
        return error.response.status_code
    except requests.RequestException as error:
        raise Retry(f"{type(error).__name__}: {error}") from error
    return response.status_code


def _finish(row_id: int, **values) -> None:
    with job_step():
        db.session.execute(update(PushDelivery).where(PushDelivery.id == row_id).values(**values))


def deliver_one(row_id: int) -> str | None:
    """Claim and push one row; its new status ("gone" when the device was forgotten), or
    None if another worker had it or it is not due."""
    # Each step is its own unit of work (unit_of_work.job_step): the claim, the composing,
    # the outcome; the push itself happens between two of them, outside any transaction.
    with job_step():
        if not claim(PushDelivery, row_id):
            return None
    with job_step():
        row = db.session.get(PushDelivery, row_id)
        subscription = db.session.get(PushSubscription, row.subscription_id)
        subscription_id = subscription.id
        notification = db.session.get(Notification, row.notification_id)
        member = db.session.get(Member, notification.member_id)
        message = payload.compose(notification, member)
        unread = notification.read_at is None
    if message is None or not unread:
        # Its object is gone, or the member has read it already: nothing to tell.
        _finish(row_id, status=PushDeliveryStatus.DROPPED)
        return PushDeliveryStatus.DROPPED
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        status = _send(subscription, data)
    except Retry as error:
        return _later(row_id, str(error))
    if status in GONE:
        # The device unsubscribed or the browser was reset: forget it (its rows go with it).
        with job_step():
            db.session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))
        log.info("push subscription %s is gone (%s): forgotten", subscription_id, status)
        return "gone"
    if 200 <= status < 300:
        _finish(row_id, status=PushDeliveryStatus.SENT, sent_at=utcnow(), last_error=None)
        return PushDeliveryStatus.SENT
    if status == 429 or status >= 500:
        return _later(row_id, f"push service answered {status}")
    _finish(row_id, status=PushDeliveryStatus.FAILED, last_error=f"push service answered {status}")
    return PushDeliveryStatus.FAILED


def _later(row_id: int, error: str) -> str:
    with job_step():
        attempts = db.session.scalar(select(PushDelivery.attempts).where(PushDelivery.id == row_id))
    final = attempts >= current_app.config["PUSH_MAX_ATTEMPTS"]
    status = PushDeliveryStatus.FAILED if final else PushDeliveryStatus.PENDING
    retry_at = utcnow() + backoff(attempts, current_app.config["PUSH_RETRY_SECONDS"])
    _finish(row_id, status=status, last_error=error[:2000], next_attempt_at=retry_at)
    return status


def deliver_due(limit: int = 100) -> int:
    """One pass over the rows due now (oldest first); the number handled."""
    return sum(1 for row_id in due_ids(PushDelivery, limit) if deliver_one(row_id) is not None)


def drain() -> float:
    """Push everything due now, prune old rows now and then; seconds until the next pass."""
    while deliver_due():
        pass
    hourly("push", _prune_old)
    with job_step():
        due = db.session.scalar(
            select(func.min(PushDelivery.next_attempt_at)).where(PushDelivery.status == PushDeliveryStatus.PENDING))
    poll = current_app.config["PUSH_POLL_SECONDS"]
    return poll if due is None else min(max((due - utcnow()).total_seconds(), 0.05), poll)


def prune(days: int) -> int:
    """Delete rows done with (sent, dropped, failed) older than `days` days."""
    with job_step():
        deleted = db.session.execute(
            delete(PushDelivery).where(
                PushDelivery.status.in_((PushDeliveryStatus.SENT, PushDeliveryStatus.DROPPED, PushDeliveryStatus.FAILED)),
                PushDelivery.created_at < utcnow() - timedelta(days=days),
            )
        ).rowcount
    return deleted


def _prune_old() -> None:
    prune(current_app.config["MAIL_KEEP_DAYS"])


# --- who runs it ----------------------------------------------------------------------------

_THREADS: dict[int, DeliveryThread] = {}
_threads_lock = threading.Lock()


def _thread_of(app: Flask) -> DeliveryThread:
    with _threads_lock:
        if id(app) not in _THREADS:
            _THREADS[id(app)] = DeliveryThread(app, drain_pass=drain, name="onemile-push")
        return _THREADS[id(app)]


def wake() -> None:
    """After a commit that queued pushes: wake this process's thread, or the worker."""
    app = current_app._get_current_object()
    if app.config["PUSH_DELIVERY"] == "thread":
        _thread_of(app).wake()
    else:
        wake_worker(app, app.config["PUSH_WAKE_KEY"])


def wait_until_pushed(app: Flask, timeout: float = 30) -> None:
    """Block until the app's push thread is idle (tests)."""
    thread = _THREADS.get(id(app))
    if thread is not None and not thread.idle(timeout):
        raise TimeoutError("push delivery did not finish")


def stop(app: Flask) -> None:
    """Stop the app's push thread, if any (tests, before dropping a database)."""
    thread = _THREADS.pop(id(app), None)
    if thread is not None:
        thread.stop()


def init_app(app: Flask) -> None:
    """Settings, and in thread mode a pass with the first request (what an earlier process
    left pending, retries falling due)."""
    config = app.config
    for name, default in (("PUSH_TTL", 12 * 3600), ("PUSH_TIMEOUT", 10.0), ("PUSH_RETRY_SECONDS", 30.0),
                          ("PUSH_MAX_ATTEMPTS", 6), ("PUSH_POLL_SECONDS", 5.0)):
        config.setdefault(name, default)
    if config["PUSH_DELIVERY"] == "thread" and not app.testing:
        wake_with_first_request(app, _thread_of)

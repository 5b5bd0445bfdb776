"""Delivering the outbox: claim a due row, write it if it was deferred, send it, record how
it went; retries with back-off, each message sent at most once.

Who runs it (MAIL_DELIVERY):
- `thread` (default without REDIS_URL, `make run`, tests): a background thread of the web
  process, woken by every commit that added outbox rows, so that e-mails leave milliseconds
  after the response without a second process.
- `worker` (default with REDIS_URL, production): `flask mail worker`, a service next to
  gunicorn (docs/deploy.md); the web processes wake it through a Redis list.

At most once: a row is claimed by one conditional UPDATE (pending -> sending) before it is
sent, so two workers never both send it; its Message-ID is fixed when the row is written. A
failure known to have sent nothing (no connection, a 4xx answer) goes back to pending with
back-off; a refusal (5xx) or the last attempt is `failed`; a failure whose outcome is unknown
(the connection dropped after the message was handed over) is `failed` too, not retried by
itself: `flask mail retry ID` sends it again once someone has checked.

This module is a job, not a feature: each of its steps is its own unit of work
(`unit_of_work.job_step`, committed at the step's end): the claim must be committed before the
message leaves, or two workers could both send it; the outcome after. Requests and commands
commit at their edge (unit_of_work).
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import redis
from flask import Flask, current_app
from sqlalchemy import delete, event, func, select, update

from ..extensions import db
from ..models import OutgoingMail, OutgoingMailStatus, utcnow
from ..unit_of_work import job_step, savepoint_released
from . import MAIL_ADDED, composer_for

log = logging.getLogger(__name__)


class Uncertain(Exception):
    """The message may or may not have left: never retried by itself."""


class Refused(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


# --- one message --------------------------------------------------------------------------


def _message(row: OutgoingMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=UTC))
    message["Message-ID"] = row.message_id
    message.set_content(row.body)
    for name, value in json.loads(row.headers or "{}").items():
        message[name] = value
    if row.language:
        # After set_content, which drops every Content-* header set before it.
        message["Content-Language"] = row.language
    return message


def _write_file(message: EmailMessage, outbox: Path) -> None:
    """Development delivery: one .eml per Message-ID (written whole, then renamed, so a
    reader never sees half a file and a second write of the same message changes nothing)."""
    outbox.mkdir(parents=True, exist_ok=True)
    name = "".join(c for c in message["Message-ID"] if c.isalnum() or c in ".-_")
    final = outbox / f"{name}.eml"
    if final.exists():
        return
    partial = outbox / f".{name}.part"
    partial.write_bytes(bytes(message))
    partial.replace(final)


def _send_smtp(message: EmailMessage) -> None:
    """SMTP delivery. Errors before the message is handed over are OSError/SMTPException
    (retry); a 5xx refusal is Refused; a failure while handing it over is Uncertain."""
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        try:
            smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            codes = [error.smtp_code] if hasattr(error, "smtp_code") else [
                code for code, _ in getattr(error, "recipients", {}).values()
            ]
            if codes and all(code >= 500 for code in codes):
                raise Refused(str(error)) from error
            raise
        except OSError as error:  # smtplib's errors included: the hand-over broke off
            raise Uncertain(f"{type(error).__name__}: {error}") from error
    finally:
        # Not `with`: its QUIT raises on an odd answer, which would turn a message already
        # accepted into a failure, and so into a second copy.
        try:
            smtp.quit()
        except OSError:
            smtp.close()


def _deliver(message: EmailMessage) -> None:
    if current_app.config.get("MAIL_SERVER"):
        _send_smtp(message)
    else:
        _write_file(message, Path(current_app.config["MAIL_OUTBOX"]))


def backoff(attempts: int, base: float) -> timedelta:
    """The wait after failed attempt n: base × 2^(n-1) seconds, at most an hour."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _backoff(attempts: int) -> timedelta:
    return backoff(attempts, current_app.config["MAIL_RETRY_SECONDS"])


def claim(model, row_id: int, **values) -> bool:
    """Take a due `pending` row of a durable queue (this outbox, the push queue: their
    statuses share these names) for this worker alone: one conditional UPDATE to `sending`,
    which the caller's job step commits before the message leaves."""
    now = utcnow()
    claimed = db.session.execute(
        update(model)
        .where(model.id == row_id, model.status == OutgoingMailStatus.PENDING, model.next_attempt_at <= now)
        .values(status=OutgoingMailStatus.SENDING, attempts=model.attempts + 1, **values)
    ).rowcount
    return claimed == 1


def _claim(row_id: int) -> bool:
    return claim(OutgoingMail, row_id, claimed_at=utcnow())


def _compose(row: OutgoingMail) -> bool:
    """Write a deferred row into its message, in one step with whatever its composer adds;
    False when there is nobody to write to (the row is then `dropped`)."""
    draft = composer_for(row.deferred)(row.to_address, json.loads(row.payload or "{}"))
    row.payload = None  # it may carry a password hash: gone once used
    row.deferred = None
    if draft is None:
        row.status = OutgoingMailStatus.DROPPED
        return False
    row.to_address, row.subject, row.body, row.language = draft.to, draft.subject, draft.body, draft.language
    return True


def _finish(row_id: int, **values) -> None:
    with job_step():
        db.session.execute(update(OutgoingMail).where(OutgoingMail.id == row_id).values(**values))


def deliver_one(row_id: int) -> str | None:
    """Claim, write if deferred, and send one row; return its new status, or None if
    another worker had it or it is not due. Each step is its own unit of work (job_step):
    the claim, the composing, the outcome."""
    with job_step():
        if not _claim(row_id):
            return None
    try:
        with job_step():  # rolled back, composer's writes included, if composing fails
            row = db.session.get(OutgoingMail, row_id)
            if row.deferred and not _compose(row):
                return OutgoingMailStatus.DROPPED
            message = _message(row)
        _deliver(message)
    except Exception as error:  # noqa: BLE001 (every failure is recorded on the row)
        with job_step():
            attempts = db.session.scalar(select(OutgoingMail.attempts).where(OutgoingMail.id == row_id))
        final = isinstance(error, (Uncertain, Refused)) or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
        status = OutgoingMailStatus.FAILED if final else OutgoingMailStatus.PENDING
        log.warning("e-mail %s to deliver later or by hand (%s): %s", row_id, status, error)
        _finish(
            row_id, status=status, last_error=f"{type(error).__name__}: {error}"[:2000],
            next_attempt_at=utcnow() + _backoff(attempts),
        )
        return status
    _finish(row_id, status=OutgoingMailStatus.SENT, sent_at=utcnow(), last_error=None)
    return OutgoingMailStatus.SENT


def due_ids(model, limit: int = 100) -> list[int]:
    """Ids of the `pending` rows of a durable queue due now, oldest first."""
    with job_step():
        due = db.session.scalars(
            select(model.id)
            .where(model.status == OutgoingMailStatus.PENDING, model.next_attempt_at <= utcnow())
            .order_by(model.id)
            .limit(limit)
        ).all()
    return list(due)


def deliver_due(limit: int = 100) -> int:
    """One pass over the rows due now (oldest first); the number of rows handled."""
    return sum(1 for row_id in due_ids(OutgoingMail, limit) if deliver_one(row_id) is not None)


def seconds_until_next() -> float | None:
    """How long until the next pending row is due (None: nothing pending)."""
    with job_step():
        due = db.session.scalar(
            select(func.min(OutgoingMail.next_attempt_at)).where(OutgoingMail.status == OutgoingMailStatus.PENDING)
        )
    return None if due is None else max((due - utcnow()).total_seconds(), 0.0)


def prune(days: int) -> int:
    """Delete sent and dropped rows older than `days` days; the number deleted."""
    cutoff = utcnow() - timedelta(days=days)
    with job_step():
        deleted = db.session.execute(
            delete(OutgoingMail).where(
                OutgoingMail.status.in_((OutgoingMailStatus.SENT, OutgoingMailStatus.DROPPED)),
                OutgoingMail.created_at < cutoff,
            )
        ).rowcount
    return deleted


def drain() -> float:
    """Deliver everything due now, prune old rows now and then; seconds to wait before the
    next pass."""
    while deliver_due():
        pass
    _prune_now_and_then()
    poll = current_app.config["MAIL_POLL_SECONDS"]
    wait = seconds_until_next()
    return poll if wait is None else min(max(wait, 0.05), poll)


_last_prune: dict[tuple[str, str], float] = {}


def hourly(name: str, job) -> None:
    """Run `job()` at most once an hour per `name` and database in this process (pruning)."""
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], name)
    if time.monotonic() - _last_prune.get(key, -1e9) > 3600:
        _last_prune[key] = time.monotonic()
        job()


def _prune_now_and_then() -> None:
    hourly("mail", lambda: prune(current_app.config["MAIL_KEEP_DAYS"]))


# --- the in-process thread ----------------------------------------------------------------


class DeliveryThread:
    """One background thread per app that drains the outbox when woken (or when a retry is
    due). `idle()` lets tests wait for it deterministically."""

    def __init__(self, app: Flask, drain_pass=None, name: str = "onemile-mail"):
        # Another durable queue (onemile.push) runs its own pass in a thread of this shape.
        self.app = app
        self.drain_pass = drain_pass or drain
        self.name = name
        self.wake_up = threading.Event()
        self.changed = threading.Condition()
        self.busy = False
        self.stopping = False
        self.thread: threading.Thread | None = None

    def wake(self) -> None:
        """Ask for a pass now (starting the thread on first use)."""
        with self.changed:
            if self.thread is None or not self.thread.is_alive():
                self.stopping = False
                self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.thread.start()
            self.wake_up.set()

    def _run(self) -> None:
        wait = 0.0
        while True:
            self.wake_up.wait(timeout=wait)
            with self.changed:
                if self.stopping:
                    self.busy = False
                    self.changed.notify_all()
                    return
                self.wake_up.clear()
                self.busy = True
            try:
                with self.app.app_context():
                    wait = self.drain_pass()
            except Exception:  # a database hiccup must not end the thread
                log.exception("%s: delivery pass failed", self.name)
                wait = self.app.config["MAIL_POLL_SECONDS"]
            finally:
                with self.changed:
                    self.busy = False
                    self.changed.notify_all()

    def idle(self, timeout: float = 30) -> bool:
        """Wait until no pass is running or asked for; False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: not self.busy and not self.wake_up.is_set(), timeout)

    def stop(self, timeout: float = 10) -> None:
        """End the thread after its current pass."""
        with self.changed:
            self.stopping = True
            self.wake_up.set()
        if self.thread is not None:
            self.thread.join(timeout)


_THREADS: dict[int, DeliveryThread] = {}
_threads_lock = threading.Lock()


def _thread_of(app: Flask) -> DeliveryThread:
    with _threads_lock:
        return _THREADS.setdefault(id(app), DeliveryThread(app))


def wait_until_delivered(timeout: float = 30) -> None:
    """Block until every delivery thread of this process is idle (tests read the outbox
    right after a request; the commit that queued the mail has woken the thread already)."""
    for delivery in list(_THREADS.values()):
        if not delivery.idle(timeout):
            raise TimeoutError("e-mail delivery did not finish")


def stop(app: Flask) -> None:
    """Stop the app's delivery thread, if it has one (tests, before dropping a database)."""
    delivery = _THREADS.pop(id(app), None)
    if delivery is not None:
        delivery.stop()


# --- the worker process -------------------------------------------------------------------


_REDIS_CLIENTS: dict[tuple[str, float], object] = {}


def _redis(app: Flask):
    """One client (and so one connection pool) per Redis URL and process."""
    # Longer than the worker's BLPOP waits (at most MAIL_POLL_SECONDS).
    key = (app.config["REDIS_URL"], app.config["MAIL_POLL_SECONDS"] + 5)
    if key not in _REDIS_CLIENTS:
        _REDIS_CLIENTS[key] = redis.Redis.from_url(key[0], socket_timeout=key[1], socket_connect_timeout=2)
    return _REDIS_CLIENTS[key]


def run_worker(app: Flask, once: bool = False, should_stop=lambda: False, drain_pass=None,
               wake_key: str | None = None) -> None:
    """`flask mail worker`: drain, then wait for a wake-up on the Redis list (or the poll
    interval without Redis, or when Redis does not answer), until should_stop(). Another
    queue (`flask push worker`) passes its own drain_pass and wake_key."""
    client = _redis(app) if app.config.get("REDIS_URL") else None
    key = wake_key or app.config["MAIL_WAKE_KEY"]
    drain_pass = drain_pass or drain
    while True:
        if client is not None:
            try:
                client.delete(key)  # the pass below serves every wake-up sent so far
            except redis.RedisError:
                log.warning("Redis unreachable: polling the outbox instead")
        with app.app_context():
            wait = drain_pass()
        if once or should_stop():
            return
        if client is not None:
            try:
                client.blpop([key], timeout=max(1, round(wait)))
                continue
            except redis.RedisError:
                log.warning("Redis unreachable: polling the outbox instead")
        time.sleep(wait)


# --- waking the worker after a commit -----------------------------------------------------


def _wake_after_commit(session) -> None:
    # A savepoint released (an @atomic service that notified) commits nothing yet: waking
    # the worker then would find no row, and the outermost commit would no longer wake it.
    if savepoint_released(session) or not session.info.pop(MAIL_ADDED, False):
        return
    app = current_app._get_current_object()
    if app.config["MAIL_DELIVERY"] == "thread":
        _thread_of(app).wake()
    else:
        wake_worker(app, app.config["MAIL_WAKE_KEY"])


def wake_worker(app: Flask, key: str) -> None:
    """Wake the worker process that waits on the Redis list `key` (no Redis: it polls)."""
    if not app.config.get("REDIS_URL"):
        return
    try:
        # One wake-up is enough however many commits came first; and like every key the
        # app writes it expires (docs/deploy.md's volatile-ttl), should no worker run.
        _redis(app).pipeline().rpush(key, 1).ltrim(key, 0, 0).expire(key, 3600).execute()
    except redis.RedisError:  # the worker polls: the job only waits a little longer
        log.warning("could not wake the worker waiting on %s through Redis", key)


def wake_with_first_request(app: Flask, thread_of: Callable[[Flask], DeliveryThread]) -> None:
    """Wake the app's delivery thread (`thread_of(app)`) once, with its first request."""
    started = []

    @app.before_request
    def start_delivery() -> None:
        if not started:
            started.append(True)
            thread_of(app).wake()


def init_app(app: Flask) -> None:
    """Listen for commits that queued mail (once per process; the session is global); in
    thread mode, start the thread with the first request, so that it also delivers what an
    earlier process or a command left pending, and the retries that fall due (not in tests:
    most test apps never send mail, and some have no tables)."""
    if app.config["MAIL_DELIVERY"] == "thread" and not app.testing:
        wake_with_first_request(app, _thread_of)

    if not event.contains(db.session, "after_commit", _wake_after_commit):
        # No rollback counterpart: a savepoint rolled back inside a transaction that then
        # commits other rows must still wake the worker; a needless wake costs one query.
        event.listen(db.session, "after_commit", _wake_after_commit)

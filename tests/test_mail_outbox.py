"""The durable e-mail outbox (faults, item 1): every e-mail is a row written in the
transaction that causes it, delivered after the commit by a worker with retries, each
message at most once, failures visible and retryable from `flask mail`.

A real SMTP server (aiosmtpd on 127.0.0.1, started and stopped by the test) receives the
mail; a dead port and a server that never answers play the broken ones.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from conftest import SIGNUP, Factory
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from test_live import REDIS_URL, redis_server  # noqa: F401 (a fixture: skips without Redis)

from onemile import unit_of_work
from onemile.extensions import db
from onemile.mail import send_mail
from onemile.mail.delivery import deliver_due, deliver_one, run_worker, wait_until_delivered
from onemile.models import Member, OutgoingMail, utcnow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """What the SMTP server received; it refuses recipients at refused.example (550)."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.arrived.set()
        return "250 Message accepted"


class SmtpServer:
    """An aiosmtpd server on a port chosen in advance (so it can come up after the app
    was configured to use it)."""

    def __init__(self, port: int):
        self.port = port
        self.sink = Sink()
        self.controller = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """A port for an SMTP server, not started yet: the test starts it when it wants."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def smtp_app(make_app, port: int, **config):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_TIMEOUT=2, **config)


def rows(app) -> list[OutgoingMail]:
    with app.app_context():
        found = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
        db.session.expunge_all()
        return found


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["mail", *args])
    assert result.exit_code == 0, result.output
    return result.output


# --- One path: written in the transaction, sent after it -------------------------------------


def test_a_mail_leaves_only_with_its_committed_transaction(app, outbox):
    with app.test_request_context():
        send_mail("kept@example.org", "Kept", "Sent after the commit.", "en")
        assert not outbox.exists(), "nothing leaves before the commit"
        db.session.commit()
        send_mail("lost@example.org", "Lost", "Its change was rolled back.", "en")
        db.session.rollback()
    [path] = outbox.glob("*.eml")  # (waits for the delivery thread)
    [row] = rows(app)
    assert (row.to_address, row.status, row.attempts) == ("kept@example.org", "sent", 1)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Message-ID"] == row.message_id and message["Content-Language"] == "en"
    assert message["Subject"] == "Kept"


def test_a_mail_queued_in_a_savepoint_leaves_at_the_outer_commit(app, outbox):
    """SQLAlchemy sends `after_commit` when a savepoint is released (an @atomic service that
    notifies): the worker must be woken by the real commit, not by the release, when there is
    nothing to find yet (the flake of test_notifications' confirmation e-mail)."""
    with app.test_request_context():
        with unit_of_work.savepoint():
            send_mail("later@example.org", "Later", "Queued inside a savepoint.", "en")
        wait_until_delivered()  # whatever the release woke has run, and found no committed row
        db.session.commit()
    assert len(list(outbox.glob("*.eml"))) == 1  # (waits for the delivery thread)
    [row] = rows(app)
    assert (row.to_address, row.status) == ("later@example.org", "sent")

def test_sign_up_and_reset_answer_normally_with_a_dead_mail_server_and_deliver_when_it_is_back(
    make_app, smtp
):
    app = smtp_app(make_app, smtp.port, MAIL_RETRY_SECONDS=3600)
    Factory(app).member(email="paul@example.org", language="en")
    client = app.test_client()

    # Nothing listens on the port: the pages answer as usual, the account is created.
    assert client.post("/auth/signup", data=SIGNUP).status_code == 303
    assert client.post("/auth/reset", data={"email": "paul@example.org"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member).where(Member.email == SIGNUP["email"])) == 1
    pending = rows(app)
    assert [(r.status, r.attempts) for r in pending] == [("pending", 1), ("pending", 1)]
    assert all("ConnectionRefusedError" in r.last_error for r in pending)
    status = run(app, "status")
    assert "pending: 2" in status and "ConnectionRefusedError" in status

    # The server comes back; the back-off time passes: the worker delivers both, once.
    smtp.start()
    with app.app_context():
        db.session.execute(update(OutgoingMail).values(next_attempt_at=utcnow()))
        db.session.commit()
    run(app, "worker", "--once")
    assert sorted(m["To"] for m in smtp.sink.messages) == ["anne.martin@example.org", "paul@example.org"]
    assert {r.status for r in rows(app)} == {"sent"}
    verify = next(m for m in smtp.sink.messages if m["To"] == SIGNUP["email"]).get_content()
    assert "http://localhost/auth/verify/" in verify
    run(app, "worker", "--once")
    assert len(smtp.sink.messages) == 2, "sent at most once"


def test_a_server_that_never_answers_does_not_hold_the_response(make_app):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does) but never says a word
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1], MAIL_USE_TLS=False,
                       MAIL_TIMEOUT=1, MAIL_RETRY_SECONDS=3600)
        member = Factory(app).member()
        plain = FlaskClient(app, app.response_class, use_cookies=True)  # does not wait for the mail
        assert plain.post("/auth/reset", data={"email": member.email}).status_code == 303
        # The response is there while the worker still waits on the server.
        [row] = rows(app)
        assert row.status in ("pending", "sending") and row.sent_at is None
        wait_until_delivered()
        [row] = rows(app)
        assert row.status == "pending" and "timed out" in row.last_error.lower()
    finally:
        silent.close()


def test_a_refused_message_fails_visibly_and_is_sent_again_on_request(make_app, smtp):
    app = smtp_app(make_app, smtp.port)
    smtp.start()
    with app.app_context():
        send_mail("nobody@refused.example", "Hello", "Body", "en")
        db.session.commit()
    wait_until_delivered()
    [row] = rows(app)
    assert row.status == "failed" and "550" in row.last_error
    assert f"#{row.id} failed to nobody@refused.example" in run(app, "status")
    assert smtp.sink.messages == []

    with app.app_context():  # the address is corrected by hand, then the e-mail retried
        db.session.execute(update(OutgoingMail).values(to_address="somebody@example.org"))
        db.session.commit()
    assert "1 e-mail(s) queued again" in run(app, "retry", str(row.id))
    wait_until_delivered()
    assert [m["To"] for m in smtp.sink.messages] == ["somebody@example.org"]
    assert [r.status for r in rows(app)] == ["sent"]


def test_two_workers_send_each_message_once(make_app, smtp):
    app = smtp_app(make_app, smtp.port, MAIL_DELIVERY="worker")  # no thread: the two below do it
    smtp.start()
    with app.app_context():
        for n in range(12):
            send_mail(f"member{n}@example.org", f"Message {n}", "Body", "en")
        db.session.commit()
    start = threading.Barrier(2)

    def worker():
        start.wait()
        with app.app_context():
            while deliver_due(limit=3):
                pass

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    received = sorted(m["Message-ID"] for m in smtp.sink.messages)
    assert received == sorted(r.message_id for r in rows(app)) and len(set(received)) == 12
    assert {r.status for r in rows(app)} == {"sent"}
    with app.app_context():  # a claimed row cannot be claimed again
        assert deliver_one(rows(app)[0].id) is None


def test_old_sent_mail_is_pruned_and_the_rest_kept(app):
    with app.app_context():
        for to in ("old@example.org", "new@example.org", "failed@example.org"):
            send_mail(to, "s", "b")
        db.session.commit()
    wait_until_delivered()
    with app.app_context():
        long_ago = utcnow() - timedelta(days=40)
        db.session.execute(update(OutgoingMail).where(OutgoingMail.to_address != "new@example.org")
                           .values(created_at=long_ago))
        db.session.execute(update(OutgoingMail).where(OutgoingMail.to_address == "failed@example.org")
                           .values(status="failed"))
        db.session.commit()
    assert "1 old e-mail(s) deleted" in run(app, "prune")
    assert sorted(r.to_address for r in rows(app)) == ["failed@example.org", "new@example.org"]


def test_the_worker_process_is_woken_through_redis(make_app, redis_server, smtp):  # noqa: F811
    app = smtp_app(make_app, smtp.port, MAIL_DELIVERY="worker", REDIS_URL=REDIS_URL,
                   MAIL_WAKE_KEY=f"onemile-test-{free_port()}:mail:wake", MAIL_POLL_SECONDS=30)
    smtp.start()
    key = app.config["MAIL_WAKE_KEY"]
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(app,), kwargs={"should_stop": stop.is_set})
    worker.start()
    try:
        paul = Factory(app).member(email="paul@example.org")
        client = app.test_client()
        assert client.post("/auth/reset", data={"email": "ghost@example.org"}).status_code == 303
        assert client.post("/auth/reset", data={"email": paul.email}).status_code == 303
        # It polls every 30 s: only the wake-up through Redis brings the e-mail this soon.
        assert smtp.sink.arrived.wait(10)
    finally:
        stop.set()
        redis_server.rpush(key, 1)
        worker.join(10)
        redis_server.delete(key)
    assert [m["To"] for m in smtp.sink.messages] == ["paul@example.org"]
    assert {r.status for r in rows(app)} == {"dropped", "sent"}


def test_mail_left_pending_by_another_process_leaves_with_the_first_request(make_app, outbox):
    # A row committed without waking anyone (another process, a command, a crash before
    # delivery): the delivery thread starts with the first request and sends it. (Not in
    # test apps, where most never send mail: this one runs as in production.)
    app = make_app(TESTING=False)
    with app.app_context():
        db.session.add(OutgoingMail(message_id="<left.1@localhost>", to_address="left@example.org",
                                    subject="Left behind", body="Still sent."))
        db.session.commit()
    assert app.test_client().get("/").status_code == 200
    [path] = outbox.glob("*.eml")
    assert message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"] == "Left behind"

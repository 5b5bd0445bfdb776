"""Web Push (issue 14, item 2): a local HTTP server on 127.0.0.1 plays the browser's push
service. It receives the real encrypted request; the test decrypts it with the keys a
browser would have made (a P-256 key pair and an auth secret, RFC 8291) and checks the
VAPID JWT (RFC 8292). 404/410 forget the device."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import http_ece
import pytest
from conftest import Factory
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from helpers import count, logged_in
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Member, PushDelivery, PushSubscription
from onemile.push import delivery as push_delivery
from onemile.push import vapid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Device:
    """What a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.fields = {"endpoint": endpoint, "p256dh": b64(public), "auth": b64(self.auth)}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth,
                                           version="aes128gcm"))


class PushService:
    """A push service on loopback: records each request (with when it arrived) and answers
    `status` (201, as the real ones do, unless told otherwise)."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 201
        self.arrived = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                service.received.append({"path": self.path, "headers": headers, "body": body,
                                         "at": time.perf_counter()})
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                service.arrived.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int = 1, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()
        assert len(self.received) >= n, f"the push service received {len(self.received)} of {n} pushes"
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def push_app(make_app, push_service):
    app = make_app(PUSH_SERVICE_HOSTS=["127.0.0.1"], PUSH_ALLOW_HTTP=True, VAPID_SUBJECT="mailto:ops@1mile.example")
    yield app
    push_delivery.stop(app)


def _subscribed(app, member, endpoint, device: Device | None = None):
    """`member` turns notifications on for a device (a new one, unless given); no quiet hours
    (the default 22:00–08:00 would hold the pushes of a test run at night), unless a test
    sets them."""
    with app.app_context():
        record = db.session.get(Member, member.id)
        record.quiet_start = record.quiet_end = 0
        db.session.commit()
    device = device or Device(endpoint)
    client = logged_in(app, member)
    assert client.post("/push/subscriptions", data=device.fields).status_code == 204
    return device, client


def _verify_vapid(authorization: str, public_key: str) -> dict:
    """The claims of a `vapid t=<JWT>, k=<key>` header, once its ES256 signature is checked."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(unb64(claims))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_answer_is_pushed_encrypted_and_signed_to_the_authors_device(push_app, push_service, language):
    app = push_app
    factory = Factory(app)
    author = factory.member(language=language, first_name="Anne")
    responder = factory.member(first_name="Bruno", last_name="Petit")
    listing_id = factory.listing(author, title="Une échelle à prêter")
    device, _client = _subscribed(app, author, f"{push_service.url}/push/device-1")

    started = time.perf_counter()
    conversation_id = factory.conversation(responder, listing_id, body="Secret: my door code is 1234")
    committed = time.perf_counter()
    request = push_service.wait()[0]
    print(f"\npush round-trip ({language}): {1000 * (request['at'] - started):.1f} ms from the answer "
          f"(service call and commit: {1000 * (committed - started):.1f} ms) to the encrypted request "
          "at the push service")

    assert request["path"] == "/push/device-1"
    headers = request["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    message = device.decrypt(request["body"])
    expected_title = {"en": "New answer", "fr": "Nouvelle réponse"}[language]
    assert message["title"] == expected_title
    assert "Bruno P." in message["body"] and "Une échelle à prêter" in message["body"]
    assert message["url"] == f"/conversations/{conversation_id}"
    assert message["lang"] == language and message["tag"].startswith("n")
    assert message["icon"].startswith("/static/icons/icon-192.png")
    # Nothing private beyond what the notification shows: not the message itself.
    assert "1234" not in json.dumps(message)
    assert set(message) == {"title", "body", "url", "tag", "icon", "lang"}

    with app.app_context():
        public_key = vapid.public_key()
    claims = _verify_vapid(headers["authorization"], public_key)
    assert claims["aud"] == push_service.url
    assert claims["sub"] == "mailto:ops@1mile.example"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    push_delivery.wait_until_pushed(app)
    assert count(app, PushDelivery, PushDelivery.status == "sent") == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_device_the_push_service_no_longer_knows_is_forgotten(push_app, push_service, status):
    app = push_app
    factory = Factory(app)
    author, responder = factory.member(), factory.member()
    _subscribed(app, author, f"{push_service.url}/push/gone")
    push_service.status = status
    factory.conversation(responder, factory.listing(author))
    push_service.wait()
    push_delivery.wait_until_pushed(app)
    assert count(app, PushSubscription) == 0
    assert count(app, PushDelivery) == 0
    # The next notification pushes nothing.
    factory.conversation(factory.member(), factory.listing(author))
    push_delivery.wait_until_pushed(app)
    assert len(push_service.received) == 1


def test_a_push_service_failure_is_retried_later(push_app, push_service):
    app = push_app
    factory = Factory(app)
    author = factory.member()
    _subscribed(app, author, f"{push_service.url}/push/busy")
    push_service.status = 503
    factory.conversation(factory.member(), factory.listing(author))
    push_service.wait()
    push_delivery.wait_until_pushed(app)
    with app.app_context():
        row = db.session.scalar(select(PushDelivery))
        assert (row.status, row.attempts) == ("pending", 1)
        assert "503" in row.last_error
    assert count(app, PushSubscription) == 1


def test_every_device_gets_the_push_and_each_device_is_one_subscription(push_app, push_service):
    app = push_app
    factory = Factory(app)
    author, other = factory.member(), factory.member()
    _subscribed(app, author, f"{push_service.url}/push/phone")
    _subscribed(app, author, f"{push_service.url}/push/laptop")
    # The same device subscribing again, even for another member, stays one row (now theirs).
    shared, _ = _subscribed(app, other, f"{push_service.url}/push/shared")
    _subscribed(app, author, f"{push_service.url}/push/shared", shared)
    assert count(app, PushSubscription) == 3
    assert count(app, PushSubscription, PushSubscription.member_id == author.id) == 3
    factory.conversation(factory.member(), factory.listing(author))
    received = push_service.wait(3)
    assert sorted(r["path"] for r in received) == ["/push/laptop", "/push/phone", "/push/shared"]


def test_no_device_no_push_and_a_rolled_back_notification_pushes_nothing(push_app, push_service):
    app = push_app
    factory = Factory(app)
    author = factory.member()
    factory.conversation(factory.member(), factory.listing(author))
    assert count(app, PushDelivery) == 0
    _subscribed(app, author, f"{push_service.url}/push/device")
    from onemile.conversations import services as conversations
    from onemile.models import Member

    listing_id = factory.listing(author)
    with app.test_request_context():
        conversations.answer(db.session.get(Member, factory.member().id), listing_id, "Hello")
        db.session.rollback()
    assert count(app, PushDelivery) == 0
    push_delivery.wait_until_pushed(app)
    assert push_service.received == []


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "http://10.0.0.1/internal"},  # not a push service: the server would post there
        {"endpoint": "https://evil.example/push"},
        {"p256dh": b64(b"\x04" + b"x" * 10)},
        {"auth": "not base64 !!"},
        {"auth": b64(b"short")},
        {"endpoint": ""},
    ],
)
def test_a_subscription_that_is_not_a_browsers_is_refused(push_app, push_service, change):
    member = Factory(push_app).member()
    fields = {**Device(f"{push_service.url}/push/x").fields, **change}
    client = logged_in(push_app, member)
    assert client.post("/push/subscriptions", data=fields).status_code == 422
    assert count(push_app, PushSubscription) == 0


def test_knowing_a_devices_endpoint_does_not_take_its_notifications(push_app, push_service):
    """Another member who learnt the endpoint of Anne's device (it is a URL: a log, a shared
    screen) cannot subscribe it with keys of their own and have Anne's notifications
    encrypted for them, nor stop them reaching her."""
    app = push_app
    factory = Factory(app)
    anne, mallory = factory.member(), factory.member()
    endpoint = f"{push_service.url}/push/anne"
    device, _ = _subscribed(app, anne, endpoint)
    forged = Device(endpoint)
    refused = logged_in(app, mallory).post("/push/subscriptions", data=forged.fields)
    assert refused.status_code == 422
    with app.app_context():
        [row] = db.session.scalars(select(PushSubscription)).all()
        assert (row.member_id, row.auth) == (anne.id, device.fields["auth"])
    factory.conversation(factory.member(), factory.listing(anne))
    [pushed] = push_service.wait(1)
    assert device.decrypt(pushed["body"])  # still Anne's keys


def test_turning_off_removes_only_my_device(push_app, push_service):
    app = push_app
    factory = Factory(app)
    anne, bruno = factory.member(), factory.member()
    _, anne_client = _subscribed(app, anne, f"{push_service.url}/push/anne")
    _, bruno_client = _subscribed(app, bruno, f"{push_service.url}/push/bruno")
    # Bruno cannot turn Anne's device off.
    assert bruno_client.post("/push/subscriptions/delete", data={"endpoint": f"{push_service.url}/push/anne"}).status_code == 204
    assert count(app, PushSubscription) == 2
    assert anne_client.post("/push/subscriptions/delete", data={"endpoint": f"{push_service.url}/push/anne"}).status_code == 204
    assert count(app, PushSubscription, PushSubscription.member_id == anne.id) == 0


def test_visitors_cannot_subscribe(push_app, push_service):
    response = push_app.test_client().post("/push/subscriptions", data=Device(f"{push_service.url}/p").fields)
    assert response.status_code in (302, 401)
    assert count(push_app, PushSubscription) == 0


def test_the_offer_is_made_after_posting_and_on_the_account_page_never_on_first_load(push_app):
    factory = Factory(push_app)
    member = factory.member(language="en")
    client = logged_in(push_app, member, language="en")
    assert "data-push=" not in client.get("/").get_data(as_text=True)
    assert "data-push=" not in client.get("/map/").get_data(as_text=True)
    listing = client.get(f"/listings/{factory.listing(member)}").get_data(as_text=True)
    assert 'data-push="offer"' in listing and "Not now" in listing
    account = client.get("/account/").get_data(as_text=True)
    assert 'data-push="settings"' in account
    with push_app.app_context():
        assert f'data-push-key="{vapid.public_key()}"' in account


def test_the_vapid_key_is_made_once_and_kept(tmp_path):
    from onemile.push.vapid import _load_or_create

    first = _load_or_create(tmp_path)
    assert _load_or_create(tmp_path) == first
    assert (tmp_path / "vapid_private_key.pem").stat().st_mode & 0o777 == 0o600


def test_a_notification_in_quiet_hours_is_pushed_when_they_end(push_app, push_service):
    app = push_app
    factory = Factory(app)
    author = factory.member()
    _subscribed(app, author, f"{push_service.url}/push/night")
    with app.app_context():
        member = db.session.get(Member, author.id)
        member.timezone = "Asia/Tokyo"
        hour = datetime.now(ZoneInfo("Asia/Tokyo")).hour
        member.quiet_start, member.quiet_end = hour, (hour + 2) % 24  # quiet now, in Tokyo
        db.session.commit()
    factory.conversation(factory.member(), factory.listing(author))
    push_delivery.wait_until_pushed(app)
    assert push_service.received == []
    with app.app_context():
        row = db.session.scalar(select(PushDelivery))
        assert row.status == "pending"
        held = (row.next_attempt_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
        assert 3600 < held <= 2 * 3600  # the end of the hour after next, Tokyo time


def test_a_subscription_the_browser_replaced_is_renewed_with_the_old_secret(make_app, push_service):
    # The browser may replace a subscription with no page open (the service worker's
    # `pushsubscriptionchange`): the worker posts the old endpoint and auth secret with the new
    # subscription, with no CSRF token and maybe no session. The old secret is the proof.
    app = make_app(PUSH_SERVICE_HOSTS=["127.0.0.1"], PUSH_ALLOW_HTTP=True, VAPID_SUBJECT="mailto:ops@1mile.example",
                   WTF_CSRF_ENABLED=True)
    try:
        factory = Factory(app)
        author = factory.member()
        old, new = Device(f"{push_service.url}/push/old"), Device(f"{push_service.url}/push/new")
        with app.app_context():
            from onemile.push import services

            record = db.session.get(Member, author.id)
            record.quiet_start = record.quiet_end = 0
            services.subscribe(record, **old.fields)
            db.session.commit()
        worker = app.test_client()
        renewal = {"old_endpoint": old.endpoint, "old_auth": old.fields["auth"], **new.fields}
        refused = [
            {"old_auth": Device("x").fields["auth"]},  # knows the endpoint, not the secret
            {"old_endpoint": f"{push_service.url}/push/unknown"},
            {"endpoint": "https://evil.example/push"},  # the new one must be a push service's
            {"p256dh": b64(b"\x04" + b"x" * 10)},
            {"old_auth": ""},
        ]
        for change in refused:
            assert worker.post("/push/subscriptions/renew", data={**renewal, **change}).status_code == 422, change
        with app.app_context():
            assert db.session.execute(select(PushSubscription.endpoint, PushSubscription.member_id)).all() == [
                (old.endpoint, author.id)
            ]
        assert worker.post("/push/subscriptions/renew", data=renewal).status_code == 204
        with app.app_context():
            assert db.session.execute(select(PushSubscription.endpoint, PushSubscription.member_id)).all() == [
                (new.endpoint, author.id)
            ]
        # The old secret no longer proves anything.
        assert worker.post("/push/subscriptions/renew", data=renewal).status_code == 422
        factory.conversation(factory.member(), factory.listing(author))
        (received,) = push_service.wait(1)
        assert received["path"] == "/push/new" and new.decrypt(received["body"])["url"]
    finally:
        push_delivery.stop(app)

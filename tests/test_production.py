"""The production path (docs/deploy.md), run for real: two gunicorn servers, like two
machines, on one PostGIS database and one Redis, reached over HTTP on loopback.

(a) A message sent through server 1 reaches a member polling on server 2, whose idle polls are
    204 answered from Redis; an outsider still gets 404 there.
(b) A rate limit hit through both servers holds on both (the counter lives in Redis).
(c) Static files leave compressed with cache headers; pages are compressed but never stored.
(d) With Redis down, the site still answers and rate limits still hold, per worker.
And, in process: behind a reverse proxy, TRUSTED_PROXIES makes the app take
the client's address and scheme from X-Forwarded-*, and without them a forged header is ignored.
"""

from __future__ import annotations

import gzip
import re
import uuid
from contextlib import ExitStack
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import pytest
from conftest import Factory
from helpers import csrf_token_in
from test_conversations import POLLER_AFTER
from test_live import REDIS_URL, redis_server  # noqa: F401 (a fixture: skips without Redis)

from bench.loadtest import Gunicorn, gunicorn_path

# These tests are about the per-address login limit and where its counter lives: the
# per-account limits (onemile/auth/throttle.py, tested in test_login_throttle.py) are set
# out of the way so the address limit is the one a run of guesses meets.
ADDRESS_LIMIT_ONLY = {"LOGIN_ACCOUNT_LIMIT": "1000 per minute", "LOGIN_PAIR_LIMIT": "1000 per minute"}
CONVERSATION_URL = re.compile(r"/conversations/(\d+)")
HX = {"HX-Request": "true"}
STATIC = Path(__file__).resolve().parent.parent / "onemile" / "static"


@pytest.fixture
def backend() -> str:
    """Production runs on PostGIS only (replaces conftest's two-backend parameter)."""
    return "postgis"


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()


class _Stay(HTTPRedirectHandler):
    """Redirects are answers to look at, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One member's browser: one cookie jar for both servers (cookies ignore the port), as
    behind a load balancer that sends each request to either machine."""

    def __init__(self):
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _Stay)
        self.token = ""

    def request(self, method: str, url: str, data: dict | None = None, headers: dict | None = None) -> Response:
        body = urlencode({**data, "csrf_token": self.token}).encode() if data is not None else None
        request = Request(url, data=body, method=method, headers={"Accept-Language": "en", **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return Response(response.status, response.headers, response.read())
        except HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            with error:
                return Response(error.code, error.headers, error.read())

    def get(self, url: str, **headers) -> Response:
        return self.request("GET", url, headers=headers)

    def post(self, url: str, data: dict, **headers) -> Response:
        return self.request("POST", url, data, headers)

    def fetch_token(self, server: str, path: str = "/auth/login") -> None:
        self.token = csrf_token_in(self.get(f"{server}{path}").text)

    def log_in(self, server: str, member) -> None:
        self.fetch_token(server)
        response = self.post(f"{server}/auth/login", {"email": member.email, "password": member.password})
        assert response.status == 303, response.text
        self.fetch_token(server, "/notifications/")  # the token of the logged-in session


@pytest.fixture
def production(app, redis_server, tmp_path):  # noqa: F811 (the fixture imported above)
    """Two gunicorn servers (one worker each) on the app's PostGIS database and the real Redis,
    with rate limits on, under a key prefix of this test's own."""
    if gunicorn_path() is None:
        pytest.skip("gunicorn is not installed")
    prefix = f"onemile-test-{uuid.uuid4().hex}"
    env = {
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "RATELIMIT_ENABLED": "true",
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
        **ADDRESS_LIMIT_ONLY,
    }
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with ExitStack() as stack:
        servers = [stack.enter_context(Gunicorn(uri, workers=1, env=env)) for _ in range(2)]
        yield [server.url for server in servers], prefix
    keys = list(redis_server.scan_iter(f"{prefix}*"))
    if keys:
        redis_server.delete(*keys)


def test_a_message_sent_through_one_server_reaches_a_member_polling_the_other(app, production, redis_server):  # noqa: F811
    (one, two), prefix = production
    factory = Factory(app)
    anne, bruno, chloe = (factory.member(first_name=name, language="en") for name in ("Anne", "Bruno", "Chloé"))
    listing_id = factory.listing(anne, kind="request", offer_type=None, category="repairs", title="Carry a sofa")
    browsers = {}
    for member, server in ((anne, two), (bruno, one), (chloe, two)):
        browsers[member.id] = Browser()
        browsers[member.id].log_in(server, member)
    anne_browser, bruno_browser, chloe_browser = (browsers[m.id] for m in (anne, bruno, chloe))

    answered = bruno_browser.post(f"{one}/conversations/answer/{listing_id}", {"body": "I have a van."})
    assert answered.status == 303
    cid = int(CONVERSATION_URL.search(answered.headers["Location"]).group(1))
    page = anne_browser.get(f"{two}/conversations/{cid}").text
    assert "I have a van." in page
    after = int(POLLER_AFTER.findall(page)[0])

    def poll(browser: Browser, server: str, since: int) -> Response:
        return browser.get(f"{server}/conversations/{cid}/poll?after={since}", **HX)

    for _ in range(3):
        idle = poll(anne_browser, two, after)
        assert idle.status == 204 and idle.body == b""
    # Server 1 left the newest id in Redis for both members, and for nobody else.
    mark = f"{prefix}:live:conv:{cid}:member:{{}}"
    assert int(redis_server.get(mark.format(anne.id))) == after
    assert redis_server.get(mark.format(chloe.id)) is None

    sent = bruno_browser.post(f"{one}/conversations/{cid}/messages", {"body": "Saturday at ten?"})
    assert sent.status == 303
    newest = int(redis_server.get(mark.format(anne.id)))
    assert newest > after
    bell = anne_browser.get(f"{two}/notifications/bell?seen=0", **HX)
    assert bell.status == 200 and re.search(r">\s*1\s*<", bell.text)
    fresh = poll(anne_browser, two, after)
    assert fresh.status == 200 and "Saturday at ten?" in fresh.text
    assert POLLER_AFTER.findall(fresh.text) == [str(newest)]
    assert poll(anne_browser, two, newest).status == 204
    # Reading the message on server 2 read its notification: the bell knows on server 1 too.
    assert anne_browser.get(f"{one}/notifications/bell?seen=0", **HX).status == 204

    # And back: Anne answers on server 2, Bruno polls server 1.
    assert anne_browser.post(f"{two}/conversations/{cid}/messages", {"body": "Yes, ten."}).status == 303
    assert "Yes, ten." in poll(bruno_browser, one, newest).text

    # An outsider polling server 2 gets what she got before Redis: nothing exists.
    for since in (0, newest):
        assert poll(chloe_browser, two, since).status == 404
    assert redis_server.get(mark.format(chloe.id)) is None


def test_a_rate_limit_hit_through_one_server_holds_on_the_other(app, production):
    (one, two), _ = production
    member = Factory(app).member()
    guesser = Browser()
    guesser.fetch_token(one)

    def guess(server: str, n: int) -> int:
        return guesser.post(f"{server}/auth/login", {"email": member.email, "password": f"guess {n}"}).status

    # Login allows 10 attempts a minute (onemile/auth/routes.py): 5 through each server.
    assert [guess(one if n % 2 else two, n) for n in range(10)] == [422] * 10
    for server in (one, two):
        limited = guesser.post(f"{server}/auth/login", {"email": member.email, "password": member.password})
        assert limited.status == 429, server
        assert "Too many attempts" in limited.text and limited.headers["Retry-After"]


def test_static_files_leave_compressed_with_cache_headers_and_pages_are_never_stored(production):
    (one, _), _ = production
    browser = Browser()
    script = browser.get(f"{one}/static/vendor/htmx/htmx.min.js", **{"Accept-Encoding": "gzip"})
    original = (STATIC / "vendor" / "htmx" / "htmx.min.js").read_bytes()
    assert script.status == 200
    assert script.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(script.body) == original
    assert len(script.body) < len(original) / 2
    assert "Accept-Encoding" in script.headers["Vary"]
    cache = script.headers["Cache-Control"]
    assert "public" in cache and "max-age=86400" in cache
    # Past the day, revalidating an unchanged file costs a 304, not the file.
    again = browser.get(
        f"{one}/static/vendor/htmx/htmx.min.js",
        **{"Accept-Encoding": "gzip", "If-None-Match": script.headers["ETag"]},
    )
    assert again.status == 304 and again.body == b""
    # Browsers that prefer brotli or zstd get it.
    assert browser.get(f"{one}/static/css/app.css", **{"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"
    # Pages are compressed too, and still never stored by a shared cache.
    page = browser.get(f"{one}/auth/login", **{"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and b"<html" in gzip.decompress(page.body)
    assert page.headers["Cache-Control"] == "no-store"


def _failed_logins(client, member, forwarded_for: str, n: int) -> list[int]:
    return [
        client.post(
            "/auth/login",
            data={"email": member.email, "password": f"guess {i}"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code
        for i in range(n)
    ]


def test_behind_a_trusted_proxy_each_client_has_its_own_limits_and_https_is_seen(make_app):
    app = make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1, **ADDRESS_LIMIT_ONLY)
    member = Factory(app).member()
    client = app.test_client()
    assert _failed_logins(client, member, "203.0.113.7", 11)[-1] == 429
    # Another client behind the same proxy is not punished for the first one's guesses.
    assert _failed_logins(client, member, "198.51.100.20", 1) == [422]
    secure = client.get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age" in secure.headers["Strict-Transport-Security"]


def test_without_proxy_settings_forwarded_headers_are_not_trusted(make_app):
    app = make_app(RATELIMIT_ENABLED=True, **ADDRESS_LIMIT_ONLY)
    member = Factory(app).member()
    client = app.test_client()
    assert _failed_logins(client, member, "203.0.113.7", 11)[-1] == 429
    # A forged X-Forwarded-For does not buy a fresh counter.
    assert _failed_logins(client, member, "198.51.100.20", 1) == [429]
    plain = client.get("/auth/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers


def test_with_redis_down_the_site_still_works_and_limits_still_hold(app, tmp_path):
    """Nothing listens on port 1: the limiter counts in each worker's memory instead
    (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and the pollers ask the database."""
    if gunicorn_path() is None:
        pytest.skip("gunicorn is not installed")
    member = Factory(app).member()
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_ENABLED": "true",
           "MAIL_OUTBOX": str(tmp_path / "outbox"), "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
           **ADDRESS_LIMIT_ONLY}
    with Gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], workers=1, env=env) as server:
        browser = Browser()
        browser.fetch_token(server.url)
        statuses = [
            browser.post(f"{server.url}/auth/login", {"email": member.email, "password": f"guess {n}"}).status
            for n in range(11)
        ]
        assert statuses == [422] * 10 + [429]
        assert browser.get(f"{server.url}/notifications/bell?seen=0", **HX).status == 286  # a visitor

"""Fixtures: an app on a fresh, migrated database for each backend, clients, factories.

Every database test runs twice, on SpatiaLite (`spatialite`) and on PostGIS (`postgis`).
Each test gets its own database copied from a template migrated once per session: a file
copy for SpatiaLite, `CREATE DATABASE … TEMPLATE …` for PostgreSQL. Real commits happen,
so live-server browser tests and concurrency tests see what they would in production.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# E-mailed links are built from it (a loopback name: 127.0.0.1 is served too, live servers).
os.environ.setdefault("PUBLIC_URL", "http://localhost")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

from flask.testing import FlaskClient

from onemile import create_app
from onemile.extensions import db
from onemile.mail.delivery import stop as stop_mail_delivery
from onemile.mail.delivery import wait_until_delivered

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["spatialite", "postgis"]
PASSWORD = "correct horse battery staple"
_counter = itertools.count()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL)


def _pg_connect(url: str):
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _migrate(uri: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "MAIL_OUTBOX": str(instance / "outbox")})
    with app.app_context():
        upgrade()
        for engine in db.engines.values():
            engine.dispose()


class SpatiaLiteTemplate:
    """A migrated SQLite + SpatiaLite file, copied for each test."""

    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite"
        _migrate(f"sqlite:///{self.template}", root)

    def new_database(self) -> str:
        path = self.root / f"test-{next(_counter)}.sqlite"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, uri: str) -> None:
        Path(make_url(uri).database).unlink(missing_ok=True)


class PostGISTemplate:
    """A migrated PostGIS database, cloned with CREATE DATABASE … TEMPLATE for each test."""

    def __init__(self, root: Path):
        self.admin_url = _pg_admin_url()
        self.prefix = f"onemile_test_{_worker()}_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        with _pg_connect(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        _migrate(_with_database(self.admin_url, self.template), root)

    def new_database(self) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        with _pg_connect(self.admin_url) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return _with_database(self.admin_url, name)

    def drop(self, uri: str) -> None:
        name = make_url(uri).database
        with _pg_connect(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        with _pg_connect(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


def _postgis_unavailable_reason() -> str | None:
    try:
        with _pg_connect(_pg_admin_url()) as conn:
            available = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL unreachable at {_pg_admin_url()}: {exc}"
    if not available:
        return "the PostGIS extension is not installed on the PostgreSQL server"
    return None


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    """Migrated template databases, created on first use, per backend."""
    made: dict[str, object] = {}

    def get(backend: str):
        if backend not in made:
            root = tmp_path_factory.mktemp(backend)
            if backend == "postgis":
                reason = _postgis_unavailable_reason()
                if reason:
                    if os.environ.get("CI", "").lower() == "true":
                        pytest.fail(f"PostGIS is required under CI=true: {reason}")
                    pytest.skip(reason)
                made[backend] = PostGISTemplate(root)
            else:
                made[backend] = SpatiaLiteTemplate(root)
        return made[backend]

    yield get
    for template in made.values():
        if isinstance(template, PostGISTemplate):
            template.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The database backend of this test run: 'spatialite' or 'postgis'."""
    return request.param


def build_test_app(uri: str, tmp_path: Path, **config):
    """An app for tests on the database at `uri`: CSRF and rate limits off (tests that need
    them turn them on), e-mails and uploads under tmp_path; extra config allowed."""
    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "SERVER_NAME": "localhost",
        # The real KDF at a lower cost: hashing dominates sign-up, and tests sign up a lot.
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
    }
    settings.update(config)
    app = create_app(settings)
    app.test_client_class = MailWaitingClient
    return app


@pytest.fixture
def make_app(templates, backend, tmp_path):
    """Build an app on a fresh database of the current backend; extra config allowed."""
    created = []

    def factory(**config):
        template = templates(backend)
        uri = template.new_database()
        app = build_test_app(uri, tmp_path, **config)
        created.append((app, template, uri))
        return app

    yield factory
    for app, template, uri in created:
        stop_mail_delivery(app)
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        template.drop(uri)


@pytest.fixture
def app(make_app):
    """The app on a fresh database (CSRF and rate limits off; tests that need them turn
    them on through make_app)."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An active request context, for calling services and reading the database.

    Not for tests that also use `client`: client requests would reuse this context, so
    they would share `g` (the logged-in member) and the database session.
    """
    with app.test_request_context():
        yield


class MailWaitingClient(FlaskClient):
    """A test client whose requests return once the e-mails they queued are delivered (they
    leave after the response, from the app's delivery thread): a test reads the outbox, or
    the account a sign-up creates, right after."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        wait_until_delivered()
        return response


class Outbox(type(Path())):
    """The outbox folder; listing it first waits for the e-mails on their way."""

    def glob(self, pattern):
        wait_until_delivered()
        return super().glob(pattern)

    def exists(self):
        wait_until_delivered()
        return super().exists()


@pytest.fixture
def outbox(app) -> Path:
    """The folder where e-mails land when no SMTP server is configured."""
    return Outbox(app.config["MAIL_OUTBOX"])


@dataclass
class MemberRef:
    """What a test needs to know about a member it created."""

    id: int
    email: str
    password: str
    mile_id: int


class Factory:
    """Creates members, listings and the other aggregates through the real services."""

    def __init__(self, app):
        self.app = app
        self._emails = itertools.count(1)

    def member(self, postal_code: str = "68100", country: str = "FR", kind: str = "person",
               email: str | None = None, first_name: str = "Camille", verified: bool = True,
               **extra) -> MemberRef:
        """A member signed up through the real service; verified (as if they had opened the
        e-mailed link) unless `verified=False`."""
        from onemile.auth.services import SignupData, mark_verified, register

        email = email or f"member{next(self._emails)}@example.org"
        with self.app.test_request_context():
            member = register(
                SignupData(
                    email=email,
                    password=PASSWORD,
                    first_name=first_name,
                    last_name=extra.pop("last_name", "Dupont"),
                    postal_code=postal_code,
                    country=country,
                    kind=kind,
                    organisation_name=extra.pop("organisation_name", None),
                    language=extra.pop("language", "fr"),
                    picked_point=extra.pop("picked_point", None),
                    referral_code=extra.pop("referral_code", None),
                )
            )
            if verified:
                mark_verified(member)
            db.session.commit()
            return MemberRef(member.id, member.email, PASSWORD, member.miles[0].id)

    def listing(self, author: MemberRef, kind: str = "offer", offer_type: str | None = "give",
                category: str = "goods", title: str = "Donne un vélo", body: str = "En bon état.",
                mile_ids: tuple[int, ...] | None = None, location_mode: str = "approximate",
                meeting_point=None) -> int:
        from onemile.listings.services import ListingData, create_listing
        from onemile.models import Member

        with self.app.test_request_context():
            member = db.session.get(Member, author.id)
            listing = create_listing(
                member,
                ListingData(kind, offer_type if kind == "offer" else None, category, title, body,
                            mile_ids or (author.mile_id,), location_mode, meeting_point),
            )
            db.session.commit()
            return listing.id

    # --- The other aggregates, each through its real service, committed as a request would ---

    def act(self, action, *refs: MemberRef):
        """Run a service as the given members (loaded in a fresh request context), commit,
        and return the id of what it made (or what it returned, if it has no id)."""
        from onemile.models import Member

        with self.app.test_request_context():
            result = action(*(db.session.get(Member, ref.id) for ref in refs))
            db.session.commit()
            return getattr(result, "id", result)

    def moderator(self, member: MemberRef | None = None, **fields) -> MemberRef:
        """`member` made a moderator, or a new member (same fields as `member()`) who is one.
        The one way the tests promote: the same change as `flask moderators grant`."""
        from onemile.models import Member

        member = member or self.member(**{"first_name": "Modo", "language": "en", **fields})
        with self.app.app_context():
            db.session.get(Member, member.id).is_moderator = True
            db.session.commit()
        return member

    def project(self, owner: MemberRef, title: str = "Jardin partagé du Rebberg",
                summary: str = "Un potager pour le quartier", description: str = "Des bacs et des graines.",
                point=None, money_target: str | None = "500",
                tasks: tuple[tuple[str, str], ...] = (("Build the boxes", "Carpentry"),),
                approved_by: MemberRef | None = None) -> int:
        """A project proposed by `owner` (pending), approved if `approved_by` (a moderator) is given."""
        from onemile.geo import LatLon
        from onemile.projects import services as projects

        data = projects.ProjectData(title, summary, description, point or LatLon(47.75, 7.33), money_target,
                                    tuple(projects.TaskData(*task) for task in tasks), charter_accepted=True)
        project_id = self.act(lambda member: projects.propose(member, data), owner)
        if approved_by is not None:
            self.act(lambda modo: projects.approve(modo, project_id), approved_by)
        return project_id

    def pledge(self, member: MemberRef, project_id: int, amount: str = "20", message: str | None = None) -> int:
        """A money pledge of `member` to an approved project."""
        from onemile.projects import services as projects

        return self.act(lambda m: projects.pledge(m, project_id, amount, message, None), member)

    def mag(self, owner: MemberRef, title: str = "Le mag du quartier", about: str = "Ce qu'il raconte",
            kind: str = "shop", point=None) -> int:
        """A mag of `owner`, without a cover."""
        from onemile.geo import LatLon
        from onemile.mags import services as mags

        data = mags.MagData(title, about, kind, point or LatLon(47.75, 7.33))
        return self.act(lambda member: mags.create_mag(member, data), owner)

    def article(self, owner: MemberRef, mag_id: int, title: str = "Premier", body: str = "Bonjour",
                published: bool = True, photos: tuple = ()) -> int:
        """An article in `owner`'s mag: published, or a draft; `photos` are mags.NewPhoto."""
        from onemile.mags import services as mags

        data = mags.ArticleData(title, body, published, tuple(photos))
        return self.act(lambda member: mags.create_article(member, mag_id, data), owner)

    def comment(self, member: MemberRef, mag_id: int, article_id: int, body: str = "Merci !") -> int:
        """A comment of `member` under a published article."""
        from onemile.mags import services as mags

        return self.act(lambda m: mags.add_comment(m, mag_id, article_id, body), member)

    def conversation(self, responder: MemberRef, listing_id: int, body: str = "Bonjour !",
                     replies: tuple[tuple[MemberRef, str], ...] = ()) -> int:
        """`responder` answers the listing; then each (member, text) of `replies` is said in turn."""
        from onemile.conversations import services as conversations

        conversation_id = self.act(lambda m: conversations.answer(m, listing_id, body), responder)
        for member, text in replies:
            self.act(lambda m, text=text: conversations.post_message(m, conversation_id, text), member)
        return conversation_id

    def completion(self, author: MemberRef, conversation_id: int, confirmed_by: MemberRef | None = None) -> int:
        """The listing's author marks the service done in this conversation (on a request that
        confirms it at once); on an offer, `confirmed_by` (the beneficiary) confirms it."""
        from onemile.conversations import services as conversations

        completion_id = self.act(lambda m: conversations.mark_done(m, conversation_id), author)
        if confirmed_by is not None:
            self.act(lambda m: conversations.confirm(m, completion_id), confirmed_by)
        return completion_id

    def block(self, blocker: MemberRef, blocked: MemberRef) -> None:
        """`blocker` blocks `blocked` through the account service."""
        from onemile.account.services import block

        self.act(lambda m: block(m, blocked.id), blocker)

    def report(self, reporter: MemberRef, target_type: str, target_id: int, reason: str = "spam",
               details: str | None = None) -> int:
        """A report of `reporter` on a reportable thing (`listing`, `message`, `member`, …)."""
        from onemile.moderation import services as moderation

        return self.act(lambda m: moderation.report(m, target_type, target_id, reason, details), reporter)


@pytest.fixture
def factory(app) -> Factory:
    """Factories for members and listings on the app's database."""
    return Factory(app)


@pytest.fixture
def anne(factory) -> MemberRef:
    """A member who reads the site in English."""
    return factory.member(language="en", first_name="Anne", last_name="Martin")


@pytest.fixture
def bruno(factory) -> MemberRef:
    """Another member, in the same mile as Anne."""
    return factory.member(language="en", first_name="Bruno", last_name="Durand")


# What a complete, valid sign-up form sends (tests override single fields).
SIGNUP = {
    "email": "anne.martin@example.org",
    "password": "violet harbour kettle 42",
    "first_name": "Anne",
    "last_name": "Martin",
    "kind": "person",
    "organisation_name": "",
    "postal_code": "68100",
    "country": "FR",
    "latitude": "",
    "longitude": "",
}


class AuthActions:
    """Log a test client in and out."""

    def __init__(self, client):
        self.client = client

    def login(self, member: MemberRef, remember: bool = False):
        return self.client.post(
            "/auth/login", data={"email": member.email, "password": member.password, "remember": "y" if remember else ""}
        )

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    """Log the client in as a member."""
    return AuthActions(client)


# --- Real browser --------------------------------------------------------------------------

# One Chromium and one set of switches for the tests and the bench (bench/page_weight.py).
from bench.page_weight import CHROMIUM, CHROMIUM_ARGS


def _buffered(wsgi_app):
    """Send each response whole, as a buffering proxy (nginx) does.

    Werkzeug's development server skips closing a streamed file when the browser drops the
    connection (Chromium cancels downloads when a test closes its context), and the
    leaked file handle turns into a ResourceWarning in an unrelated test.
    """

    def app(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return app


@pytest.fixture
def live_server(make_app):
    """The app served over HTTP by a real server in a background thread."""
    import threading

    from werkzeug.serving import make_server

    app = make_app(SERVER_NAME=None)
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser downloads are not possible here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (its own cookies, cache and service worker);
    fails the test on any JavaScript error or CSP violation."""
    contexts = []

    def open_page(locale: str = "fr-FR", **options):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}, **options)
        # No tiles from the internet in tests: an empty answer keeps the console clean.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(status=204, body=""))
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
        return page

    yield open_page
    for context in contexts:
        context.close()


def insert_open_offers(points, email: str = "many@example.org") -> list[int]:
    """Bulk-insert one open offer per point (one member, one mile), bypassing the services
    so that thousands of rows take a second; return the listing ids in point order.
    Needs an active app context."""
    from datetime import timedelta

    from sqlalchemy import insert, select

    from onemile.geo import LatLon, grid_cell
    from onemile.models import Listing, ListingPlacement, Member, Mile, utcnow

    member = Member(email=email, password_hash="x", first_name="M", last_name="Any",
                    postal_code="68100", country="FR", kind="person", language="fr")
    db.session.add(member)
    db.session.flush()
    mile = Mile(member_id=member.id, name="m", center=LatLon(47.7508, 7.3359).wkt(), is_primary=True)
    db.session.add(mile)
    db.session.flush()
    now = utcnow()
    db.session.execute(
        insert(Listing),
        [{"author_id": member.id, "kind": "offer", "offer_type": "give", "category": "goods",
          "title": f"item {i}", "body": "b", "status": "open", "created_at": now - timedelta(minutes=i),
          "updated_at": now, "expires_at": now + timedelta(days=30)} for i in range(len(points))],
    )
    ids = db.session.scalars(select(Listing.id).where(Listing.author_id == member.id).order_by(Listing.id)).all()
    db.session.execute(
        insert(ListingPlacement),
        [{"listing_id": lid, "mile_id": mile.id, "kind": "offer", "point": p.wkt(), "cell": grid_cell(p),
          "listed_at": now - timedelta(minutes=i)} for i, (lid, p) in enumerate(zip(ids, points))],
    )
    db.session.commit()
    return list(ids)


def verification_link(outbox: Path, email: str) -> str:
    """The path of the newest verification link e-mailed to `email` (from the outbox)."""
    from email import message_from_bytes, policy

    wait_until_delivered()
    found = []
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            match = re.search(r"https?://[^/\s]+(/auth/verify/\S+)", message.get_content())
            if match:
                found.append(match.group(1))
    assert found, f"no verification e-mail to {email}"
    return found[-1]


def log_in_browser(page, base: str, member) -> None:
    """Log a Playwright page in as `member` through the real form; waits for the map."""
    page.goto(f"{base}/auth/login")
    page.fill("#email", member.email)
    page.fill("#password", member.password)
    page.click("form.stack button[type=submit]")
    # Logged in once the map's HTML is there; locators then wait for what each test needs.
    # Waiting for the "load" event (every sub-resource) timed out once in a fresh-clone run on
    # a busy machine, with the URL already on /map.
    page.wait_for_url(re.compile(r"/map"), wait_until="domcontentloaded")

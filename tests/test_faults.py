"""Faults lose nothing: what a member did is either done or cleanly refused, and applied once.

Each fault is made for real, on real parts:

- PostgreSQL restarts under load: a throw-away cluster of this module's own (initdb +
  pg_ctl on a free port, never the machine's server) is restarted while requests are in
  flight through gunicorn (two workers). Requests in flight and during the outage get 503
  with Retry-After, never a 500; the pool recovers by itself; every form sent again with its
  one-time key is applied once and the books balance.
  In process and in Chromium: the page and the htmx notice (#outage) in both languages,
  the reply typed kept and posted once when sent again, and a pool restarted while idle
  reconnecting before its next request (pool_pre_ping).
- Redis goes and comes back: a redis-server of this test's own is stopped, then started on
  the same port. Down, rate limits hold per process and messages still go through; back, a
  limit hit through one gunicorn server holds on the other again, without restarting them.
  A Redis that stops answering (SIGSTOP) slows a limited request by half a second, never
  hangs it.
- Disk: an upload folder that is a file, or on a full filesystem (a tiny tmpfs, when root
  may mount one), gives a clear error on the form and stores nothing; a photo written for a
  save whose commit fails is removed.
- A gunicorn worker SIGKILLed in the middle of a service confirmation or of smiles given to a
  project: nothing half-written, `flask smiles verify` holds, and the same submission sent
  again is applied exactly once.

Every wait is bounded and every process started here is stopped, whatever happens. The
gunicorn tests are marked `outage` (`-m "not outage"` leaves them out).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from conftest import Factory, _migrate
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from test_conversations import Cast
from test_production import ADDRESS_LIMIT_ONLY, Browser
from test_projects import GARDEN

from bench.loadtest import Gunicorn, gunicorn_path
from onemile import create_app
from onemile.extensions import db
from onemile.models import Account, Completion, Member, Notification, Project, Transfer
from onemile.projects import services as projects
from onemile.smiles.services import balance_of, mint, verify

HX = {"HX-Request": "true"}
CONVERSATION_URL = re.compile(r"/conversations/(\d+)")
CHEAP_HASH = "scrypt:4096:8:1"
# Workers forked from a master that imported the app once: two boot (and a killed one is
# replaced) in a fraction of the time on a busy machine. The app opens no connection at
# import, so nothing is shared across the fork.
PRELOADED = ("--preload",)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something true; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _app_on(uri: str, tmp_path: Path, **config):
    """An in-process app on an existing database (for setting up and checking)."""
    settings = {
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"), "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": CHEAP_HASH,
    }
    settings.update(config)
    return create_app(settings)


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _approved_project(app, factory: Factory, owner) -> int:
    """The owner's project, approved by a moderator, through the real services."""
    from onemile.geo import LatLon

    moderator = factory.member(first_name="Modo", language="en")
    with app.test_request_context():
        db.session.get(Member, moderator.id).is_moderator = True
        db.session.commit()
        project = projects.propose(
            db.session.get(Member, owner.id),
            projects.ProjectData(
                title=GARDEN["title"], summary=GARDEN["summary"], description=GARDEN["description"],
                point=LatLon(47.7385, 7.3305), money_target=None,
                tasks=(projects.TaskData("Construire les bacs", "Menuiserie"),), charter_accepted=True,
            ),
        )
        projects.approve(db.session.get(Member, moderator.id), project.id)
        db.session.commit()
        return project.id


def _server_env(tmp_path: Path, **extra) -> dict[str, str]:
    return {"MAIL_OUTBOX": str(tmp_path / "outbox"), "UPLOAD_FOLDER": str(tmp_path / "uploads"),
            "PASSWORD_HASH_METHOD": CHEAP_HASH, **extra}


def _needs_gunicorn() -> None:
    if gunicorn_path() is None:
        pytest.skip("gunicorn is not installed")


# --- A PostgreSQL cluster of our own ----------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port, in a folder of its own.

    PostgreSQL refuses to run as root: when the tests run as root, the cluster belongs to
    the postgres user (as in scripts/test-postgres.sh). Only this cluster is ever restarted.
    """

    def __init__(self):
        versions = sorted((p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()), key=int)
        if not versions:
            pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path("/usr/lib/postgresql") / versions[-1] / "bin"
        # Not under pytest's tmp_path: its parents are closed to the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="onemile-faults-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.runas: list[str] = []
        self.template: str | None = None
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self.runas, str(self.bin / tool), *args], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", action, *args,
                  timeout=90)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off")
        self._ctl("start", "-o", options)

    def restart(self) -> None:
        """A fast restart: every backend is told to end (queries in flight fail), then the
        server comes back on the same port."""
        self._ctl("restart", "-m", "fast")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                               connect_timeout=5, **kwargs)

    def new_database(self, tmp_path: Path) -> str:
        """A fresh database, copied from one migrated with the project's migrations
        (PostGIS included) the first time."""
        if self.template is None:
            with self.connect(autocommit=True) as conn:
                conn.execute('CREATE DATABASE "onemile_template"')
            _migrate(self.url("onemile_template"), tmp_path)
            self.template = "onemile_template"
        name = f"onemile_{uuid.uuid4().hex[:8]}"
        with self.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres():
    """A PostgreSQL + PostGIS cluster that this module may restart at will."""
    cluster = PrivatePostgres()
    try:
        with cluster.connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone():
                pytest.skip("PostGIS is not installed for this PostgreSQL")
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def private_app(private_postgres, tmp_path):
    """The app on a fresh database of the private cluster."""
    app = _app_on(private_postgres.new_database(tmp_path), tmp_path)
    yield app
    _dispose(app)


def _statuses_ok(results) -> None:
    for kind, key, status, retry_after, text in results:
        assert status in (303, 503), (kind, status, text[:2000])
        if status == 503:
            assert retry_after == "5", retry_after
            assert "try again in a few seconds" in text


@pytest.mark.outage
def test_a_postgres_restart_under_load_is_a_503_and_every_form_sent_again_is_applied_once(
    private_postgres, private_app, tmp_path
):
    _needs_gunicorn()
    app = private_app
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    factory = Factory(app)
    anne, bruno = (factory.member(first_name=name, language="en") for name in ("Anne", "Bruno"))
    project_id = _approved_project(app, factory, anne)
    with app.test_request_context():
        mint(bruno.id, 100, "referral_bonus", "test:bruno")
        db.session.commit()
        project_account_id = db.session.scalar(select(Account.id).where(Account.project_id == project_id))
        start_balance = balance_of(bruno.id)
    database = make_url(uri).database
    results: list[tuple] = []
    stop = threading.Event()

    with Gunicorn(uri, workers=2, env=_server_env(tmp_path), args=PRELOADED) as server:
        browsers = []
        for _ in range(3):
            browser = Browser()
            browser.log_in(server.url, bruno)
            browsers.append(browser)

        def give(browser: Browser, key: str, kind: str = "load") -> None:
            try:
                response = browser.post(f"{server.url}/projects/{project_id}/smiles", {"amount": "1", "key": key})
            except OSError as error:  # no answer at all: a failure of its own, kept for the assertions
                results.append((kind, key, None, None, repr(error)))
                return
            results.append((kind, key, response.status, response.headers.get("Retry-After"), response.text))

        def load(browser: Browser) -> None:
            while not stop.is_set():
                give(browser, secrets.token_urlsafe(16))

        # Support for the project waits inside its transaction while this connection holds
        # the project's account: the restart then finds requests in the middle of a write.
        locker = private_postgres.connect(database)
        locker.execute("SELECT id FROM account WHERE id = %s FOR UPDATE", (project_account_id,))
        threads = [threading.Thread(target=load, args=(b,), daemon=True) for b in browsers]
        try:
            for thread in threads:
                thread.start()
            with private_postgres.connect() as watcher:
                _wait_until(
                    lambda: watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                        (database,),
                    ).fetchone()[0] >= 1,
                    30, "a support request waiting inside its transaction",
                )
            private_postgres.restart()
            restarted = time.monotonic()
            # Load goes on against the restarted server for a moment.
            _wait_until(lambda: sum(1 for r in results if r[2] == 303) >= 3, 30, "supports succeeding again")
            recovered = time.monotonic() - restarted
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=40)
            locker.close()
        assert not any(thread.is_alive() for thread in threads)

        _statuses_ok(results)
        refused = [key for _, key, status, *_ in results if status == 503]
        assert refused, "no request was in flight or sent during the restart"
        assert recovered < 15, recovered
        # The pool recovered by itself: every request now succeeds on both workers.
        for browser in browsers:
            give(browser, secrets.token_urlsafe(16), "after")
        assert [r[2] for r in results if r[0] == "after"] == [303] * 3

        # The member sends each refused form again, with its one-time key: applied once.
        for key in refused:
            give(browsers[0], key, "again")
            give(browsers[1], key, "twice")
        assert {r[2] for r in results if r[0] in ("again", "twice")} == {303}

    keys = {key for _, key, *_ in results}
    with app.test_request_context():
        paid = dict(db.session.execute(
            select(Transfer.idempotency_key, func.count()).where(Transfer.reason == "project_support")
            .group_by(Transfer.idempotency_key)
        ).all())
        assert paid == {f"project:{bruno.id}:{key}": 1 for key in keys}
        assert balance_of(bruno.id) == start_balance - len(keys)
        notified = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "project_smiles")
        )
        assert notified == len(keys)
        assert verify() == []


def test_a_database_outage_is_a_503_page_or_htmx_notice_in_both_languages(private_postgres, private_app):
    """The answer itself, in process: the page and the htmx fragment, English and French,
    while the private cluster is down; the next request after it is back just works."""
    app = private_app
    member = Factory(app).member(language="en")
    client = app.test_client()
    assert client.post("/auth/login", data={"email": member.email, "password": member.password}).status_code == 303
    assert client.get("/smiles/").status_code == 200
    private_postgres._ctl("stop", "-m", "fast")
    try:
        for language, text in (("en", "try again in a few seconds"), ("fr", "Réessayez dans quelques secondes")):
            page = client.get("/smiles/", headers={"Accept-Language": language})
            assert page.status_code == 503 and page.headers["Retry-After"] == "5"
            assert text in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
            fragment = client.get("/notifications/bell?seen=0", headers={"Accept-Language": language, **HX})
            body = fragment.get_data(as_text=True)
            assert fragment.status_code == 503 and fragment.headers["Retry-After"] == "5"
            assert text in body and "<html" not in body
            assert fragment.headers["HX-Retarget"] == "#outage" and "HX-Request" in fragment.headers["Vary"]
    finally:
        private_postgres.start()
    assert client.get("/smiles/").status_code == 200
    # Restarted while the pool sat idle: its connection is dead, and pool_pre_ping replaces
    # it before the next request uses it (without it, that request failed).
    private_postgres.restart()
    assert client.get("/smiles/").status_code == 200


def test_only_transient_database_errors_are_a_503():
    import sqlite3

    from sqlalchemy import exc

    from onemile.outage import is_transient

    def wrapped(error_class, orig):
        return error_class("SELECT 1", {}, orig)

    assert is_transient(wrapped(exc.OperationalError, psycopg.errors.AdminShutdown("terminating connection")))
    assert is_transient(wrapped(exc.OperationalError, psycopg.OperationalError("connection refused")))
    assert is_transient(wrapped(exc.OperationalError, sqlite3.OperationalError("database is locked")))
    assert is_transient(exc.TimeoutError("QueuePool limit reached"))
    # Bugs stay 500s: a missing table, a broken constraint.
    assert not is_transient(wrapped(exc.OperationalError, sqlite3.OperationalError("no such table: x")))
    assert not is_transient(wrapped(exc.IntegrityError, psycopg.errors.UniqueViolation("duplicate key")))


# --- Redis goes and comes back -------------------------------------------------------------------


class RedisServer:
    """redis-server on a free loopback port, without persistence; stopped and started again
    on the same port by the test."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                return bool(self.client.ping())
            except redis.RedisError:
                return False

        _wait_until(answers, 20, "redis-server to start")

    def pause(self) -> None:
        """Still accepting connections, never answering: a partition, a paused VM."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # as a crash would: no goodbye to the clients
            self.process.wait(timeout=20)
        self.client.connection_pool.disconnect()


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.outage
@pytest.mark.parametrize("backend", ["postgis"])
def test_redis_down_then_back_limits_fall_back_per_process_then_are_shared_again(app, own_redis, tmp_path):
    _needs_gunicorn()
    cast = Cast(app)
    listing_id = cast.offer()
    env = _server_env(tmp_path, **ADDRESS_LIMIT_ONLY, REDIS_URL=own_redis.url, RATELIMIT_ENABLED="true",
                      REDIS_KEY_PREFIX=f"faults-{uuid.uuid4().hex}")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    with Gunicorn(uri, workers=1, env=env) as first, Gunicorn(uri, workers=1, env=env) as second:
        one, two = first.url, second.url
        guesser, bruno, anne = Browser(), Browser(), Browser()
        guesser.fetch_token(one)
        bruno.log_in(one, cast.bruno.ref)
        anne.log_in(two, cast.anne.ref)

        def guess(server: str) -> int:
            return guesser.post(f"{server}/auth/login", {"email": cast.anne.ref.email, "password": "wrong"}).status

        own_redis.stop()
        # Down: the site works, each process counts alone (the other has its own count).
        assert [guess(one) for _ in range(10)] == [422] * 10
        assert guess(one) == 429
        assert guess(two) == 422
        answered = bruno.post(f"{one}/conversations/answer/{listing_id}", {"body": "I need it on Sunday."})
        assert answered.status == 303
        cid = int(CONVERSATION_URL.search(answered.headers["Location"]).group(1))

        own_redis.start()
        # Back on the same port, empty. Each server notices within seconds, at its next
        # limited request (Flask-Limiter checks the storage again with a short back-off).
        probe = Browser()

        def limits_in_redis() -> set[bytes]:
            return {key for key in own_redis.client.scan_iter("*LIMITER*") if b"verify" in key}

        for server in (one, two):
            def shared_again(server=server) -> bool:
                before = sum(int(own_redis.client.get(key) or 0) for key in limits_in_redis())
                probe.get(f"{server}/auth/verify/not-a-token")
                return sum(int(own_redis.client.get(key) or 0) for key in limits_in_redis()) == before + 1

            _wait_until(shared_again, 45, f"{server} to count in Redis again", interval=0.5)

        # Shared again, without restarting either server: 5 guesses through each, then both refuse.
        fresh = Browser()
        fresh.fetch_token(two)
        guesser = fresh
        assert [guess(one if n % 2 else two) for n in range(10)] == [422] * 10
        assert guess(one) == 429 and guess(two) == 429
        # Live updates are shared again too: a message through server two leaves its mark.
        assert anne.post(f"{two}/conversations/{cid}/messages", {"body": "Sunday is fine."}).status == 303
        assert list(own_redis.client.scan_iter(f"*:live:conv:{cid}:member:{cast.bruno.id}"))


@pytest.mark.parametrize("backend", ["spatialite"])
def test_a_redis_that_stops_answering_slows_a_limited_request_by_a_moment_never_hangs_it(make_app, own_redis):
    app = make_app(REDIS_URL=own_redis.url, RATELIMIT_STORAGE_URI=own_redis.url, RATELIMIT_ENABLED=True)
    member = Factory(app).member()
    client = app.test_client()

    def guess() -> int:
        return client.post("/auth/login", data={"email": member.email, "password": "wrong"}).status_code

    assert guess() == 422
    answers: list[int] = []
    own_redis.pause()
    try:
        started = time.monotonic()
        thread = threading.Thread(target=lambda: answers.extend(guess() for _ in range(3)), daemon=True)
        thread.start()
        thread.join(timeout=15)
        took = time.monotonic() - started
        assert not thread.is_alive(), "a limited request hung on a silent Redis"
    finally:
        own_redis.resume()
        thread.join(timeout=30)
    assert answers == [422] * 3 and took < 10


# --- Disk -------------------------------------------------------------------------------------


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 800), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def _propose_with_photo(client):
    return client.post("/projects/new", data={**GARDEN, "photo": (io.BytesIO(_photo()), "garden.jpg")},
                       content_type="multipart/form-data", headers={"Accept-Language": "en"})


def _logged_in(app):
    member = Factory(app).member(language="en")
    client = app.test_client()
    assert client.post("/auth/login", data={"email": member.email, "password": member.password}).status_code == 303
    return client


def _projects(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Project))


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


@pytest.fixture
def full_folder(tmp_path):
    """A folder on a filesystem with no space left (a 256 kB tmpfs, filled up)."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                             check=False, capture_output=True, timeout=20)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        (folder / "images").mkdir()
        with open(folder / "filler", "wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], timeout=20, check=False)


@pytest.mark.parametrize("where", ["a file in place of the folder", "a full disk"])
def test_an_unwritable_or_full_upload_folder_is_a_clear_error_on_the_form(make_app, tmp_path, request, where):
    if where == "a full disk":
        folder = request.getfixturevalue("full_folder")
    else:
        folder = tmp_path / "not-a-folder"
        folder.write_text("")
    app = make_app(UPLOAD_FOLDER=str(folder))
    client = _logged_in(app)
    response = _propose_with_photo(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:3000]
    assert "Your photo could not be saved just now" in page
    assert "Construire les bacs" in page  # what was typed is kept
    assert _projects(app) == 0
    assert not [path for path in _files(folder) if path.name != "filler"]


def _refuse_projects_at_commit(app) -> None:
    """Make the database refuse a new project: at COMMIT on PostgreSQL (a deferred constraint
    trigger failing as a serialization failure would), at the INSERT on SQLite."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text(
                "CREATE FUNCTION refuse_project() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001'; END $$"
            ))
            db.session.execute(db.text(
                "CREATE CONSTRAINT TRIGGER refuse_project AFTER INSERT ON project "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_project()"
            ))
        else:
            db.session.execute(db.text(
                "CREATE TRIGGER refuse_project BEFORE INSERT ON project "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            ))
        db.session.commit()


def test_a_photo_stored_for_a_save_that_does_not_commit_is_removed(app, backend, tmp_path):
    client = _logged_in(app)
    _refuse_projects_at_commit(app)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    if backend == "postgis":
        # A commit refused as a serialization failure: the member is asked to try again.
        response = _propose_with_photo(client)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    else:
        with pytest.raises(Exception, match="refused"):
            _propose_with_photo(client)
    assert _projects(app) == 0
    assert uploads.is_dir() and _files(uploads) == []  # the photo was written, then removed


def test_a_committed_photo_stays_and_a_rolled_back_savepoint_keeps_it(app, tmp_path):
    from werkzeug.datastructures import FileStorage

    from onemile.images import store_image

    uploads = Path(app.config["UPLOAD_FOLDER"])
    with app.test_request_context():
        name = store_image(FileStorage(io.BytesIO(_photo()), "a.jpg"))
        with pytest.raises(RuntimeError), db.session.begin_nested():
            raise RuntimeError("a savepoint fails inside the transaction")
        db.session.commit()
        gone = store_image(FileStorage(io.BytesIO(_photo()), "b.jpg"))
        db.session.rollback()
    with app.test_request_context():
        # Stored, then the request ends without a commit (its session is closed).
        store_image(FileStorage(io.BytesIO(_photo()), "c.jpg"))
    assert {p.name.split("-")[0] for p in _files(uploads)} == {name}
    assert gone != name


# --- A worker killed in the middle of a request ----------------------------------------------


def _worker_pids(server: Gunicorn) -> list[int]:
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _pid_owning_local_port(pids: list[int], port: int) -> int | None:
    """Which of these processes holds the TCP socket bound to 127.0.0.1:port (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def _kill_the_worker_waiting_on(server: Gunicorn, database: str, send) -> tuple[int, object]:
    """Send a request (in a thread) that blocks on a row lock inside its transaction, SIGKILL
    the worker that serves it; return that request's database backend pid and what the
    client got (an error: no answer came)."""
    outcome: list = []

    def run():
        try:
            outcome.append(send())
        except OSError as error:  # the connection dies with the worker
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database, autocommit=True,
                         connect_timeout=5) as watcher:
        thread.start()
        blocked = _wait_until(
            lambda: watcher.execute(
                "SELECT pid, client_port FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                (database,),
            ).fetchone(),
            30, "the request to wait inside its transaction",
        )
        backend_pid, client_port = blocked
        worker = _pid_owning_local_port(_worker_pids(server), client_port)
        assert worker is not None
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)
        assert not thread.is_alive()
    return backend_pid, outcome[0]


@pytest.mark.outage
@pytest.mark.parametrize("backend", ["postgis"])
def test_a_worker_killed_mid_confirmation_or_mid_support_loses_nothing_and_a_resend_applies_once(app, tmp_path):
    _needs_gunicorn()
    cast = Cast(app)
    listing_id = cast.offer()
    cid = cast.bruno.open_conversation(listing_id, "May I borrow it?")
    assert cast.anne.client.post(f"/conversations/{cid}/done").status_code in (200, 303)
    project_id = _approved_project(app, cast.factory, cast.anne.ref)
    with app.test_request_context():
        mint(cast.bruno.id, 10, "referral_bonus", "test:bruno")
        db.session.commit()
        completion_id = db.session.scalar(select(Completion.id).where(Completion.conversation_id == cid))
        anne_account = db.session.scalar(select(Account.id).where(Account.member_id == cast.anne.id))
        project_account = db.session.scalar(select(Account.id).where(Account.project_id == project_id))
    before = _books(app, cast)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    database = make_url(uri).database

    def locked(account_id: int):
        conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database, connect_timeout=5)
        conn.execute("SELECT id FROM account WHERE id = %s FOR UPDATE", (account_id,))
        return conn

    with Gunicorn(uri, workers=2, env=_server_env(tmp_path), args=PRELOADED) as server:
        bruno = Browser()
        bruno.log_in(server.url, cast.bruno.ref)
        confirm_url = f"{server.url}/conversations/completions/{completion_id}/confirm"
        key = secrets.token_urlsafe(16)
        support = (f"{server.url}/projects/{project_id}/smiles", {"amount": "3", "key": key})

        for account_id, send in ((anne_account, lambda: bruno.post(confirm_url, {})),
                                 (project_account, lambda: bruno.post(*support))):
            holder = locked(account_id)
            try:
                backend_pid, got = _kill_the_worker_waiting_on(server, database, send)
            finally:
                holder.close()  # the killed worker's transaction may go on: it never commits
            assert isinstance(got, OSError), got  # the member saw the connection drop
            with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database,
                                 connect_timeout=5, autocommit=True) as watcher:
                # Its client is gone, so its transaction can never commit; PostgreSQL notices
                # only when it next talks to the dead socket (or TCP keepalive fires, minutes
                # later), so end the session as that would, and wait until it is gone.
                watcher.execute("SELECT pg_terminate_backend(%s, 10000)", (backend_pid,))
                _wait_until(lambda pid=backend_pid: not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone(),
                    30, "the killed worker's database session to end")
            assert _books(app, cast) == before  # nothing half-written
            assert cast.app.test_cli_runner().invoke(args=["smiles", "verify"]).exit_code == 0

        # gunicorn has replaced the worker; the member sends both again, twice each.
        for _ in range(2):
            confirmed = bruno.post(confirm_url, {}, **HX)
            assert confirmed.status == 200 and "received 1 smile" in confirmed.text
            assert bruno.post(*support).status == 303

    after = _books(app, cast)
    assert after["completion"] == "confirmed"
    assert after["anne"] == before["anne"] + 1 and after["bruno"] == before["bruno"] - 1 - 3
    assert after["project"] == 3
    assert after["transfers"] == before["transfers"] + 2
    result = cast.app.test_cli_runner().invoke(args=["smiles", "verify"])
    assert result.exit_code == 0, result.output


def _books(app, cast) -> dict:
    with app.app_context():
        return {
            "anne": balance_of(cast.anne.id),
            "bruno": balance_of(cast.bruno.id),
            "project": db.session.scalar(select(func.coalesce(func.sum(Account.balance), 0))
                                         .where(Account.project_id.is_not(None))),
            "completion": db.session.scalar(select(Completion.status)),
            "transfers": db.session.scalar(select(func.count()).select_from(Transfer)),
        }


@pytest.mark.browser
def test_in_the_browser_an_outage_shows_a_notice_keeps_the_reply_and_a_resend_posts_it_once(
    private_postgres, private_app, new_page
):
    from conftest import _buffered, log_in_browser
    from playwright.sync_api import expect
    from werkzeug.serving import make_server

    from onemile.models import Message

    app = private_app
    app.config["SERVER_NAME"] = None
    factory = Factory(app)
    anne = factory.member(first_name="Anne", language="en")
    bruno = factory.member(first_name="Bruno", language="en")
    listing_id = factory.listing(anne, title="A ladder to lend")
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        page = new_page(locale="en-GB")
        log_in_browser(page, base, bruno)
        page.goto(f"{base}/listings/{listing_id}")
        page.get_by_label(re.compile("Your message")).fill("Can I borrow it?")
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(re.compile(r"/conversations/\d+#reply-\d+$"))
        conversation_id = int(re.search(r"/conversations/(\d+)", page.url).group(1))
        reply = "Saturday at ten, then?"
        page.get_by_label("Your reply").fill(reply)

        private_postgres._ctl("stop", "-m", "fast")
        try:
            page.get_by_role("button", name="Send").click()
            expect(page.locator("#outage")).to_contain_text("try again in a few seconds")
            expect(page.get_by_label("Your reply")).to_have_value(reply)  # nothing typed is lost
        finally:
            private_postgres.start()

        # The member sends it again, with the same one-time key: it is posted once.
        page.get_by_role("button", name="Send").click()
        expect(page.locator(f"#messages-{conversation_id}")).to_contain_text(reply, timeout=15000)
        expect(page.locator("#outage")).to_be_empty()
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Message).where(Message.body == reply)) == 1
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_two_workers_making_the_same_picture_file_never_mix_their_bytes(tmp_path):
    # A new photo's WebP copy (or a size added later) is made by the first request for it:
    # two web workers asked at the same moment both make it. Here one worker is caught
    # half-way while the other writes and renames the whole file; the file served is then
    # one worker's, whole, and no temporary file stays behind. (With one temporary name for
    # both, the second truncated the first's file and the two wrote into one.)
    from onemile.images import write_atomically

    target = tmp_path / "photo-small.webp"
    halfway, other_done = threading.Event(), threading.Event()

    def interrupted(path):
        with open(path, "wb") as out:
            out.write(b"A" * 1000)
            out.flush()
            halfway.set()
            other_done.wait(10)
            out.write(b"A" * 1000)

    def whole(path):
        halfway.wait(10)
        Path(path).write_bytes(b"B" * 1500)

    first = threading.Thread(target=write_atomically, args=(target, interrupted))
    first.start()
    write_atomically(target, whole)
    other_done.set()
    first.join(10)
    assert target.read_bytes() in (b"A" * 2000, b"B" * 1500)

    def disk_full(path):
        Path(path).write_bytes(b"C" * 10)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(tmp_path / "photo-large.webp", disk_full)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photo-small.webp"]

"""Read replicas, for real: a PostgreSQL primary and a streaming replica started on this
machine (initdb, pg_basebackup -R, two ports under .pg/), and the app routing between them.

What is proved: read-only pages read from the replica and writes go to the primary; a member
reads their own write at once while the replica lags (the replay is paused), while another
member, served by the replica, does not see it yet; a replica lagging past the bound or down is
skipped; a session ended on the primary is ended at once on replica-served pages too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from conftest import PASSWORD, AuthActions, Factory, build_test_app
from flask_migrate import upgrade

from onemile import create_app
from onemile.extensions import db
from onemile.replicas import replica_engines

pytestmark = pytest.mark.skipif(not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
                                reason="PostgreSQL server binaries are not installed")

MULHOUSE = {"lat": "47.7508", "lon": "7.3359"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A primary and its streaming replica, each a throw-away PostgreSQL of its own."""

    def __init__(self, root: Path):
        # The newest server installed (the versions' folders sort as numbers of equal length).
        self.bin = max(Path("/usr/lib/postgresql").glob("*/bin/initdb")).parent
        self.root = root
        self.primary_port, self.replica_port = _free_port(), _free_port()
        # PostgreSQL refuses to run as root: the clusters belong to the postgres user.
        self.runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.runas, *args], check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, name: str, action: str, port: int | None = None) -> None:
        data = str(self.root / name)
        options = ["-o", f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"] if port else []
        self._run(str(self.bin / "pg_ctl"), "-D", data, "-l", str(self.root / f"{name}.log"), "-w",
                  *options, action, *(["-m", "fast"] if action == "stop" else []))

    def start(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        if self.runas:
            shutil.chown(self.root, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.root / "primary"), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8")
        self._pg_ctl("primary", "start", self.primary_port)
        # -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                  "-U", "postgres", "-D", str(self.root / "replica"), "-R", "-X", "stream")
        self.start_replica()

    def start_replica(self) -> None:
        self._pg_ctl("replica", "start", self.replica_port)

    def stop_replica(self) -> None:
        self._pg_ctl("replica", "stop")

    def stop(self) -> None:
        for name in ("replica", "primary"):
            subprocess.run([*self.runas, str(self.bin / "pg_ctl"), "-D", str(self.root / name), "-w",
                            "stop", "-m", "immediate"], check=False, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, port: int, database: str = "onemile") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def sql(self, port: int, statement: str, database: str = "onemile"):
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=database,
                             autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def wait_for_replay(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        target = self.sql(self.primary_port, "SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", "postgres")[0][0]:
                return
            time.sleep(0.05)
        raise AssertionError("the replica did not catch up")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    made = Cluster(Path(__file__).resolve().parent.parent / ".pg" / f"replica-{worker}")
    made.start()
    made.sql(made.primary_port, "CREATE DATABASE onemile", "postgres")
    instance = tmp_path_factory.mktemp("replica-instance")
    migrating = create_app({"SQLALCHEMY_DATABASE_URI": made.url(made.primary_port),
                            "MAIL_OUTBOX": str(instance / "outbox")})
    with migrating.app_context():
        upgrade()
        db.engine.dispose()
    made.wait_for_replay()
    yield made
    made.stop()


@pytest.fixture
def replica_app(cluster, tmp_path):
    """The app on the primary with the replica configured; replay is resumed afterwards."""

    def build(**config):
        # Look at the replica on every request: the tests change its state between two.
        app = build_test_app(cluster.url(cluster.primary_port), tmp_path,
                             DATABASE_REPLICA_URLS=[cluster.url(cluster.replica_port)],
                             REPLICA_CHECK_SECONDS=0, **config)
        built.append(app)
        return app

    built = []
    yield build
    cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_resume()", "postgres")
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            for engine in replica_engines(app):
                engine.dispose()


class Statements:
    """The application's statements per server (the routing's own WAL look-ups left out)."""

    def __init__(self, app):
        self.primary, self.replica = [], []
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", self._on(self.primary))
            sa.event.listen(replica_engines(app)[0], "before_cursor_execute", self._on(self.replica))

    @staticmethod
    def _on(bucket):
        def record(conn, cursor, statement, parameters, context, executemany):
            if "pg_current_wal_lsn" not in statement and "pg_last_wal_replay_lsn" not in statement:
                bucket.append(statement)
        return record

    def primary_beyond_the_session_check(self) -> list[str]:
        """Primary statements other than the login-session check, which always reads there."""
        return [statement for statement in self.primary if "login_session.key_digest" not in statement]

    def clear(self):
        self.primary.clear()
        self.replica.clear()


def _new_member(app, name: str):
    return Factory(app).member(email=f"{name}-{time.monotonic_ns()}@example.org", first_name=name)


def _login(app, member):
    client = app.test_client()
    response = AuthActions(client).login(member)
    assert response.status_code == 303, response.status_code
    return client


def _post_request(client, member, title: str):
    response = client.post("/listings/new", data={
        "kind": "request", "category": "goods", "title": title, "body": "Pour ce week-end.",
        "miles": [str(member.mile_id)], "location_mode": "approximate",
    })
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_replica_serves_read_only_pages_and_the_primary_takes_writes(replica_app, cluster):
    app = replica_app()
    seen = Statements(app)
    visitor = app.test_client()

    seen.clear()
    assert visitor.get("/explore", query_string=MULHOUSE).status_code == 200
    assert seen.replica, "the visitors' map read nothing from the replica"
    assert not seen.primary, f"a read-only page read from the primary: {seen.primary}"

    member = _new_member(app, "Ines")
    client = _login(app, member)
    seen.clear()
    _post_request(client, member, "Besoin d'une échelle")
    assert seen.primary and not seen.replica, "a write touched the replica"


def test_replica_lag_never_hides_a_members_own_write(replica_app, cluster):
    app = replica_app()
    seen = Statements(app)
    author, neighbour = _new_member(app, "Alice"), _new_member(app, "Bruno")
    author_client, neighbour_client = _login(app, author), _login(app, neighbour)
    cluster.wait_for_replay()

    # The replica stops replaying: it answers, but with the past.
    cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_pause()", "postgres")
    _post_request(author_client, author, "Cherche une perceuse")

    seen.clear()
    page = author_client.get("/listings/")
    assert "Cherche une perceuse" in page.get_data(as_text=True)
    assert not seen.replica, "the author's read went to a replica that has not replayed their post"

    seen.clear()
    page = neighbour_client.get("/listings/")
    assert seen.replica, "the neighbour was not served by the replica"
    assert "Cherche une perceuse" not in page.get_data(as_text=True), "the replica was not lagging"

    cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_resume()", "postgres")
    cluster.wait_for_replay()
    seen.clear()
    page = author_client.get("/listings/")
    assert "Cherche une perceuse" in page.get_data(as_text=True)
    assert seen.replica, "once replayed, the author's reads go back to the replica"
    assert not seen.primary_beyond_the_session_check(), seen.primary


def test_replica_lagging_past_the_bound_is_skipped(replica_app, cluster):
    app = replica_app(REPLICA_MAX_LAG_BYTES=1024)
    seen = Statements(app)
    writer = _new_member(app, "Chloe")
    cluster.wait_for_replay()
    cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_pause()", "postgres")
    # More than the bound of WAL that the replica receives but does not replay.
    for number in range(20):
        Factory(app).listing(writer, kind="request", offer_type=None, title=f"Annonce {number}")

    seen.clear()
    assert app.test_client().get("/explore", query_string=MULHOUSE).status_code == 200
    assert not seen.replica and seen.primary, "a replica past the lag bound still served"


def test_replica_that_is_down_is_skipped(replica_app, cluster):
    app = replica_app()
    seen = Statements(app)
    cluster.stop_replica()
    try:
        seen.clear()
        started = time.monotonic()
        response = app.test_client().get("/explore", query_string=MULHOUSE)
        took = time.monotonic() - started
        assert response.status_code == 200
        assert seen.primary and not seen.replica
        assert took < 5, f"a down replica held the page {took:.1f} s"
    finally:
        cluster.start_replica()
    cluster.wait_for_replay()
    seen.clear()
    assert app.test_client().get("/explore", query_string=MULHOUSE).status_code == 200
    assert seen.replica, "the replica was not used again once back"


def test_replica_lag_does_not_keep_an_ended_session_alive(replica_app, cluster):
    app = replica_app()
    member = _new_member(app, "Dora")
    phone, laptop = _login(app, member), _login(app, member)
    cluster.wait_for_replay()
    cluster.sql(cluster.replica_port, "SELECT pg_wal_replay_pause()", "postgres")

    response = laptop.post("/account/sessions/end-all")
    assert response.status_code == 303, response.status_code
    # The phone's cookie names a session the replica still holds; the primary ended it.
    response = phone.get("/listings/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert PASSWORD  # the member's password is unchanged: only the sessions ended

"""Read replicas, for real: a PostgreSQL primary and a streaming replica started on this
machine (initdb, pg_basebackup -R, two ports under .pg/), and the app routing between them.

What is proved: read-only pages read from the replica and writes go to the primary; a member
reads their own write at once while the replica lags (the replay is paused), while another
member, served by the replica, does not see it yet; a replica lagging past the bound or down is
skipped; a session ended on the primary is ended at once on replica-served pages too.
The servers are bench/replicas.py's, which the bench's routing cost (bench/routing.py) runs too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import PASSWORD, AuthActions, Factory, build_test_app
from flask_migrate import upgrade

from bench.replicas import Cluster, Statements, server_binaries
from onemile import create_app
from onemile.extensions import db
from onemile.replicas import replica_engines

pytestmark = pytest.mark.skipif(server_binaries() is None, reason="PostgreSQL server binaries are not installed")

MULHOUSE = {"lat": "47.7508", "lon": "7.3359"}


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

"""A real PostgreSQL primary and its streaming replica on this machine, each a throw-away
server of its own (initdb, pg_basebackup -R, two ports under one folder), and the app's
statements counted per server.

Shared by tests/test_replicas.py (routing, lag, failure) and bench/routing.py (what the
routing costs), so that both run the same servers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

POSTGRESQL_ROOT = Path("/usr/lib/postgresql")
# The routing's own WAL look-ups (onemile/replicas.py), left out of the app's statements.
ROUTING_LOOKUPS = ("pg_current_wal_lsn", "pg_last_wal_replay_lsn")


def server_binaries() -> Path | None:
    """The bin folder of the newest PostgreSQL server installed (the versions' folders sort as
    numbers of equal length), or None when no server is installed."""
    found = list(POSTGRESQL_ROOT.glob("*/bin/initdb"))
    return max(found).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A primary and its streaming replica, each a throw-away PostgreSQL of its own."""

    def __init__(self, root: Path):
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError(f"PostgreSQL server binaries are not installed (no {POSTGRESQL_ROOT}/*/bin/initdb)")
        self.bin = binaries
        self.root = root
        self.primary_port, self.replica_port = free_port(), free_port()
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
        """Stop both servers (whatever state they are in) and remove the folder."""
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
        target = self.sql(self.primary_port, "SELECT pg_current_wal_lsn()", "postgres")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql(self.replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", "postgres")[0][0]:
                return
            time.sleep(0.05)
        raise AssertionError("the replica did not catch up")


class Statements:
    """The application's statements per server (the routing's own WAL look-ups left out):
    the app's primary engine, and every replica it routes to."""

    def __init__(self, app):
        from onemile.extensions import db
        from onemile.replicas import replica_engines

        self.primary, self.replica = [], []
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", self._on(self.primary))
            for engine in replica_engines(app):
                sa.event.listen(engine, "before_cursor_execute", self._on(self.replica))

    @staticmethod
    def _on(bucket):
        def record(conn, cursor, statement, parameters, context, executemany):
            if not any(lookup in statement for lookup in ROUTING_LOOKUPS):
                bucket.append(statement)
        return record

    def primary_beyond_the_session_check(self) -> list[str]:
        """Primary statements other than the login-session check, which always reads there."""
        return [statement for statement in self.primary if "login_session.key_digest" not in statement]

    def clear(self):
        self.primary.clear()
        self.replica.clear()

"""Fresh benchmark databases, migrated with the project's migrations (as tests/conftest.py
does), one per backend and size, dropped afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from onemile import create_app
from onemile.extensions import db

from .load import Plan, load_postgis, load_spatialite

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_SECRET_KEY = "bench-secret-key-not-for-production"


def pg_admin_url() -> str:
    """The PostgreSQL server to create benchmark databases on (`make bench` sets it)."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def pg_connect(url: str, autocommit: bool = True) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=autocommit,
        connect_timeout=5,
    )


def postgis_unavailable(url: str) -> str | None:
    """Why PostGIS cannot be used at url, or None."""
    try:
        with pg_connect(url) as conn:
            row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL unreachable: {str(exc).strip().splitlines()[0]}"
    return None if row else "the postgis extension is not installed on the server"


def app_config(uri: str, workdir: Path) -> dict:
    """Settings of the benchmarked app: production defaults, minus CSRF (the test client
    logs in by a plain POST) and rate limits (one client hammers the server)."""
    return {
        "SQLALCHEMY_DATABASE_URI": uri,
        "SECRET_KEY": BENCH_SECRET_KEY,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "MAIL_OUTBOX": str(workdir / "outbox"),
        "PUBLIC_URL": "http://127.0.0.1",
        # No delivery threads: the benchmark sends no mail and no push, and a thread polling
        # its queue would reopen (recreate) a SpatiaLite file the harness has just dropped.
        "MAIL_DELIVERY": "worker",
        "PUSH_DELIVERY": "worker",
        # Reads go to the database measured, whatever the environment names: bench/routing.py
        # adds its replica itself.
        "DATABASE_REPLICA_URLS": [],
    }


class BenchDatabase:
    """One fresh database of a backend for one size: create, migrate, load, drop."""

    backend: str

    def __init__(self, size: int, workdir: Path):
        self.size, self.workdir = size, workdir

    uri: str

    def create(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def migrate(self):
        """Run the project's migrations; return the app bound to this database."""
        from flask_migrate import upgrade

        app = create_app(app_config(self.uri, self.workdir))
        with app.app_context():
            upgrade()
            for engine in db.engines.values():
                engine.dispose()
        return app

    def load(self, app, plan: Plan) -> dict[str, float]:
        raise NotImplementedError


class SpatiaLiteDatabase(BenchDatabase):
    backend = "spatialite"

    def __init__(self, size: int, workdir: Path, analyze: bool = True):
        super().__init__(size, workdir)
        self.analyze = analyze
        self.path = workdir / f"bench-{size}.sqlite"
        self.uri = f"sqlite:///{self.path}"

    def create(self) -> None:
        self.drop()

    def load(self, app, plan: Plan) -> dict[str, float]:
        with app.app_context():
            # A pooled connection: SpatiaLite is loaded by the app's connect hook.
            raw = db.engine.raw_connection()
            try:
                return load_spatialite(raw.dbapi_connection, plan, self.analyze)
            finally:
                raw.close()
                db.engine.dispose()

    def drop(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PostGISDatabase(BenchDatabase):
    backend = "postgis"

    def __init__(self, size: int, workdir: Path, admin_url: str):
        super().__init__(size, workdir)
        self.admin_url = admin_url
        self.name = f"onemile_bench_{os.getpid()}_{size}"
        self.uri = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)

    def create(self) -> None:
        with pg_connect(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def load(self, app, plan: Plan) -> dict[str, float]:
        with pg_connect(self.uri, autocommit=False) as conn:
            return load_postgis(conn, plan)

    def drop(self) -> None:
        with pg_connect(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def open_database(backend: str, size: int, workdir: Path, sqlite_analyze: bool = True) -> BenchDatabase:
    if backend == "spatialite":
        return SpatiaLiteDatabase(size, workdir, sqlite_analyze)
    return PostGISDatabase(size, workdir, pg_admin_url())

"""Read replicas: read-only pages read from PostgreSQL streaming replicas, everything else
from the primary.

`DATABASE_REPLICA_URLS` (comma-separated) names the replicas. A view marked `@read_only`
(map markers, nearest, lists, public pages) reads from one of them when it is a GET or HEAD;
every other request, every write (a flush) and every read a view marks as needing the
primary (`on_primary()`: who is logged in, whether their session is still open) go to the
primary. Without replicas nothing changes and nothing is checked.

Read-your-writes: after a request that wrote, the primary's WAL position is kept in the
browser's session (`wal`). A replica serves that browser only once it has replayed that far
(`pg_last_wal_replay_lsn()`); until then its reads go to the primary. So a member who just
posted sees their ad at once, wherever the next request lands.

A replica that does not answer (1 s to connect) or lags the primary by more than
`REPLICA_MAX_LAG_BYTES` of WAL is skipped for everybody. Each process checks a replica at
most once a `REPLICA_CHECK_SECONDS`, so an ordinary read costs no extra statement.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession

from . import extensions

_READ_ONLY = "_onemile_read_only"
_WROTE = "onemile_wrote"
_PRIMARY_ONLY = "onemile_primary_only"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
WAL_KEY = "wal"


def read_only(view: Callable) -> Callable:
    """Mark a view whose GET reads may come from a replica: it shows what anyone with its
    rights would see a moment later too (a list, the map, a public page)."""
    setattr(view, _READ_ONLY, True)
    return view


@contextmanager
def on_primary():
    """Run the reads inside on the primary, whatever the view: for facts that must be fresh
    (a login session that was just ended, a suspension)."""
    info = extensions.db.session.info
    previous = info.get(_PRIMARY_ONLY, False)
    info[_PRIMARY_ONLY] = True
    try:
        yield
    finally:
        info[_PRIMARY_ONLY] = previous


def lsn_to_int(lsn: str) -> int:
    """A PostgreSQL WAL position ('16/B374D848') as a byte offset, to compare and subtract."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class Replica:
    """One replica, as this process last saw it."""

    url: str
    engine: sa.Engine
    checked_at: float = 0.0
    healthy: bool = False
    replayed: int = 0  # its pg_last_wal_replay_lsn(), as a byte offset
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Ask the replica how far it has replayed; a replica that does not answer is down."""
        try:
            with self.engine.connect() as connection:
                lsn = connection.execute(sa.text("SELECT pg_last_wal_replay_lsn()")).scalar()
            self.healthy = lsn is not None  # None: not a replica (or not replaying)
            self.replayed = lsn_to_int(lsn) if lsn else 0
        except sa.exc.SQLAlchemyError:
            self.healthy = False
        self.checked_at = time.monotonic()


class Router:
    """The replicas of one app and the primary's WAL position, checked at most once a
    `REPLICA_CHECK_SECONDS` per process."""

    def __init__(self, app: Flask, urls: list[str]):
        options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 1}}
        self.replicas = [Replica(url, sa.create_engine(url, **options)) for url in urls]
        self.check_seconds = float(app.config["REPLICA_CHECK_SECONDS"])
        self.max_lag = int(app.config["REPLICA_MAX_LAG_BYTES"])
        self._turn = itertools.count()
        self._primary_checked_at = 0.0
        self._primary_position = 0
        self._lock = threading.Lock()

    def _primary_wal(self) -> int:
        with self._lock:
            if time.monotonic() - self._primary_checked_at >= self.check_seconds:
                with extensions.db.engine.connect() as connection:
                    lsn = connection.execute(sa.text("SELECT pg_current_wal_lsn()")).scalar()
                self._primary_position = lsn_to_int(lsn)
                self._primary_checked_at = time.monotonic()
            return self._primary_position

    def _seen(self, replica: Replica, force: bool = False) -> Replica:
        with replica.lock:
            if force or time.monotonic() - replica.checked_at >= self.check_seconds:
                replica.refresh()
        return replica

    def choose(self, needed: int) -> sa.Engine | None:
        """A replica that answers, lags less than the bound and has replayed `needed`
        (the browser's last write); None sends the reads to the primary."""
        start = next(self._turn)
        order = self.replicas[start % len(self.replicas):] + self.replicas[: start % len(self.replicas)]
        for replica in order:
            seen = self._seen(replica)
            if not seen.healthy or self._primary_wal() - seen.replayed > self.max_lag:
                continue
            if seen.replayed < needed:
                # It may have caught up since it was last asked: ask it once more.
                seen = self._seen(replica, force=True)
                if not seen.healthy or seen.replayed < needed:
                    continue
            return replica.engine
        return None

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def _router() -> Router | None:
    return current_app.extensions.get("onemile_replicas")


def _replica_for_this_request(db_session: sa.orm.Session) -> sa.Engine | None:
    if not has_request_context() or request.method not in _SAFE_METHODS:
        return None
    if db_session.info.get(_WROTE) or db_session.info.get(_PRIMARY_ONLY):
        return None
    if "onemile_replica" not in g:
        router = _router()
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if router is None or not getattr(view, _READ_ONLY, False):
            g.onemile_replica = None
        else:
            g.onemile_replica = router.choose(int(session_wal() or 0))
    return g.onemile_replica


def session_wal() -> int | None:
    """The WAL position of this browser's last write, if it wrote since replicas are on."""
    value = session.get(WAL_KEY)
    return int(value) if value else None


class RoutingSession(FlaskSession):
    """db.session: reads of read-only views go to a replica when one may serve them."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing:
            engine = _replica_for_this_request(self)
            if engine is not None:
                return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@sa.event.listens_for(RoutingSession, "after_flush")
def _remember_write(session, flush_context) -> None:
    # From the first write on, this request reads what it wrote: the primary.
    session.info[_WROTE] = True


def _remember_wal_position(response):
    # A request that wrote leaves the primary's WAL position in the browser's session, so
    # that its next reads wait for a replica that has replayed it (or use the primary).
    if extensions.db.session.info.pop(_WROTE, False) and _router() is not None:
        with extensions.db.engine.connect() as connection:
            lsn = connection.execute(sa.text("SELECT pg_current_wal_lsn()")).scalar()
        session[WAL_KEY] = str(lsn_to_int(lsn))
    return response


def init_app(app: Flask) -> None:
    """Route read-only views to the configured replicas (none: nothing changes)."""
    urls = app.config.get("DATABASE_REPLICA_URLS") or []
    if not urls:
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise RuntimeError("DATABASE_REPLICA_URLS needs PostgreSQL as the primary database")
    router = Router(app, list(urls))
    app.extensions["onemile_replicas"] = router
    app.after_request(_remember_wal_position)


def replica_engines(app: Flask) -> list[sa.Engine]:
    """The replicas' engines (for tests and the bench)."""
    router = app.extensions.get("onemile_replicas")
    return [replica.engine for replica in router.replicas] if router else []


__all__ = ["RoutingSession", "init_app", "lsn_to_int", "on_primary", "read_only", "replica_engines",
           "session_wal"]

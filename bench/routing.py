"""The cost of read-replica routing (issue 17): one primary against primary + replica.

A real PostgreSQL primary and its streaming replica are started on this machine
(bench/replicas.py, the servers of tests/test_replicas.py); N listings are bulk-loaded on the
primary (bench/load.py) and replayed by the replica. Then the two hot fragments, the mile list
(`within`) and `/map/nearest`, are timed as bench/measure.py's view mode times them (the
test client, a logged-in member, htmx) for two apps on that primary, one request of each in
turn: one alone, one with the replica named in DATABASE_REPLICA_URLS (onemile/replicas.py).
Both servers share this machine's CPUs: the figures are what the routing costs a request
(choosing a server, a second pool, the WAL look-ups), not what a second machine gains. The
statements each app sends are counted per server, so the report shows that the reads did
move to the replica.

`python -m bench` runs it after the listing benchmark when postgis is among BENCH_BACKENDS:
BENCH_ROUTING_SIZE listings (default 100000); BENCH_ROUTING=0 skips it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from .replicas import Cluster, Statements, server_binaries

# Under the project's .pg/ like the tests' clusters (`make clean` removes it): the servers run
# as the postgres user, who cannot enter a temporary folder made by root.
CLUSTER_PARENT = Path(__file__).resolve().parent.parent / ".pg"
CLUSTER_PREFIX = "bench-routing-"
QUERIES = ("within", "nearest")
APPS = ("primary", "replica")  # the app on the primary alone; the app routing to the replica
REPLAY_TIMEOUT_S = 600.0


def unavailable() -> str | None:
    """Why no PostGIS cluster can be started here, or None."""
    binaries = server_binaries()
    if binaries is None:
        return "the PostgreSQL server binaries (initdb, pg_basebackup) are not installed"
    shared = subprocess.run([str(binaries / "pg_config"), "--sharedir"], capture_output=True, text=True,
                            check=False, timeout=30).stdout.strip()
    if not (Path(shared) / "extension" / "postgis.control").exists():
        return f"PostGIS is not installed for the PostgreSQL server of {binaries}"
    return None


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


@contextmanager
def _unwound_on_sigterm():
    """pg_ctl detaches the servers from this process: a SIGTERM (a timeout, a cancelled CI job)
    must unwind through the `finally` that stops them rather than end the process at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispose(app) -> None:
    from onemile.extensions import db
    from onemile.replicas import replica_engines

    with app.app_context():
        db.session.remove()
        for engine in [*db.engines.values(), *replica_engines(app)]:
            engine.dispose()


def measure(size: int, settings, workdir: Path, log: Callable[[str], None]) -> dict:
    """Start the cluster, load `size` listings, time both apps; the cluster is stopped and its
    folder removed whatever happens. Samples are in seconds, statements a request."""
    from onemile import create_app

    from .databases import PostGISDatabase, app_config, postgis_unavailable
    from .dataset import generate, query_points
    from .load import Plan
    from .measure import Bench, interleaved_views, summary_ms

    cluster = Cluster(CLUSTER_PARENT / f"{CLUSTER_PREFIX}{os.getpid()}")
    apps: dict = {}
    with _unwound_on_sigterm():
        try:
            log(f"[routing {size}] starting a primary and its streaming replica under {cluster.root}…")
            cluster.start()
            admin_url = cluster.url(cluster.primary_port, "postgres")
            reason = postgis_unavailable(admin_url)
            if reason:
                raise RuntimeError(f"routing: {reason}")
            database = PostGISDatabase(size, workdir, admin_url)
            database.create()
            apps["primary"] = database.migrate()
            plan = Plan(generate(size, settings.seed), query_points(settings.points, settings.seed))
            log(f"[routing {size}] loading on the primary…")
            load = database.load(apps["primary"], plan)
            started = time.perf_counter()
            cluster.wait_for_replay(REPLAY_TIMEOUT_S)
            replay = time.perf_counter() - started
            log(f"[routing {size}] loaded in {load['total'] + load['analyze']:.1f} s, replayed by the replica "
                f"{replay:.1f} s later; measuring…")
            replica_url = cluster.url(cluster.replica_port, database.name)
            apps["replica"] = create_app({**app_config(database.uri, workdir), "DATABASE_REPLICA_URLS": [replica_url]})

            benches = {name: Bench(apps[name], plan, settings.reps, settings.warmup) for name in APPS}
            seen = {name: Statements(apps[name]) for name in APPS}
            for bench in benches.values():
                bench.login_viewers()  # its POSTs are not part of the counts
            requests = settings.warmup + settings.reps
            result: dict = {"listings": size, "reps": settings.reps, "points": settings.points,
                            "load_s": load["total"] + load["analyze"], "replay_s": replay}
            for query in QUERIES:
                for counted in seen.values():
                    counted.clear()
                samples = interleaved_views(benches, query)
                result[query] = {}
                for name in APPS:
                    on_primary, on_replica = len(seen[name].primary) / requests, len(seen[name].replica) / requests
                    result[query][name] = {"view": samples[name], "primary_statements": on_primary,
                                           "replica_statements": on_replica}
                    p50, p95 = summary_ms(samples[name])
                    log(f"[routing {size}] {query} {name}: p50 {p50:.3f} ms, p95 {p95:.3f} ms; statements a "
                        f"request {on_primary:.1f} on the primary, {on_replica:.1f} on the replica")
            return result
        finally:
            for app in apps.values():
                _dispose(app)
            cluster.stop()


def run(settings, workdir: Path, log: Callable[[str], None]) -> dict | None:
    """The routing measurement if it is asked for and possible here, else None (logged)."""
    if not settings.routing or not settings.routing_size:
        return None
    if "postgis" not in settings.backends:
        log("routing skipped: postgis is not among BENCH_BACKENDS")
        return None
    reason = unavailable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            raise RuntimeError(f"the routing bench is required under CI=true: {reason}")
        log(f"routing skipped: {reason}")
        return None
    return measure(settings.routing_size, settings, workdir, log)


def main() -> int:
    """`python -m bench.routing`: the routing section alone (BENCH_* as for `python -m bench`)."""
    import json
    import shutil
    import tempfile

    from . import report
    from .run import Settings, log

    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    settings = Settings.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="onemile-bench-routing-"))
    try:
        routing = run(settings, workdir, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if routing:
        print(report.routing_table(routing))
        print(json.dumps(report.routing_json(routing), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

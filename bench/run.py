"""Orchestration: for each backend and size, a fresh migrated database, bulk load, timings,
HTTP for the largest size, page weight once; the routing cost of a read replica
(bench/routing.py); then the table, the targets and the JSON."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .measure import summary_ms

HERE = Path(__file__).resolve().parent


def _ints(value: str) -> list[int]:
    return [int(part.replace("_", "")) for part in value.split(",") if part.strip()]


@dataclass
class Settings:
    """What to run; every field has an environment variable (BENCH_…)."""

    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    backends: list[str] = field(default_factory=lambda: ["spatialite", "postgis"])
    reps: int = 200
    warmup: int = 20
    points: int = 50
    seed: int = 1
    http: bool = True
    http_seconds: float = 10.0
    http_connections: int = 4
    page_weight: bool = True
    sqlite_analyze: bool = True  # 0 measures SpatiaLite as the app leaves it: no statistics
    profile: bool = True  # profile the views whose target is missed
    routing: bool = True  # one primary against primary + replica (bench/routing.py); needs postgis
    routing_size: int = 100_000
    output: Path = HERE / "results.json"
    workdir: Path | None = None

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        s = cls()
        sizes = env.get("BENCH_SIZES") or env.get("BENCH_N")
        if sizes:
            s.sizes = _ints(sizes)
        if env.get("BENCH_BACKENDS"):
            s.backends = [b.strip() for b in env["BENCH_BACKENDS"].split(",") if b.strip()]
        for name, convert in (("reps", int), ("warmup", int), ("points", int), ("seed", int),
                              ("http_seconds", float), ("http_connections", int), ("routing_size", int)):
            if env.get(f"BENCH_{name.upper()}"):
                setattr(s, name, convert(env[f"BENCH_{name.upper()}"]))
        for name in ("http", "page_weight", "profile", "sqlite_analyze", "routing"):
            if env.get(f"BENCH_{name.upper()}"):
                setattr(s, name, env[f"BENCH_{name.upper()}"].lower() in ("1", "true", "yes", "on"))
        if env.get("BENCH_OUTPUT"):
            s.output = Path(env["BENCH_OUTPUT"])
        if env.get("BENCH_WORKDIR"):
            s.workdir = Path(env["BENCH_WORKDIR"])
        return s


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_one(backend: str, size: int, data, settings: Settings, workdir: Path, extras: dict) -> dict:
    """Create, load and measure one database; drop it whatever happens."""
    from onemile.extensions import db

    from . import loadtest, page_weight
    from .databases import open_database
    from .dataset import query_points
    from .load import VIEWER_PASSWORD, Plan, viewer_email
    from .measure import Bench, profile_view

    plan = Plan(data, query_points(settings.points, settings.seed))
    database = open_database(backend, size, workdir, settings.sqlite_analyze)
    database.create()
    try:
        app = database.migrate()
        log(f"[{backend} {size}] loading…")
        load = database.load(app, plan)
        log(f"[{backend} {size}] loaded in {load['total'] + load.get('analyze', 0):.1f} s; measuring…")
        bench = Bench(app, plan, settings.reps, settings.warmup)
        run = {"load": load}
        for query in ("within", "nearest"):
            run[query] = {}
            for mode in ("raw", "service", "view"):
                start = time.perf_counter()
                run[query][mode] = getattr(bench, mode)(query)
                p50, p95 = summary_ms(run[query][mode])
                log(f"[{backend} {size}] {query} {mode}: p50 {p50:.3f} ms, p95 {p95:.3f} ms "
                    f"({time.perf_counter() - start:.1f} s)")
        run["floor"] = bench.floor()
        log(f"[{backend} {size}] floor (the bell, 204): p50 {summary_ms(run['floor'])[0]:.3f} ms")
        largest = size == max(settings.sizes)
        if largest and settings.profile:
            for query in ("within", "nearest"):
                raw50, _ = summary_ms(run[query]["raw"])
                view50, _ = summary_ms(run[query]["view"])
                if view50 > 2 * raw50:
                    extras.setdefault("profiles", []).append(
                        (f"{backend} {size} {query} view (cProfile, cumulative)", profile_view(bench, query)))
        if largest and settings.page_weight and "page_weight" not in extras:
            try:
                # The same measurement as tests/test_page_weight.py: real Chromium, one figure.
                extras["page_weight"] = page_weight.measure_app(bench.app, viewer_email(0), VIEWER_PASSWORD)
            except RuntimeError as error:
                log(f"page weight not measured: {error}")
        if largest and settings.http:
            if loadtest.gunicorn_path() is None:
                log("gunicorn is not installed: HTTP skipped (pip install -e '.[dev]')")
            else:
                log(f"[{backend} {size}] HTTP load for {settings.http_seconds:.0f} s…")
                paths = [f"/map/nearest?lat={lat}&lon={lon}" for lat, lon in plan.points]
                result = loadtest.load_test(database.uri, paths, bench.session_cookie(),
                                            settings.http_seconds, settings.http_connections)
                run["http"] = {**result, "connections": settings.http_connections,
                               "seconds": settings.http_seconds}
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        return run
    finally:
        database.drop()


def run(settings: Settings) -> dict:
    """Run everything; return the JSON document (also written to settings.output)."""
    from . import report, routing
    from .databases import pg_admin_url, postgis_unavailable
    from .dataset import generate

    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    backends = list(settings.backends)
    if "postgis" in backends:
        reason = postgis_unavailable(pg_admin_url())
        if reason:
            if os.environ.get("CI", "").lower() == "true":
                raise RuntimeError(f"PostGIS is required under CI=true: {reason}")
            log(f"PostGIS skipped: {reason}")
            backends.remove("postgis")
    own_workdir = settings.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="onemile-bench-")) if own_workdir else settings.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {backend: {} for backend in backends}
    extras: dict = {}
    started = time.perf_counter()
    loadavg_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        for size in sorted(settings.sizes):
            data = generate(size, settings.seed)
            for backend in backends:
                results[backend][size] = bench_one(backend, size, data, settings, workdir, extras)
        routed = routing.run(settings, workdir, log)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    document = report.results_json(results, extras.get("page_weight"), routed)
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(json.dumps(document, indent=2) + "\n")

    print(report.table(results, settings.reps, settings.points))
    weight = extras.get("page_weight")
    if weight:
        print(f"\nMap page, logged-in member, at the largest size, in Chromium (as tests/test_page_weight.py "
              f"measures it; tiles excepted): first visit {weight['first_kb']} KB, repeat visit "
              f"{weight['repeat_kb']} KB (the larger of what Chromium received and what the server sent: "
              f"first {weight['first_chromium_kb']} / {weight['first_server_kb']} KB, repeat "
              f"{weight['repeat_chromium_kb']} / {weight['repeat_server_kb']} KB)")
        biggest = sorted(weight["assets"].items(), key=lambda item: -item[1])
        print("  " + ", ".join(f"{path.rsplit('/', 1)[-1].split('?')[0]} {size / 1024:.1f}" for path, size in biggest)
              + " (KB, sent by the server on the first visit)")
    print("\nTargets (issue 8)")
    for description, met in report.targets(results):
        print(f"  {'PASS' if met else 'MISS'}  {description}")
    if weight:
        for description, met in (
            (f"first visit {weight['first_kb']} KB <= 80 KB", weight["first_kb"] <= 80),
            (f"repeat visit {weight['repeat_kb']} KB <= 5 KB", weight["repeat_kb"] <= 5),
        ):
            print(f"  {'PASS' if met else 'MISS'}  {description} (DESIGN.md budget)")
    if routed:
        print("\n" + report.routing_table(routed))
    for title, text in extras.get("profiles", []):
        print(f"\nProfile: {title}\n{text}")
    print(f"\nWrote {settings.output} in {time.perf_counter() - started:.0f} s; load average "
          f"{loadavg_start} at the start, {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end "
          f"({os.cpu_count()} CPUs: anything else running skews the figures)")
    return document


def main() -> int:
    settings = Settings.from_env()
    run(settings)
    # Alert fan-out for one new ad (bench/alerts.py): BENCH_ALERT_MEMBERS=0 skips it.
    from . import alerts

    sizes = [int(s) for s in os.environ.get("BENCH_ALERT_MEMBERS", "100000").split(",") if s.strip() and int(s)]
    if sizes:
        print("\nAlert fan-out (one new ad, all its neighbours alerted at once)")
        alerts.run(sizes, settings.backends, int(os.environ.get("BENCH_ALERT_REPS", "5")))
    return 0

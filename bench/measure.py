"""Timings of one query three ways: the raw SQL the service builds, the service function,
and the real Flask view returning its htmx fragment through the test client."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from onemile.extensions import db
from onemile.geo import LatLon
from onemile.listings.services import SearchFilters, search_mile
from onemile.map.services import nearest_listings

from .load import VIEWER_PASSWORD, Plan, viewer_email

LAYERS = {"requests", "offers"}
# A statement is the spatial query itself when it holds the index path of either backend.
# How a statement of the hot queries is recognised: the spatial index (SpatiaLite's virtual
# table, PostGIS's operators) or the mile list's grid cells (one index range per cell).
SPATIAL_MARKERS = ("SpatialIndex", "ST_DWithin", "PtDistWithin", "<->", "&&", "cell = ")
# Sessions are bound to the address and User-Agent (Flask-Login "strong" protection): the
# session handed to the HTTP load generator is made with the agent it sends.
USER_AGENT = "onemile-bench"
# Profiles name the project's files from the checkout they run in (a worktree too).
REPOSITORY = f"{Path(__file__).resolve().parent.parent}/"


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary_ms(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds of samples in seconds."""
    return percentile(samples, 0.50) * 1000, percentile(samples, 0.95) * 1000


def search_service(point: LatLon):
    return search_mile(point, SearchFilters())


def nearest_service(point: LatLon):
    return nearest_listings(point, LAYERS)


SERVICES = {"within": search_service, "nearest": nearest_service}


@contextmanager
def recorded_statements(engine):
    """Every (statement, parameters) the engine sends to the driver inside the block."""
    calls: list[tuple[str, object]] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        calls.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield calls
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


class Bench:
    """Measures both queries on one loaded database."""

    def __init__(self, app, plan: Plan, reps: int, warmup: int):
        self.app, self.plan, self.reps, self.warmup = app, plan, reps, warmup
        self.points = [LatLon(lat, lon) for lat, lon in plan.points]
        self.clients = []

    def _schedule(self):
        """Warm-up then measured iterations, cycling over the query points."""
        for i in range(self.warmup + self.reps):
            yield i >= self.warmup, i % len(self.points)

    # --- raw SQL ---------------------------------------------------------------------------
    def spatial_statements(self, query: str) -> list[list[tuple[str, object]]]:
        """For each query point, the spatial SQL statements the service sends (SpatiaLite's
        nearest may send several while its search box grows), as the driver receives them."""
        service = SERVICES[query]
        found = []
        with self.app.app_context():
            for point in self.points:
                with recorded_statements(db.engine) as calls:
                    service(point)
                db.session.remove()
                spatial = [c for c in calls if any(m in c[0] for m in SPATIAL_MARKERS)]
                if not spatial:
                    raise RuntimeError(f"no spatial statement found for {query}")
                found.append(spatial)
        return found

    def raw(self, query: str) -> list[float]:
        """Seconds per query point to execute its spatial statements on a driver cursor and
        fetch every row: the database's work alone, no ORM, no Flask."""
        statements = self.spatial_statements(query)
        samples = []
        with self.app.app_context():
            connection = db.engine.raw_connection()
            try:
                cursor = connection.cursor()
                for measured, k in self._schedule():
                    start = time.perf_counter()
                    for statement, parameters in statements[k]:
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                    elapsed = time.perf_counter() - start
                    if measured:
                        samples.append(elapsed)
                cursor.close()
                connection.rollback()
            finally:
                connection.close()
        return samples

    # --- service ---------------------------------------------------------------------------
    def service(self, query: str) -> list[float]:
        """Seconds per call of the service function (a fresh session each time, ended as a
        request ends it: committed, so that psycopg keeps its prepared statements, which
        it drops at every ROLLBACK; the view's requests keep them too)."""
        service = SERVICES[query]
        samples = []
        with self.app.app_context():
            for measured, k in self._schedule():
                start = time.perf_counter()
                service(self.points[k])
                elapsed = time.perf_counter() - start
                db.session.commit()
                db.session.remove()
                if measured:
                    samples.append(elapsed)
        return samples

    # --- view ------------------------------------------------------------------------------
    def _logged_in_client(self, viewer: int, agent: str | None = None):
        """A test client logged in as a viewer through the real login form."""
        client = self.app.test_client()
        headers = {"User-Agent": agent} if agent else {}
        response = client.post("/auth/login", data={"email": viewer_email(viewer), "password": VIEWER_PASSWORD},
                               headers=headers)
        if response.status_code != 303:  # see other: the map
            raise RuntimeError(f"bench viewer {viewer} could not log in ({response.status_code})")
        # A visitor gets the nearest fragment too, with sign-up links: make sure we are a member.
        lat, lon = self.plan.points[0]
        check = client.get(f"/map/nearest?lat={lat}&lon={lon}", headers={"HX-Request": "true", **headers})
        if check.status_code != 200 or b"/auth/signup" in check.get_data():
            raise RuntimeError(f"bench viewer {viewer} is not seen as logged in")
        return client

    def login_viewers(self) -> None:
        """One test client per viewer member."""
        self.clients = [self._logged_in_client(v) for v in range(self.plan.viewers)]

    def view_request(self, query: str, k: int) -> tuple[object, str]:
        """(client, path) of the htmx request that shows query k's results."""
        client = self.clients[self.plan.point_viewer[k]]
        if query == "within":
            return client, f"/listings/?mile={self.plan.point_mile[k]}"
        lat, lon = self.plan.points[k]
        return client, f"/map/nearest?lat={lat}&lon={lon}"

    def view_once(self, query: str, k: int) -> float:
        """Seconds of query k's whole request through the test client (routing, login,
        session, queries, template), as htmx sends it."""
        if not self.clients:
            self.login_viewers()
        client, path = self.view_request(query, k)
        start = time.perf_counter()
        response = client.get(path, headers={"HX-Request": "true"})
        body = response.get_data()
        elapsed = time.perf_counter() - start
        if response.status_code != 200 or not body:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return elapsed

    def view(self, query: str) -> list[float]:
        """Seconds per whole request through the test client, warm-up left out."""
        samples = []
        for measured, k in self._schedule():
            elapsed = self.view_once(query, k)
            if measured:
                samples.append(elapsed)
        return samples

    def floor(self) -> list[float]:
        """Seconds per logged-in request that does next to nothing of its own: the bell's
        poll when nothing changed (204; one count). What any view costs before its own work,
        to read a view's ratio to its raw SQL against."""
        if not self.clients:
            self.login_viewers()
        samples = []
        for measured, k in self._schedule():
            client = self.clients[self.plan.point_viewer[k]]
            start = time.perf_counter()
            response = client.get("/notifications/bell?seen=0", headers={"HX-Request": "true"})
            response.get_data()
            elapsed = time.perf_counter() - start
            if response.status_code != 204:
                raise RuntimeError(f"the bell answered {response.status_code}, not 204")
            if measured:
                samples.append(elapsed)
        return samples

    def session_cookie(self) -> str:
        """A session cookie of the first viewer, for requests sent with USER_AGENT from
        outside the test client."""
        cookie = self._logged_in_client(0, USER_AGENT).get_cookie("session")
        return f"session={cookie.value}"


def interleaved_views(benches: dict[str, Bench], query: str) -> dict[str, list[float]]:
    """Bench.view of several apps on the same data, one request of each in turn: whatever
    else runs on the machine weighs on all of them alike, so their ratio holds."""
    samples: dict[str, list[float]] = {name: [] for name in benches}
    first = next(iter(benches.values()))
    for measured, k in first._schedule():
        for name, bench in benches.items():
            elapsed = bench.view_once(query, k)
            if measured:
                samples[name].append(elapsed)
    return samples


def profile_view(bench: Bench, query: str, requests: int = 100) -> str:
    """Where a view's time goes beyond its raw SQL: statements per request and the time
    the driver spends in them (engine events), then cProfile's cumulative time of the
    project's own functions and the functions with the most time of their own."""
    import cProfile
    import pstats

    driver = {"statements": 0, "seconds": 0.0}
    started: list[float] = []

    def before(*_args):
        started.append(time.perf_counter())

    def after(*_args):
        driver["statements"] += 1
        driver["seconds"] += time.perf_counter() - started.pop()

    saved = bench.warmup, bench.reps
    bench.warmup, bench.reps = 0, requests
    with bench.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    try:
        start = time.perf_counter()
        bench.view(query)
        plain = (time.perf_counter() - start) / requests
        profiler.enable()
        bench.view(query)
        profiler.disable()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        bench.warmup, bench.reps = saved
    runs = 2 * requests
    lines = [(f"    {plain * 1000:.2f} ms/request unprofiled; {driver['statements'] / runs:.1f} SQL statements/request, "
             f"{driver['seconds'] / runs * 1000:.2f} ms/request inside the driver's execute")]
    stats = pstats.Stats(profiler).stats

    def label(filename, line, name):
        if filename == "~":
            return name
        return f"{filename.split('/site-packages/')[-1].removeprefix(REPOSITORY)}:{line}({name})"

    own = sorted(((ct, nc, label(f, ln, n)) for (f, ln, n), (_cc, nc, _tt, ct, _c) in stats.items()
                  if "/onemile/" in f and n not in ("<lambda>", "<genexpr>", "<listcomp>")), reverse=True)
    lines.append("    cumulative, project code (profiled):")
    lines += [f"      {ct / requests * 1000:7.2f} ms {nc / requests:5.1f}x  {where}" for ct, nc, where in own[:8]]
    heavy = sorted(((tt, nc, label(f, ln, n)) for (f, ln, n), (_cc, nc, tt, _ct, _c) in stats.items()), reverse=True)
    lines.append("    own time (profiled):")
    lines += [f"      {tt / requests * 1000:7.2f} ms {nc / requests:5.1f}x  {where}" for tt, nc, where in heavy[:6]]
    return "\n".join(lines)

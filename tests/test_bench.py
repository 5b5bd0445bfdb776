"""Smoke test of the benchmark harness (`make bench`) at a tiny size: it runs end to end,
writes results.json in the documented shape with positive figures, and leaves no database
behind, nor the routing section's primary and replica (bench/routing.py). Timings are never
asserted here: `make bench` measures them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import routing

ROOT = Path(__file__).resolve().parent.parent
QUERY_KEYS = {"raw_ms_p50", "view_ms_p50", "raw_ms_p95", "view_ms_p95"}
ROUTED_KEYS = {"view_ms_p50", "view_ms_p95", "primary_statements", "replica_statements", "replica_share"}
SMOKE_SIZE = 200


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _leftover_pg_databases() -> list[str] | None:
    url = make_url(_pg_admin_url())
    try:
        with psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                             password=url.password, dbname=url.database or "postgres", connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"onemile_bench_%\\_{SMOKE_SIZE}",)
            ).fetchall()
    except psycopg.OperationalError:
        return None
    return [row[0] for row in rows]


def _leftover_routing_cluster(bench_pid: int) -> list[str]:
    """The folder and server processes of the routing cluster of the bench process `bench_pid`
    (bench/routing.py names the folder after it), if they are still there."""
    root = routing.CLUSTER_PARENT / f"{routing.CLUSTER_PREFIX}{bench_pid}"
    left = [str(root)] if root.exists() else []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if f"{root}/" in command:
            left.append(f"process {cmdline.parent.name}: {command.strip()}")
    return left


def _run_bench(env: dict, timeout: float) -> tuple[subprocess.CompletedProcess, int]:
    """`python -m bench` and its process id; past the timeout it gets a SIGTERM, on which the
    routing section stops its cluster, and the test fails."""
    with subprocess.Popen([sys.executable, "-m", "bench"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            stdout, stderr = process.communicate(timeout=60)
            pytest.fail(f"the bench took more than {timeout:.0f} s: {stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), process.pid


def test_bench_harness_smoke(tmp_path):
    output, workdir = tmp_path / "results.json", tmp_path / "work"
    env = dict(
        os.environ,
        BENCH_SIZES=str(SMOKE_SIZE),
        BENCH_BACKENDS="spatialite,postgis",
        BENCH_REPS="20",
        BENCH_WARMUP="2",
        BENCH_POINTS="10",
        BENCH_HTTP="0",
        BENCH_PROFILE="0",
        BENCH_ROUTING="1",
        BENCH_ROUTING_SIZE=str(SMOKE_SIZE),
        BENCH_ALERT_MEMBERS=str(SMOKE_SIZE),  # the fan-out section too, at a size a suite can afford
        BENCH_OUTPUT=str(output),
        BENCH_WORKDIR=str(workdir),
        BENCH_DATABASE_URL=_pg_admin_url(),
    )
    env.pop("DATABASE_URL", None)
    done, bench_pid = _run_bench(env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    document = json.loads(output.read_text())
    backends = {key for key in document if key not in ("page_weight", "routing")}
    expected = {"spatialite"} if "PostGIS skipped" in done.stderr else {"spatialite", "postgis"}
    assert backends == expected
    for backend in backends:
        assert set(document[backend]) == {str(SMOKE_SIZE)}
        entry = document[backend][str(SMOKE_SIZE)]
        assert set(entry) == {"within", "nearest", "floor_ms_p50"}  # no HTTP at smoke size
        for query in ("within", "nearest"):
            assert set(entry[query]) == QUERY_KEYS
            assert all(isinstance(v, float) and v > 0 for v in entry[query].values()), entry[query]
        # The floor of a logged-in request is below any view, which does that and more.
        assert 0 < entry["floor_ms_p50"] < min(entry[q]["view_ms_p50"] for q in ("within", "nearest"))
    assert set(document["page_weight"]) == {"first_kb", "repeat_kb"}
    assert document["page_weight"]["first_kb"] > document["page_weight"]["repeat_kb"] > 0

    if routing.unavailable() is None:  # BENCH_BACKENDS names postgis
        routed_json = document["routing"]
        assert routed_json["listings"] == SMOKE_SIZE
        for query in ("within", "nearest"):
            assert set(routed_json[query]) == {"primary", "replica", "ratio_p50", "ratio_p95"}
            alone, routed = routed_json[query]["primary"], routed_json[query]["replica"]
            assert set(alone) == set(routed) == ROUTED_KEYS
            assert alone["replica_statements"] == 0 and alone["primary_statements"] > 0, alone
            assert routed["replica_statements"] > 0, f"{query}: nothing reached the replica: {routed}"
            assert all(entry["view_ms_p50"] > 0 for entry in (alone, routed))
        assert "Routing (issue 17)" in done.stdout
    else:
        assert "routing" not in document

    assert "view p50" in done.stdout and "Targets" in done.stdout
    assert "floor: a logged-in request doing nothing of its own" in done.stdout
    assert not list(workdir.glob("*.sqlite*")), "SpatiaLite benchmark files left behind"
    assert _leftover_pg_databases() in (None, []), "PostgreSQL benchmark databases left behind"
    assert not _leftover_routing_cluster(bench_pid), "the routing section left its primary and replica behind"


@pytest.mark.skipif(routing.unavailable() is not None, reason="no PostgreSQL server with PostGIS to start here")
def test_replica_routing_bench_stops_its_cluster_after_an_error(monkeypatch, tmp_path):
    """A step of the routing section that fails still stops its primary and replica and
    removes their folder."""
    from bench.databases import PostGISDatabase
    from bench.run import Settings

    reached = []

    def failing_migration(database):
        reached.append(database.uri)  # the database was created: the primary was running
        raise RuntimeError("a failed migration")

    monkeypatch.setattr(PostGISDatabase, "migrate", failing_migration)
    with pytest.raises(RuntimeError, match="a failed migration"):
        routing.measure(SMOKE_SIZE, Settings(), tmp_path, log=lambda message: None)
    assert reached
    assert not _leftover_routing_cluster(os.getpid()), "the routing section left its primary and replica behind"

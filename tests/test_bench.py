"""Smoke test of the benchmark harness (`make bench`) at a tiny size: it runs end to end,
writes results.json in the documented shape with positive figures, and leaves no database
behind. Timings are never asserted here: `make bench` measures them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
QUERY_KEYS = {"raw_ms_p50", "view_ms_p50", "raw_ms_p95", "view_ms_p95"}
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
        BENCH_OUTPUT=str(output),
        BENCH_WORKDIR=str(workdir),
        BENCH_DATABASE_URL=_pg_admin_url(),
    )
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    document = json.loads(output.read_text())
    backends = {key for key in document if key != "page_weight"}
    expected = {"spatialite"} if "PostGIS skipped" in done.stderr else {"spatialite", "postgis"}
    assert backends == expected
    for backend in backends:
        assert set(document[backend]) == {str(SMOKE_SIZE)}
        entry = document[backend][str(SMOKE_SIZE)]
        assert set(entry) == {"within", "nearest"}  # no HTTP at smoke size
        for query in ("within", "nearest"):
            assert set(entry[query]) == QUERY_KEYS
            assert all(isinstance(v, float) and v > 0 for v in entry[query].values()), entry[query]
    assert set(document["page_weight"]) == {"first_kb", "repeat_kb"}
    assert document["page_weight"]["first_kb"] > document["page_weight"]["repeat_kb"] > 0

    assert "view p50" in done.stdout and "Targets" in done.stdout
    assert not list(workdir.glob("*.sqlite*")), "SpatiaLite benchmark files left behind"
    assert _leftover_pg_databases() in (None, []), "PostgreSQL benchmark databases left behind"

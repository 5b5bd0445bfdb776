"""HTTP through gunicorn (2 sync workers, the production entry point app:app) under a
bounded concurrent load on 127.0.0.1 only: wrk when installed, else Python threads."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .databases import BENCH_SECRET_KEY
from .measure import USER_AGENT, percentile

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
wrk.headers["HX-Request"] = "true"
wrk.headers["User-Agent"] = "%(agent)s"
wrk.headers["Cookie"] = "%(cookie)s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%%d duration_us=%%d p50_us=%%d p95_us=%%d connect=%%d read=%%d write=%%d status=%%d timeout=%%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def gunicorn_path() -> str | None:
    candidate = Path(sys.prefix) / "bin" / "gunicorn"
    return str(candidate) if candidate.exists() else shutil.which("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn -w 2 app:app on a free loopback port, for the database at uri.

    `env` adds to or overrides the environment the app reads (REDIS_URL, RATELIMIT_ENABLED…:
    without them, no Redis and no rate limits, as the benchmark wants); `args` go to gunicorn.
    """

    def __init__(self, uri: str, workers: int = 2, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()):
        self.uri, self.workers, self.port = uri, workers, _free_port()
        self.env, self.args = env or {}, tuple(args)
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self):
        env = dict(os.environ, DATABASE_URL=self.uri, SECRET_KEY=BENCH_SECRET_KEY, RATELIMIT_ENABLED="false")
        env.pop("REDIS_URL", None)
        env.setdefault("PUBLIC_URL", self.url)  # required outside debug (e-mailed links)
        env.update(self.env)
        self.process = subprocess.Popen(
            [gunicorn_path(), "--workers", str(self.workers), "--bind", f"{HOST}:{self.port}",
             "--log-level", "warning", *self.args, "app:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/manifest.json")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()  # also after a timeout while the worker boots
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()


def _wrk(port: int, paths: list[str], cookie: str, seconds: float, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"paths": ", ".join(f'"{p}"' for p in paths), "cookie": cookie, "agent": USER_AGENT})
    try:
        out = subprocess.run(
            ["wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
             "-s", script.name, f"http://{HOST}:{port}/"],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    values = dict(item.split("=") for item in line.split()[1:])
    duration = int(values["duration_us"]) / 1e6
    return {
        "rps": int(values["requests"]) / duration,
        "p50_ms": int(values["p50_us"]) / 1000,
        "p95_ms": int(values["p95_us"]) / 1000,
        "errors": sum(int(values[k]) for k in ("connect", "read", "write", "status", "timeout")),
        "error_kinds": {k: int(values[k]) for k in ("connect", "read", "write", "status", "timeout")},
        "tool": "wrk",
    }


def _threads(port: int, paths: list[str], cookie: str, seconds: float, connections: int) -> dict:
    """Each thread sends one request at a time until the deadline (gunicorn's sync workers
    close every connection, so each request opens its own)."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    headers = {"HX-Request": "true", "Cookie": cookie, "User-Agent": USER_AGENT}

    def worker(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                conn.request("GET", paths[i % len(paths)], headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            latencies[n].append(time.perf_counter() - start)
            errors[n] += not ok
            i += connections

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    samples = [s for per in latencies for s in per]
    return {
        "rps": len(samples) / elapsed,
        "p50_ms": percentile(samples, 0.5) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "errors": sum(errors),
        "tool": "python threads",
    }


def _check_logged_in(port: int, path: str, cookie: str) -> None:
    """The cookie must make the request a member's (a visitor's fragment links to sign-up)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path, headers={"HX-Request": "true", "Cookie": cookie, "User-Agent": USER_AGENT})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200 or b"/auth/signup" in body or b"/listings/" not in body:
        raise RuntimeError(f"GET {path} through gunicorn is not a member's fragment ({response.status})")


def load_test(uri: str, paths: list[str], cookie: str, seconds: float, connections: int) -> dict:
    """Requests per second and latency of GET paths (round robin) under `connections`
    concurrent clients for `seconds`, after a short warm-up."""
    run = _wrk if shutil.which("wrk") else _threads
    with Gunicorn(uri) as server:
        _check_logged_in(server.port, paths[0], cookie)
        run(server.port, paths, cookie, 2, connections)  # warm-up: imports, pools, caches
        result = run(server.port, paths, cookie, seconds, connections)
    if result["errors"]:
        raise RuntimeError(f"failed requests under load: {result}\n{server.output[-2000:]}")
    return result

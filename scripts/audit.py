"""`make audit`: Lighthouse and axe-core against a throw-away copy of 1Mile with the demo data.

What it does, in order:
1. makes a temporary folder holding a SpatiaLite database, the outbox and the uploads, and runs
   `flask setup` there (migrations + demo data);
2. serves blank map tiles from a second local port, so that no tile is fetched from the
   internet and the map is measured with cross-origin tiles as in production;
3. serves the app with gunicorn on a free port, logs the demo member in (a real POST of the
   login form, CSRF token included) and keeps the session cookie;
4. runs Lighthouse (npm package, pinned by scripts/audit-deps.sh into .audit/, against
   Debian's Chromium, default mobile emulation and simulated throttling) on the landing page,
   the public map, the member's map, a listing and a public article;
5. crawls every page reachable from the member's pages (one address per route) plus the public
   pages, and runs axe-core on each in Chromium (through Playwright);
6. writes audit/report.json (scores, the audits that cost points, axe violations) and
   audit/summary.md, and prints the summary.

Nothing here touches instance/ or the developer's database. Environment: AUDIT_PAGES_LIMIT
(pages axe visits, default 80), LIGHTHOUSE_RUNS (runs per page, the median is kept; default 1),
AUDIT_PAGES (a comma-separated subset of landing,explore,map,listing,article for a quick look while
working: only those pages get Lighthouse, axe is skipped and nothing is written to audit/).
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
NODE_PREFIX = ROOT / ".audit"
LIGHTHOUSE = NODE_PREFIX / "node_modules" / "lighthouse" / "cli" / "index.js"
AXE = NODE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
OUT = ROOT / "audit"
RAW = NODE_PREFIX / "lighthouse"  # full Lighthouse reports (large), not committed
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")

# One User-Agent for every client of a run (Lighthouse 12's mobile one): sessions are bound to
# the address and User-Agent that logged in (Flask-Login "strong" protection), so the cookie
# obtained here only works for a browser that says the same.
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36"
)

DEMO_EMAIL = "demo@1mile.local"
DEMO_PASSWORD = "entraide-mulhouse"

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# Issue #7, item 4. SEO counts only on public pages (member pages are not indexed).
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 95}
# The same rules as tests/test_accessibility.py: WCAG 2.0/2.1 A and AA, plus best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# Addresses never visited by the crawler: downloads, JSON, pollers, tokens.
SKIP = re.compile(
    r"^/(static|images)/|^/account/export|/poll$|/bell$|^/smiles/balance|^/map/(markers|nearest)"
    r"|^/(manifest\.json|service-worker\.js)$|^/auth/(verify|reset)/"
)
PUBLIC_PAGES = ["/", "/explore", "/auth/login", "/auth/signup", "/auth/reset", "/offline"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def blank_tile(size: int = 256) -> bytes:
    """One square PNG in the map's background colour."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), (232, 236, 230)).save(out, "PNG", optimize=True)
    return out.getvalue()


def serve_tiles() -> tuple[ThreadingHTTPServer, int]:
    """A tile server answering every GET with a blank tile (cacheable, like real tiles): 512 px
    for the `@2x` names Leaflet asks for on dense screens, as the default tile server does."""
    tiles = {False: blank_tile(256), True: blank_tile(512)}

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):
            tile = tiles[self.path.endswith("@2x.png")]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.send_header("Cache-Control", "public, max-age=604800")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            # Chromium drops tile requests it no longer needs: not worth a traceback.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    port = free_port()
    server = Server(("127.0.0.1", port), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def app_env(workdir: Path, tile_port: int) -> dict:
    """Environment of the throw-away app: everything under workdir, tiles from the local server."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'onemile.sqlite'}",
        SECRET_KEY=secrets.token_hex(32),
        MAIL_OUTBOX=str(workdir / "outbox"),
        PUBLIC_URL="http://127.0.0.1",  # required outside debug; the audit's server is on loopback
        UPLOAD_FOLDER=str(workdir / "uploads"),
        TILE_URL=f"http://127.0.0.1:{tile_port}/{{z}}/{{x}}/{{y}}{{r}}.png",
        FLASK_APP="app",
    )
    return env


def start_app(env: dict, port: int, log: Path) -> subprocess.Popen:
    """gunicorn, as in production (docs/deploy.md), in its own process group; waits until it answers."""
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    stop(process)
    sys.exit(f"The app did not start; see {log}")


def stop(process: subprocess.Popen) -> None:
    """End the process group we started (gunicorn and its workers), and only it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


class Session:
    """A logged-in (or anonymous) HTTP client with its own cookies."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def get(self, path: str) -> tuple[int, str, str]:
        """Status, final path and body of a GET (redirects followed)."""
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                body = response.read().decode("utf-8", "replace")
                return response.status, urllib.parse.urlsplit(response.url).path, body
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode("utf-8", "replace")

    def log_in(self, email: str, password: str) -> None:
        """Post the real login form, CSRF token included."""
        _, _, page = self.get("/auth/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "email": email, "password": password}
        ).encode()
        with self.opener.open(self.base + "/auth/login", data=data, timeout=30) as response:
            if urllib.parse.urlsplit(response.url).path.startswith("/auth/login"):
                sys.exit("Could not log the demo member in")

    def cookies(self) -> dict[str, str]:
        return {cookie.name: cookie.value for cookie in self.jar}


def route_of(path: str) -> str:
    """The route an address belongs to: numbers become <id> (one page per route is enough)."""
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def crawl(session: Session, starts: list[str], limit: int, per_route: int = 4) -> list[str]:
    """Breadth-first over same-origin links; HTML pages answering 200, one address per route.

    A few addresses of each route are read for their links (one's own listing links to its edit
    form, someone else's does not) but only the first is returned.
    """
    fetched: dict[str, int] = {}
    pages: list[str] = []
    routes: set[str] = set()
    queue = list(starts)
    visited: set[str] = set()
    while queue and len(pages) < limit:
        path = queue.pop(0)
        route = route_of(path)
        if path in visited or fetched.get(route, 0) >= per_route or SKIP.search(path):
            continue
        visited.add(path)
        fetched[route] = fetched.get(route, 0) + 1
        status, final, body = session.get(path)
        if status != 200 or "<html" not in body[:500].lower() or final != path:
            continue
        if route not in routes:
            routes.add(route)
            pages.append(path)
        for href in re.findall(r'<a\b[^>]*\bhref="([^"#]+)"', body):
            link = urllib.parse.urlsplit(href.replace("&amp;", "&"))
            if link.netloc or not link.path.startswith("/"):
                continue
            queue.append(link.path)
    return pages


def first_link(session: Session, page: str, pattern: str) -> str:
    """The first link on a page whose path matches pattern."""
    _, _, body = session.get(page)
    match = re.search(rf'href="({pattern})"', body)
    if not match:
        sys.exit(f"No link matching {pattern} on {page}")
    return match.group(1)


def run_lighthouse(url: str, name: str, cookie: str | None) -> dict:
    """One Lighthouse run (mobile, simulated throttling, the CLI's defaults); returns its JSON."""
    RAW.mkdir(parents=True, exist_ok=True)
    output = RAW / f"{name}.json"
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={output}",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    command.append(f"--emulated-user-agent={USER_AGENT}")
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    for attempt in range(3):
        # Lighthouse now and then loses its trace on a busy machine (NO_NAVSTART, NO_FCP):
        # such a run measures nothing, so it is run again.
        done = subprocess.run(
            command, check=False, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300
        )
        if done.returncode == 0:
            break
        print(f"Lighthouse failed on {url} (attempt {attempt + 1}), again", flush=True)
    else:
        sys.exit(f"Lighthouse failed three times on {url}")
    report = json.loads(output.read_text())
    if report["finalDisplayedUrl"] != url:
        # A member page that sent Lighthouse to the login form measured the wrong page.
        sys.exit(f"Lighthouse was sent from {url} to {report['finalDisplayedUrl']}")
    return report


def lost_points(report: dict, category: str) -> list[dict]:
    """The audits that cost points in a category, biggest loss first (points out of 100)."""
    refs = report["categories"][category]["auditRefs"]
    total = sum(ref["weight"] for ref in refs) or 1
    lost = []
    for ref in refs:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit.get("score") is not None and audit["score"] < 1:
            lost.append(
                {
                    "id": ref["id"],
                    "title": audit["title"],
                    "score": audit["score"],
                    "points": round(ref["weight"] * (1 - audit["score"]) / total * 100, 1),
                    "display": audit.get("displayValue", ""),
                }
            )
    # Failing audits of weight 0 (best practices/SEO "manual" or informative) still matter to read.
    return sorted(lost, key=lambda item: -item["points"])


def lighthouse_page(name: str, url: str, cookie: str | None, public: bool, runs: int) -> dict:
    """Scores of one page (median over runs for performance), and what cost points."""
    reports = [
        run_lighthouse(url, f"{name}-{index}" if runs > 1 else name, cookie)
        for index in range(runs)
    ]
    scores_by_run = [
        {c: round(r["categories"][c]["score"] * 100) for c in CATEGORIES} for r in reports
    ]
    performance = [scores["performance"] for scores in scores_by_run]
    median_index = performance.index(sorted(performance)[len(performance) // 2])
    report = reports[median_index]
    scores = scores_by_run[median_index]
    metrics = {
        key: report["audits"][key].get("displayValue", "")
        for key in (
            "first-contentful-paint",
            "largest-contentful-paint",
            "total-blocking-time",
            "cumulative-layout-shift",
            "speed-index",
        )
    }
    return {
        # Chromium's own CPU benchmark during each run: low values mean a busy or slow machine,
        # where simulated throttling (4x on what was observed) inflates blocking time.
        "benchmark_index": [round(r["environment"]["benchmarkIndex"]) for r in reports],
        "name": name,
        "url": url,
        "member": bool(cookie),
        "public": public,
        "scores": scores,
        "performance_runs": performance,
        "metrics": metrics,
        "lost": {category: lost_points(report, category) for category in CATEGORIES},
        "lighthouse_version": report["lighthouseVersion"],
    }


def meets(category: str, score: int, public: bool) -> bool | None:
    """True/False against the target; None when the target does not apply (SEO of member pages)."""
    if category == "seo" and not public:
        return None
    return score >= TARGETS[category]


def run_axe(
    base: str, cookies: dict[str, str], member_pages: list[str], public_pages: list[str]
) -> list[dict]:
    """axe-core on every page in Chromium: member pages logged in, public pages anonymous."""
    from playwright.sync_api import sync_playwright

    script = AXE.read_text()
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        for member, pages in ((True, member_pages), (False, public_pages)):
            # The strict CSP forbids injected scripts: axe is a test-time guest, let it in.
            context = browser.new_context(
                bypass_csp=True, locale="fr-FR", service_workers="block", user_agent=USER_AGENT
            )
            if member:
                host = urllib.parse.urlsplit(base).hostname
                context.add_cookies(
                    [
                        {"name": k, "value": v, "domain": host, "path": "/"}
                        for k, v in cookies.items()
                    ]
                )
            page = context.new_page()
            for path in pages:
                page.goto(base + path, wait_until="networkidle")
                if urllib.parse.urlsplit(page.url).path != path:
                    sys.exit(f"axe: {path} led to {page.url} ({'member' if member else 'visitor'})")
                page.add_script_tag(content=script)
                found = page.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                    ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                    " nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))",
                    AXE_TAGS,
                )
                results.append({"path": path, "member": member, "violations": found})
            context.close()
        browser.close()
    return results


def summary_markdown(report: dict) -> str:
    """The readable summary: scores against targets, what cost points, axe counts."""
    lines = [
        f"# 1Mile audit, {report['generated']}",
        "",
        (
            f"Lighthouse {report['lighthouse_version']} (mobile emulation, simulated throttling: the CLI's "
            f"defaults) on Debian's Chromium; axe-core {report['axe_version']} ({', '.join(AXE_TAGS)}). "
            "Demo data, served by gunicorn on a throw-away SpatiaLite database; blank local map tiles."
        ),
        "",
        "Targets: performance ≥ 95, accessibility 100, best practices 100, SEO ≥ 95 (public pages).",
        "",
        "| page | address | performance | accessibility | best practices | SEO |",
        "|---|---|---|---|---|---|",
    ]
    for page in report["lighthouse"]:
        cells = []
        for category in CATEGORIES:
            score = page["scores"][category]
            verdict = meets(category, score, page["public"])
            cells.append(
                f"{score} {'' if verdict is None else 'PASS' if verdict else 'MISS'}".strip()
            )
        who = "member" if page["member"] else "public"
        lines.append(f"| {page['name']} ({who}) | `{page['path']}` | " + " | ".join(cells) + " |")
    indexes = [index for page in report["lighthouse"] for index in page.get("benchmark_index", [])]
    if indexes:
        lines += [
            "",
            (
                f"Chromium's benchmark index during the runs: {min(indexes)}–{max(indexes)}. Lighthouse "
                "applies a fixed 4× CPU slowdown to what it observes: the same page blocks longer and "
                "scores lower on a busy machine (a lower index)."
            ),
        ]
    lines += ["", "## What cost points", ""]
    for page in report["lighthouse"]:
        for category in CATEGORIES:
            verdict = meets(category, page["scores"][category], page["public"])
            lost = [item for item in page["lost"][category] if item["points"] > 0]
            if verdict is False or (verdict is None and lost):
                detail = (
                    "; ".join(
                        f"{item['id']} −{item['points']}"
                        + (f" ({item['display']})" if item["display"] else "")
                        for item in lost[:6]
                    )
                    or "(no weighted audit failed)"
                )
                lines.append(f"- {page['name']} {category} {page['scores'][category]}: {detail}")
        if page["scores"]["performance"] < TARGETS["performance"]:
            metrics = ", ".join(f"{key} {value}" for key, value in page["metrics"].items())
            lines.append(f"  - {page['name']} metrics: {metrics}")
    lines += ["", "## axe-core", "", "| page | who | violations | rules |", "|---|---|---|---|"]
    for result in report["axe"]:
        rules = (
            ", ".join(f"{v['id']} ({v['impact']}, {v['nodes']})" for v in result["violations"])
            or "–"
        )
        count = sum(v["nodes"] for v in result["violations"])
        lines.append(
            f"| `{result['path']}` | {'member' if result['member'] else 'public'} | {count} | {rules} |"
        )
    total = sum(v["nodes"] for result in report["axe"] for v in result["violations"])
    lines += ["", f"axe: {len(report['axe'])} pages, {total} violating elements in all."]
    return "\n".join(lines) + "\n"


def main() -> None:
    for needed in (LIGHTHOUSE, AXE, BIN / "gunicorn", Path(CHROMIUM)):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run `make audit`, which installs it")
    runs = int(os.environ.get("LIGHTHOUSE_RUNS", "1"))
    limit = int(os.environ.get("AUDIT_PAGES_LIMIT", "80"))
    tiles, tile_port = serve_tiles()
    with tempfile.TemporaryDirectory(prefix="onemile-audit-") as tmp:
        workdir = Path(tmp)
        env = app_env(workdir, tile_port)
        subprocess.run(
            [str(BIN / "flask"), "setup"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_app(env, port, workdir / "gunicorn.log")
        try:
            member = Session(base)
            member.log_in(DEMO_EMAIL, DEMO_PASSWORD)
            cookie = "; ".join(f"{k}={v}" for k, v in member.cookies().items())
            anonymous = Session(base)
            listing = first_link(member, "/listings/", r"/listings/\d+")
            mag = first_link(member, "/mags/", r"/mags/\d+")
            article = first_link(anonymous, mag, r"/mags/\d+/articles/\d+")
            pages = [
                ("landing", "/", False),
                ("explore", "/explore", False),
                ("map", "/map", True),
                ("listing", listing, True),
                ("article", article, False),
            ]
            only = [name for name in os.environ.get("AUDIT_PAGES", "").split(",") if name]
            if only:
                pages = [page for page in pages if page[0] in only]
            results = []
            for name, path, as_member in pages:
                print(f"Lighthouse: {name} {path}", flush=True)
                result = lighthouse_page(
                    name, base + path, cookie if as_member else None, not as_member, runs
                )
                result["path"] = path
                results.append(result)
            if only:
                for result in results:
                    print(json.dumps({k: result[k] for k in ("name", "scores", "metrics", "lost")}, indent=1))
                return
            starts = [
                "/listings/mine",
                "/projects/mine",
                "/mags/",
                "/map",
                "/listings/",
                "/projects/",
                "/projects/moderation",
                "/notifications/",
                "/moderation/",
                "/account/",
                listing,
                mag,
            ]
            member_pages = crawl(member, starts, limit)
            public_pages = crawl(anonymous, [*PUBLIC_PAGES, mag, article], limit)
            print(
                f"axe: {len(member_pages)} member pages, {len(public_pages)} public pages",
                flush=True,
            )
            axe = run_axe(base, member.cookies(), member_pages, public_pages)
        finally:
            stop(server)
            tiles.shutdown()
    axe_version = json.loads(
        (NODE_PREFIX / "node_modules" / "axe-core" / "package.json").read_text()
    )["version"]
    report = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "lighthouse_version": results[0]["lighthouse_version"],
        "axe_version": axe_version,
        "targets": TARGETS,
        "lighthouse": results,
        "axe": axe,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    summary = summary_markdown(report)
    (OUT / "summary.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()

"""Weight of a page for a logged-in member, as real Chromium downloads it: the one
measurement that `make bench` reports and `tests/test_page_weight.py` holds to the budgets
(first visit ≤ 80 KB, repeat visit ≤ 5 KB, map tiles excepted).

Two honest counts of the same visits: what Chromium reports as received for the page's own
requests (CDP Network.loadingFinished encodedDataLength: compressed bodies and headers), and
what the server actually sent (every response body and its headers, the service worker's
install included, which the page's CDP session does not see). Tiles go to NO_TILES, the
discard port, refused at once, so they never count. The first visit is a fresh browser
context logged in without seeing a page; the repeat visit is the same page again once the
service worker controls it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

FIRST_BUDGET_KB = 80
REPEAT_BUDGET_KB = 5
NO_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: refused at once
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class SentBytes:
    """WSGI middleware counting what the server sends: status line, headers and body."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.requests: list[tuple[str, int]] = []

    def __call__(self, environ, start_response):
        size = {"n": 0}

        def counting_start(status, headers, exc_info=None):
            size["n"] += len(status) + 11 + sum(len(k) + len(v) + 4 for k, v in headers)
            return start_response(status, headers, exc_info)

        path = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        body = self.wsgi_app(environ, counting_start)
        try:
            for chunk in body:
                size["n"] += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
        with self.lock:
            self.requests.append((path, size["n"]))

    def take(self) -> list[tuple[str, int]]:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


@contextmanager
def weighed_server(app):
    """Serve `app` on 127.0.0.1 with tiles pointing nowhere and a byte counter in front;
    yields the server, with `.app`, `.sent` and `.url`."""
    from werkzeug.serving import make_server

    app.config["TILE_URL"] = NO_TILES
    app.config["SERVER_NAME"] = None
    sent = SentBytes(app.wsgi_app)
    app.wsgi_app = sent
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app, server.sent, server.url = app, sent, f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        app.wsgi_app = sent.wsgi_app


def _visit(page, cdp, sent: SentBytes, url: str) -> dict:
    """Open url, wait until the service worker controls the page and the network is quiet;
    return the bytes each side counted (in KB) and what was fetched."""
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    sent.take()
    page.goto(url, wait_until="load")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    own = {urls.get(rid, rid): size for rid, size in received.items() if ":9/" not in urls.get(rid, "")}
    server = sent.take()
    return {
        "chromium_kb": round(sum(own.values()) / 1024, 1),
        "server_kb": round(sum(size for _, size in server) / 1024, 1),
        "chromium": own,
        "server": server,
    }


def measure(browser, server, email: str, password: str, path: str) -> tuple[dict, dict]:
    """(first visit, repeat visit) of `path` for the member, on a `weighed_server`."""
    base = server.url
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        # Logged in without visiting a page: the first page seen is the one measured.
        login = context.request.post(f"{base}/auth/login", form={"email": email, "password": password})
        if not login.ok:
            raise RuntimeError(f"login for the page weight answered {login.status}")
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        first = _visit(page, cdp, server.sent, base + path)
        if not page.url.endswith(path):
            raise RuntimeError(f"{path} led to {page.url}")
        repeat = _visit(page, cdp, server.sent, base + path)
        return first, repeat
    finally:
        context.close()


def summary(first: dict, repeat: dict) -> dict:
    """The figures the bench reports: the larger of the two counts for each visit."""
    return {
        "first_kb": max(first["chromium_kb"], first["server_kb"]),
        "repeat_kb": max(repeat["chromium_kb"], repeat["server_kb"]),
        "first_chromium_kb": first["chromium_kb"],
        "first_server_kb": first["server_kb"],
        "repeat_chromium_kb": repeat["chromium_kb"],
        "repeat_server_kb": repeat["server_kb"],
        "assets": dict(first["server"]),
    }


def measure_app(app, email: str, password: str, path: str = "/map") -> dict:
    """Launch Debian's Chromium, serve `app`, and weigh `path` for the member (the bench)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright, weighed_server(app) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return summary(*measure(browser, server, email, password, path))
        finally:
            browser.close()

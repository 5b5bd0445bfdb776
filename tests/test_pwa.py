"""The installable shell: manifest, icons, service worker and offline page."""

import re
import struct
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "onemile" / "static"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _fetch(client, url):
    """GET url and release the file behind a static response (send_file keeps it open)."""
    with client.get(url) as response:
        response.get_data()
        return response


def test_manifest_is_installable(client):
    response = _fetch(client, "/manifest.json")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["short_name"] == "1Mile" and manifest["name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert manifest["theme_color"].startswith("#")
    sizes = {}
    for icon in manifest["icons"]:
        path = STATIC / icon["src"].removeprefix("/static/")
        width, height = _png_size(path)
        assert icon["sizes"] == f"{width}x{height}"
        sizes.setdefault(icon["sizes"], set()).update(icon.get("purpose", "any").split())
    assert "any" in sizes["192x192"] and "any" in sizes["512x512"]
    assert any("maskable" in purposes for purposes in sizes.values())


def test_service_worker_has_root_scope_and_is_never_stale(client):
    response = _fetch(client, "/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    source = response.get_data(as_text=True)
    shell = re.findall(r"'(/[^']*)'", re.search(r"const SHELL\s*=\s*\[(.*?)\];", source).group(1))
    # What every page needs, versioned; nothing left for the server to fill in.
    for url in ("/static/css/app.css?v=", "/static/js/app.js?v=", "/static/js/outbox.js?v=",
                "/static/vendor/htmx/htmx.min.js?v="):
        assert any(entry.startswith(url) for entry in shell), url
    # The offline page travels inside the worker, in both languages, with the page policy:
    # no request of its own on a first visit.
    assert "You are offline" in source and "Vous êtes hors ligne" in source
    assert "Content-Security-Policy" in source and "frame-ancestors 'none'" in source
    assert not any(entry.startswith("/offline") for entry in shell)
    assert "__" not in re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.DOTALL).replace("__proto__", "")
    # The shell it precaches must exist, so installation cannot fail on a 404.
    for url in shell:
        assert _fetch(client, url).status_code == 200, url


def test_the_offline_page_comes_in_each_language_and_pages_say_theirs(client):
    english, french = client.get("/offline?lang=en"), client.get("/offline?lang=fr")
    assert "You are offline" in english.get_data(as_text=True) and "réseau" not in english.get_data(as_text=True)
    assert "Vous êtes hors ligne" in french.get_data(as_text=True)
    # The worker picks the offline page in the language the pages it saw said.
    assert client.get("/", headers={"Accept-Language": "en"}).headers["Content-Language"] == "en"
    assert client.get("/", headers={"Accept-Language": "fr"}).headers["Content-Language"] == "fr"


def test_offline_page_carries_no_session_data(client, auth, factory):
    auth.login(factory.member(first_name="Zénobie"))
    response = client.get("/offline")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "csrf" not in html.lower()
    assert "Zénobie" not in html
    assert "<h1>" in html


def test_pages_link_the_manifest_and_register_the_worker(client):
    html = client.get("/").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.json?lang=fr"' in html
    assert 'data-sw="/service-worker.js"' in html


def test_no_asset_comes_from_a_cdn():
    root = Path(__file__).resolve().parents[1]
    for path in list((root / "onemile" / "templates").rglob("*.html")) + [root / "service-worker.js"]:
        text = path.read_text()
        for host in ("unpkg.com", "jsdelivr", "cdnjs", "googleapis.com"):
            assert host not in text, f"{host} in {path}"


def test_an_unchanged_service_worker_revalidates_with_a_304(client):
    first = _fetch(client, "/service-worker.js")
    assert first.headers["ETag"]
    with client.get("/service-worker.js", headers={"If-None-Match": first.headers["ETag"]}) as again:
        assert again.status_code == 304 and again.get_data() == b""


def test_static_urls_carry_their_hash_and_are_kept_a_year(client, app):
    html = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]{10}))"', html)
    assert url, "the stylesheet URL carries no version"
    versioned = _fetch(client, url.group(1))
    assert versioned.status_code == 200
    assert "immutable" in versioned.headers["Cache-Control"]
    assert "max-age=31536000" in versioned.headers["Cache-Control"]
    # An old or missing version, or none at all, is not kept forever.
    for other in ("/static/css/app.css", "/static/css/app.css?v=0000000000", "/static/css/app.css?v=../x"):
        response = _fetch(client, other)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", ""), other
    assert _fetch(client, "/static/nope.css?v=0000000000").status_code == 404


def test_the_version_follows_the_content(app):
    from onemile.pwa.assets import static_hash

    with app.test_request_context():
        assert static_hash("css/app.css") != static_hash("js/app.js")
        assert static_hash("../pyproject.toml") is None and static_hash("nope.css") is None

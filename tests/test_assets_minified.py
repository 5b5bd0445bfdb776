"""Our own JavaScript and CSS are served minified to browsers that take brotli (issue 15:
room in the 80 KB budget): comments and spare white space go, strings stay whole."""

from __future__ import annotations

import re
from pathlib import Path

import brotli

from onemile.pwa.assets import static_hash

STATIC = Path(__file__).resolve().parent.parent / "onemile" / "static"


def _served(client, app, filename: str) -> str:
    with app.test_request_context():
        version = static_hash(filename)
    response = client.get(f"/static/{filename}?v={version}", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    return brotli.decompress(response.get_data()).decode()


def test_our_scripts_and_styles_are_served_minified(app, client):
    for filename in ("js/app.js", "css/app.css"):
        source = (STATIC / filename).read_text()
        served = _served(client, app, filename)
        assert len(served) < 0.85 * len(source), filename
        assert "/*" not in served, filename  # every comment went
    # Strings survive: the SVG namespace (it holds "//") and a French message.
    app_js = _served(client, app, "js/app.js")
    assert "'http://www.w3.org/2000/svg'" in app_js
    assert "Recherche de votre position…" in app_js
    # A file already minified is sent as it is.
    htmx = _served(client, app, "vendor/htmx/htmx.min.js")
    assert htmx == (STATIC / "vendor/htmx/htmx.min.js").read_text()
    assert re.search(r"\bfunction\b", app_js)

"""Weight of the map page for a logged-in member, as a browser downloads it.

First visit: the HTML, every same-origin asset it references (stylesheets, scripts, icons,
the manifest and its icons, images named in the CSS), the service worker script and every
file the service worker precaches at install. Text is counted gzip-compressed (level 6, as
a compressing server or proxy sends it); images as they are. Map tiles are not counted.
Repeat visit: the service worker serves the shell from its cache, so only the HTML comes
over the network, plus the service worker script when it cannot be revalidated (the browser
checks it on every navigation; without ETag or Last-Modified it is downloaded again).
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

BASE = "http://localhost/"
LINK_RELS = {"stylesheet", "icon", "apple-touch-icon", "manifest", "preload", "modulepreload"}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
QUOTED_PATH = re.compile(r"'(/[^'\s]*)'")
COMPRESSIBLE = ("text/", "javascript", "json", "xml", "svg")


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.service_worker: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href") and LINK_RELS & set((a.get("rel") or "").split()):
            self.urls.append(a["href"])
        elif tag in ("script", "img", "source") and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "body" and a.get("data-sw"):
            self.service_worker = a["data-sw"]


def _same_origin_path(url: str, base: str) -> str | None:
    absolute = urljoin(base, url)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(BASE).netloc:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def wire_bytes(content_type: str, body: bytes) -> int:
    """Bytes on the wire: gzip for text, as-is for already-compressed formats."""
    if any(kind in content_type for kind in COMPRESSIBLE):
        return len(gzip.compress(body, 6))
    return len(body)


def measure(client, path: str = "/map") -> dict:
    """{"first_kb_gz", "repeat_kb", "assets": {path: bytes}} for a logged-in client."""
    page = client.get(path)
    if page.status_code != 200:
        raise RuntimeError(f"GET {path} answered {page.status_code}")
    html = page.get_data()
    html_bytes = wire_bytes(page.content_type, html)
    refs = _References()
    refs.feed(html.decode())

    fetched: dict[str, int] = {}
    pending = [(url, BASE) for url in refs.urls]
    sw_revalidates = True
    if refs.service_worker:
        pending.append((refs.service_worker, BASE))
    while pending:
        url, base = pending.pop(0)
        asset = _same_origin_path(url, base)
        if asset is None or asset in fetched:
            continue
        response = client.get(asset)
        body = response.get_data()
        response.close()
        if response.status_code != 200:
            raise RuntimeError(f"GET {asset} (referenced by the map page) answered {response.status_code}")
        fetched[asset] = wire_bytes(response.content_type, body)
        here = urljoin(BASE, asset)
        if "css" in response.content_type:
            pending += [(u, here) for u in CSS_URL.findall(body.decode()) if not u.startswith("data:")]
        elif "manifest" in response.content_type or asset.endswith("manifest.json"):
            pending += [(icon["src"], here) for icon in json.loads(body).get("icons", [])]
        elif refs.service_worker and asset == _same_origin_path(refs.service_worker, BASE):
            sw_revalidates = bool(response.headers.get("ETag") or response.headers.get("Last-Modified"))
            shell = re.search(r"SHELL\s*=\s*\[(.*?)\]", body.decode(), re.DOTALL)
            pending += [(u, here) for u in QUOTED_PATH.findall(shell.group(1) if shell else "")]
            # The precache list holds the offline page too: a page, fetched at install.
    first = html_bytes + sum(fetched.values())
    repeat = html_bytes
    if refs.service_worker and not sw_revalidates:
        repeat += fetched[_same_origin_path(refs.service_worker, BASE)]
    return {
        "first_kb_gz": round(first / 1024, 1),
        "repeat_kb": round(repeat / 1024, 1),
        "html_kb_gz": round(html_bytes / 1024, 1),
        "assets": fetched,
        "sw_revalidates": sw_revalidates,
    }

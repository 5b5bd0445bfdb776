"""The installable shell: manifest, service worker (root scope) and offline page."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import rjsmin
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from .. import security
from .assets import static_url

bp = Blueprint("pwa", __name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


LANGUAGES = ("fr", "en")


def _manifest_in(language: str) -> dict:
    """manifest.json (what no language changes) with its words in `language`, the shortcuts
    (Post, Around me, Messages) and the screenshots of the richer install dialog."""
    base = json.loads((PROJECT_ROOT / "manifest.json").read_text())
    icon = [{"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"}]
    with force_locale(language):
        words = {
            "name": _("1Mile – neighbours helping each other"),
            "description": _("Neighbours help each other within a mile: requests, offers, loans and services."),
            "shortcuts": [
                {"name": _("Post"), "short_name": _("Post"), "description": _("Post a request or an offer"),
                 "url": url_for("listings.new"), "icons": icon},
                {"name": _("Around me"), "short_name": _("Around me"), "description": _("Requests and offers around me"),
                 "url": url_for("listings.index"), "icons": icon},
                {"name": _("Messages"), "short_name": _("Messages"), "description": _("My conversations"),
                 "url": url_for("conversations.index"), "icons": icon},
            ],
            "screenshots": [
                {"src": static_url("screenshots/map-narrow.webp"), "sizes": "360x800", "type": "image/webp",
                 "form_factor": "narrow", "label": _("The map of my mile on a phone, the nearest ads below")},
                {"src": static_url("screenshots/map-wide.webp"), "sizes": "1280x800", "type": "image/webp",
                 "form_factor": "wide", "label": _("The map of my mile beside the nearest ads")},
            ],
        }
    return {**base, **words, "lang": language}


@bp.get("/manifest.json")
def manifest():
    """The web app manifest in the member's language: `?lang=` (what pages link), else the
    language of the session or the browser."""
    asked = request.args.get("lang")
    language = asked if asked in LANGUAGES else str(get_locale())
    response = current_app.response_class(
        json.dumps(_manifest_in(language), ensure_ascii=False, indent=1), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    if asked not in LANGUAGES:
        response.vary.update(("Accept-Language", "Cookie"))  # the language came from them
    return response


# Installed with the worker: what every page needs (Leaflet is kept when a map first loads
# it; the icons and the manifest are the browser's own business, fetched when it needs them).
SHELL_FILES = ("css/app.css", "js/app.js", "js/outbox.js", "vendor/htmx/htmx.min.js")


def _js_list(urls: list[str]) -> str:
    """A JavaScript array of same-origin paths, in single quotes (none contains a quote)."""
    return "[" + ", ".join(f"'{url}'" for url in urls) + "]"


@lru_cache(maxsize=1)
def _service_worker_source() -> str:
    """The worker with its precache list (versioned static URLs) and its cache named after
    a hash of that list and the manifest: a changed shell file changes the worker."""
    shell = [static_url(name) for name in SHELL_FILES]
    # The offline page travels inside the worker, in every language: no request of its own
    # at install (a first visit's weight), and whatever language the member reads.
    offline = {}
    for language in LANGUAGES:
        with force_locale(language):
            offline[language] = render_template("pwa/offline.html")
    offline_headers = {"Content-Type": "text/html; charset=utf-8", **security.page_headers()}
    digest = hashlib.sha256("\n".join(shell).encode())
    digest.update((PROJECT_ROOT / "manifest.json").read_bytes())
    digest.update(json.dumps([offline, offline_headers]).encode())
    source = (PROJECT_ROOT / "service-worker.js").read_text()
    # Minified like the static files (assets.py): every first visit downloads the worker.
    return rjsmin.jsmin(
        source.replace("__SHELL_VERSION__", digest.hexdigest()[:12])
        .replace("__SHELL__", _js_list(shell))
        .replace("__OFFLINE_PAGES__", json.dumps(offline, ensure_ascii=False))
        .replace("__OFFLINE_HEADERS__", json.dumps(offline_headers))
        # The outbox code itself, not an importScripts of it: one download less at install.
        .replace("importScripts(__OUTBOX_SCRIPT__);", (Path(current_app.static_folder) / "js" / "outbox.js").read_text())
    )


@bp.get("/service-worker.js")
def service_worker():
    """The service worker, served from the root so that its scope is the whole site."""
    source = _service_worker_source()
    response = current_app.response_class(source, mimetype="text/javascript")
    # Browsers must see a new worker as soon as it is deployed, but revalidating an
    # unchanged one should cost a 304, not the whole script.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    response.set_etag(hashlib.sha256(source.encode()).hexdigest()[:16])
    return response.make_conditional(request)


@bp.get("/offline")
def offline():
    """The page the service worker shows when the network is gone (it carries it inside,
    in each language: `_service_worker_source`), here to look at, in `?lang=` or the
    reader's language."""
    asked = request.args.get("lang")
    with force_locale(asked if asked in LANGUAGES else str(get_locale())):
        return render_template("pwa/offline.html")


def _say_the_language(response):
    # Which offline page the service worker shows: the language of the pages it last saw.
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Language", str(get_locale() or "fr"))
    return response


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, and pages saying their language to the service worker."""
    app.register_blueprint(bp)
    app.after_request(_say_the_language)

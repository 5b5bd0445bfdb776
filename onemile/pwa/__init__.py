"""The installable shell: manifest, service worker (root scope) and offline page."""

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, send_file
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

bp = Blueprint("pwa", __name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@bp.get("/manifest.json")
def manifest():
    """The web app manifest."""
    response = send_file(PROJECT_ROOT / "manifest.json", mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@lru_cache(maxsize=1)
def _service_worker_source() -> str:
    """The worker with its cache named after a hash of every static file it may serve."""
    digest = hashlib.sha256()
    static = Path(current_app.static_folder)
    for path in sorted(p for p in static.rglob("*") if p.is_file()):
        digest.update(path.relative_to(static).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update((PROJECT_ROOT / "manifest.json").read_bytes())
    source = (PROJECT_ROOT / "service-worker.js").read_text()
    return source.replace("__SHELL_VERSION__", digest.hexdigest()[:12])


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
    """Shown by the service worker when the network is gone."""
    # Cached once for everyone: say it in both languages, whichever was cached.
    with force_locale("en" if str(get_locale()) == "fr" else "fr"):
        alternate = _("1Mile cannot reach the network right now.")
    return render_template("pwa/offline.html", alternate=alternate)

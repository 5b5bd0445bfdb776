"""The installable shell: manifest, service worker (root scope) and offline page."""

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, send_file, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from .assets import static_url

bp = Blueprint("pwa", __name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@bp.get("/manifest.json")
def manifest():
    """The web app manifest."""
    response = send_file(PROJECT_ROOT / "manifest.json", mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
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
    shell = [url_for("pwa.offline"), *(static_url(name) for name in SHELL_FILES)]
    digest = hashlib.sha256("\n".join(shell).encode())
    digest.update((PROJECT_ROOT / "manifest.json").read_bytes())
    digest.update(render_template("pwa/offline.html", alternate="").encode())
    source = (PROJECT_ROOT / "service-worker.js").read_text()
    source = (
        source.replace("__SHELL_VERSION__", digest.hexdigest()[:12])
        .replace("__SHELL__", _js_list(shell))
        # The outbox code itself, not an importScripts of it: one download less at install.
        .replace("importScripts(__OUTBOX_SCRIPT__);", (Path(current_app.static_folder) / "js" / "outbox.js").read_text())
    )
    # The comments are for readers of the source, not for every first visit's budget.
    return _WHOLE_LINE_COMMENT.sub("", source)


# A line that is only a // comment (the worker has no multi-line strings for it to cut).
_WHOLE_LINE_COMMENT = re.compile(r"^[ \t]*//[^\n]*\n", re.MULTILINE)


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


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint."""
    app.register_blueprint(bp)

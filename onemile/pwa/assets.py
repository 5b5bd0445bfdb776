"""Static files with their content hash in the URL, cached for a year.

`url_for('static', filename=...)` gets `?v=<hash of the file>` everywhere (templates, the
service worker's shell list) through a URL default: a deploy that changes a file changes its
URL, so the browser may keep every versioned URL forever (`immutable`), and a repeat visit
asks the server nothing for them. A static URL without the current hash (an old page, a
hand-typed link, an image named in a stylesheet) keeps the short STATIC_MAX_AGE policy.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import brotli
import rcssmin
import rjsmin
from flask import Flask, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface

YEAR = 31536000
# Text worth compressing once at brotli's best (11 is too slow per request, fine once per
# version): Leaflet drops from 44 KB (level 4) to 37 KB, the whole map page by a sixth.
DOCUMENT_ONLY = (
    "Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "Permissions-Policy",
    "Cross-Origin-Opener-Policy", "Expires", "Content-Disposition",
)
PRECOMPRESSED = {"text/css", "text/javascript", "application/javascript", "image/svg+xml"}


@lru_cache(maxsize=4096)
def _file_hash(path: str, mtime_ns: int) -> str:
    """First 10 hex digits of the file's SHA-256 (cached per path and modification time)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def static_hash(filename: str) -> str | None:
    """The version of static/<filename>, or None when there is no such file."""
    static = Path(current_app.static_folder).resolve()
    path = (static / filename).resolve()
    if static not in path.parents or not path.is_file():
        return None
    return _file_hash(str(path), path.stat().st_mtime_ns)


def _minified(path: str) -> bytes:
    """The file without its comments and spare white space when it is our own JavaScript or
    CSS (rjsmin and rcssmin understand strings and regular expressions; a .min. file is left
    as it is). The sources keep their comments; members download a third less of them."""
    data = Path(path).read_bytes()
    if ".min." in Path(path).name:
        return data
    if path.endswith(".js"):
        return rjsmin.jsmin(data.decode()).encode()
    if path.endswith(".css"):
        return rcssmin.cssmin(data.decode()).encode()
    return data


@lru_cache(maxsize=256)
def _brotli(path: str, version: str) -> bytes:
    """The file (minified) at brotli quality 11, once per version."""
    return brotli.compress(_minified(path), quality=11)


def _precompress(response, filename: str, version: str):
    """Send a versioned text file brotli-compressed from memory (Flask-Compress leaves a
    response that already has a Content-Encoding alone)."""
    if "br" not in request.accept_encodings or response.mimetype not in PRECOMPRESSED or response.status_code != 200:
        return response
    body = _brotli(str(Path(current_app.static_folder, filename).resolve()), version)
    if hasattr(response.response, "close"):
        response.response.close()  # the file send_file opened
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "br"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{version}-br")
    return response


def static_url(filename: str) -> str:
    """The versioned URL of a static file (same as url_for('static', filename=...))."""
    return url_for("static", filename=filename)


class _StaticFilesIgnoreCookies(SecureCookieSessionInterface):
    """Static files do not depend on cookies: no `Vary: Cookie` on them. Flask-Login looks at
    the session after every response, which made Flask add it, so that any new cookie (the
    time zone's, onemile.timezones) sent the browser to download the shell again."""

    def save_session(self, app, session, response):
        if request.endpoint == "static" and not session.modified:
            session.accessed = False
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Version every static URL, and let browsers keep versioned ones for a year."""
    app.session_interface = _StaticFilesIgnoreCookies()

    @app.url_defaults
    def version_static(endpoint, values):
        if endpoint == "static" and "v" not in values and values.get("filename"):
            version = static_hash(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_versioned(response):
        if request.endpoint != "static" or response.status_code not in (200, 304) or not request.args.get("v"):
            return response
        filename = request.view_args.get("filename", "")
        version = static_hash(filename)
        if request.args["v"] != version:
            return response
        response.cache_control.max_age = YEAR
        response.cache_control.public = True
        response.cache_control.immutable = True
        # Headers that only mean something on a page (or a download), sent once per file:
        # on a first visit they were 4 KB of the budget. SVG keeps its CSP (it can be
        # opened as a document); nosniff stays on everything.
        for name in DOCUMENT_ONLY if response.mimetype != "image/svg+xml" else ("Expires", "Content-Disposition"):
            response.headers.pop(name, None)
        return _precompress(response, filename, version)

    app.jinja_env.globals["static_url"] = static_url

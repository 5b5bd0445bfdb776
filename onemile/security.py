"""Security headers, session protection and error pages shared by every route."""

import math
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

from .errors import NotFoundError
from .extensions import login_manager
from .geo import InvalidBox, InvalidCoordinates


def _without_nul(values: ImmutableMultiDict) -> ImmutableMultiDict:
    if not any("\x00" in value for value in values.values()):
        return values
    return ImmutableMultiDict([(key, value.replace("\x00", "")) for key, value in values.items(multi=True)])


class NulFreeRequest(Request):
    """Form and query values without NUL characters.

    PostgreSQL refuses NUL in text while SQLite stores it, so a NUL typed into any field
    was a 500 on one backend only. Nobody types one on purpose: drop it at the edge, once,
    for every form and query string.
    """

    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])


def _tile_origin() -> str:
    # Leaflet spreads `{s}` over the subdomains a, b and c: the policy allows them all.
    parts = urlsplit(current_app.config["TILE_URL"].replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def page_headers() -> dict[str, str]:
    """The headers every rendered response carries: the page policy and its companions (the
    service worker gives them to the offline page it makes, too)."""
    tiles = _tile_origin()
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {tiles}".strip(),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "manifest-src 'self'",
            "worker-src 'self'",
        ]
    )
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _set_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.status_code in (204, 304):
        # Nothing to render: the page policy would only add bytes to every idle poll.
        return response
    response.headers.update(page_headers())
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if not response.headers.get("Cache-Control") and request.endpoint != "static":
        # Pages carry personal data and CSRF tokens: never store them in shared caches.
        response.headers["Cache-Control"] = "no-store"
    return response


def _error_page(status: int, title, message):
    return render_template("error.html", title=title, message=message), status


def minutes_to_wait(error) -> int:
    """Whole minutes until the exceeded limit's window is over (at least 1)."""
    limit = getattr(error, "limit", None)
    try:
        seconds = limit.limit.get_expiry()
    except AttributeError:
        seconds = 60
    return max(1, math.ceil(seconds / 60))


def too_many(error):
    """The page of a request refused by a rate limit, with when to try again."""
    minutes = minutes_to_wait(error)
    page, status = _error_page(
        429,
        _l("Slow down"),
        _l("Too many attempts. Please try again in %(n)d minutes.", n=minutes),
    )
    return page, status, {"Retry-After": str(minutes * 60)}


def init_app(app: Flask) -> None:
    """Install headers, the member loader and friendly error pages."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # No Flask-Login session protection. "strong" ends the session whenever the address or
    # User-Agent changes (a phone moving from wifi to 4G); "basic" marks even a visitor's
    # session on every request, so any anonymous request still in flight at login — the
    # service worker fetching /offline — answered with a visitor's cookie that overwrote
    # the new login. Nothing here asks for a "fresh" login, and sessions are bound to the
    # password by the credential fingerprint and kept on the server (auth.sessions), so that
    # logging out ends them; cookies are HttpOnly, SameSite=Lax and Secure behind HTTPS.
    login_manager.session_protection = None

    # The member loader is the auth feature's (auth.setup): core names no feature.
    app.after_request(_set_headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _error_page(
            400,
            _l("Your form expired"),
            _l("For your safety the form could not be sent. Go back, reload the page and try again."),
        )

    @app.errorhandler(InvalidBox)
    @app.errorhandler(InvalidCoordinates)
    def not_a_place(error):
        # A map address whose box or point is malformed (geo.Box.from_args,
        # LatLon.from_args): said so, rather than silently showing another place.
        if isinstance(error, InvalidBox):
            message = _l("The map area in this address (south, west, north, east) is not an area on the globe.")
        else:
            message = _l("The point in this address (lat, lon) is not a place on the globe.")
        return _error_page(400, _l("Not a place on the map"), message)

    @app.errorhandler(NotFoundError)
    @app.errorhandler(404)
    def not_found(error):
        return _error_page(404, _l("Page not found"), _l("This page does not exist or is no longer available."))

    @app.errorhandler(403)
    def forbidden(error):
        return _error_page(403, _l("Not allowed"), _l("You cannot do this."))

    @app.errorhandler(413)
    def too_large(error):
        return _error_page(413, _l("Too large"), _l("What you sent is too large."))

    app.register_error_handler(429, too_many)

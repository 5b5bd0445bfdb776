"""1Mile: hyperlocal mutual aid within a mile."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import sqlean
from flask import Flask, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_translations
from flask_compress import Compress
from flask_login import current_user
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from markupsafe import Markup
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import config as config_module
from . import images, live, mail, outage, replicas, security, unit_of_work, views
from .cli import register as register_cli
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .i18n import FormTranslationsRequest
from .images import UploadAwareRequest
from .models import (
    MAX_DATABASE_ID,
    CompletionStatus,
    ListingKind,
    ListingStatus,
    ModerationVerb,
    ProjectStatus,
    TransferReason,
    VolunteerStatus,
)
from .privacy import distance_band
from .pwa import assets as pwa_assets
from .security import NulFreeRequest
from .timezones import detection_wanted, format_when, select_timezone
from .timezones import readable as readable_timezone


def _load_spatialite(dbapi_connection, _record) -> None:
    """Every embedded connection gets SpatiaLite, foreign keys and a busy timeout."""
    dbapi_connection.enable_load_extension(True)
    dbapi_connection.load_extension("mod_spatialite")
    dbapi_connection.enable_load_extension(False)
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    dbapi_connection.execute("PRAGMA busy_timeout = 5000")
    init_spatialite(dbapi_connection, transaction=True, init_mode="WGS84")
    # Without table statistics SQLite walks every open listing through the status index and
    # uses the R*Tree only as a filter (208 ms instead of 2.6 ms for the nearest five at 10k,
    # measured by make bench). SQLite's own advice for short-lived connections: let
    # `optimize` run ANALYZE, with a work limit, on tables whose statistics are missing or stale.
    dbapi_connection.execute("PRAGMA optimize = 0x10002")


class _DatabaseId(IntegerConverter):
    """`<int:…>` in URLs, limited to what an INTEGER primary key can hold."""

    def __init__(self, url_map, *args, **kwargs):

        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(url_map, *args, **kwargs)


def select_locale() -> str:
    """Language: the explicit choice, then the member's, then the browser's."""
    languages = ["fr", "en"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or "fr"


class AppRequest(UploadAwareRequest, NulFreeRequest, FormTranslationsRequest):
    """Every request of the app: form and query values without NUL (security), a larger
    body allowance on the views that take photos (images), and the forms' own messages
    translated from a catalogue loaded once per language (i18n)."""


# The features, in the order they plug in, which is also the order in which they answer
# signals: an account deletion cancels pending services, deletes listings, then the miles
# they were placed in.
FEATURES = (
    "auth", "conversations", "listings", "projects", "mags", "miles", "map", "pwa", "notifications", "alerts", "smiles",
    "account", "moderation", "gazetteer", "profiles", "organisations", "push",
)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; test_config overrides the environment's settings."""
    app = Flask(__name__, instance_relative_config=True)
    # Ids are 32-bit integers in both databases: a larger one in a URL must be a 404, not a
    # driver error (500). Every <int:…> route gets the bound.
    app.url_map.converters["int"] = _DatabaseId
    app.config.from_mapping(config_module.load(app.instance_path))
    if test_config:
        app.config.update(test_config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Python builds without enable_load_extension are common (pyenv's): sqlean.py is a
        # drop-in sqlite3 that can load mod_spatialite everywhere.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("module", sqlean.dbapi2)
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _load_spatialite)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    # Pages, fragments and static files leave compressed (gzip, br or zstd, as the browser
    # accepts): served by gunicorn alone or behind a proxy that does not compress.
    Compress(app)
    _whole_files_for_compression(app)
    _trust_proxies(app)

    live.init_app(app)
    app.register_blueprint(views.bp)
    # Each feature plugs itself in (blueprint, map layer, reportables, notification kinds,
    # its part of the data export and of account deletion): nothing here names what they hold.
    for feature in FEATURES:
        importlib.import_module(f".{feature}", __name__).setup(app)
    app.request_class = AppRequest
    images.init_app(app)
    mail.init_app(app)
    pwa_assets.init_app(app)
    security.init_app(app)
    outage.init_app(app)
    replicas.init_app(app)

    _template_globals(app)

    register_cli(app)
    # Last: every view and command is registered by now.
    unit_of_work.init_app(app)
    return app


def _whole_files_for_compression(app: Flask) -> None:
    """Read a compressible file response (static files, the manifest) into memory before
    Flask-Compress sees it.

    Flask-Compress compresses a streamed response through a generator that never closes the
    file (one descriptor leaked per request until garbage collection), and leaves gzip out
    of streaming. These files are small: read whole and closed at once, they are compressed
    in one piece, with a Content-Length, and revalidate with their ETag as before.
    Registered after Compress, so it runs before it.
    """
    compressible = set(app.config["COMPRESS_MIMETYPES"])

    @app.after_request
    def read_whole_file(response):
        if (
            response.direct_passthrough
            and response.status_code == 200
            and response.mimetype in compressible
            and request.headers.get("Accept-Encoding")
            and (response.content_length or 0) <= 4 * 1024 * 1024
        ):
            file = response.response
            response.direct_passthrough = False
            try:
                response.set_data(b"".join(response.iter_encoded()))
            finally:
                if hasattr(file, "close"):
                    file.close()
        return response


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from the
    X-Forwarded-For/-Proto headers they set; without it every client would share the proxy's
    address (and so its rate limits) and HTTPS would go unseen. X-Forwarded-Host is never
    trusted: nginx passes a client's own through (e-mailed links come from PUBLIC_URL, onemile.mail)."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_prefix=0)


def _ngettext_with_locale_numbers(singular: str, plural: str, num: int, **variables) -> Markup:
    """Jinja's `ngettext`, with the counts written the reader's way ("1 500" in French,
    "1,500" in English) instead of Python's bare "%d".

    The catalogue keeps its "%(num)d" placeholders (gettext tools check them); only the value
    substituted changes, after the plural form has been chosen from the number itself.
    """
    variables.setdefault("num", num)
    text = get_translations().ungettext(singular, plural, num)
    localized = {
        name: format_decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in variables.items()
    }
    # Templates are autoescaped: escape the values, keep the catalogue's text as markup.
    return Markup(_INT_PLACEHOLDER.sub(r"%(\1)s", text)) % localized


_INT_PLACEHOLDER = re.compile(r"%\((\w+)\)d")


# The states templates compare against ({% if project.status == ProjectStatus.PENDING %}).
TEMPLATE_ENUMS = (CompletionStatus, ListingKind, ListingStatus, ModerationVerb, ProjectStatus, TransferReason,
                  VolunteerStatus)


def _template_globals(app: Flask) -> None:
    """Labels and formatters every template may use."""
    app.jinja_env.globals.update(
        ngettext=_ngettext_with_locale_numbers,
        current_locale=lambda: str(get_locale() or "fr"),
        format_date=format_date,
        # Messages show their time of day, not only their date.
        format_datetime=format_datetime,
        # Lists say when as messaging apps do ("14:05", "Yesterday", "Monday", "3 Dec").
        format_when=format_when,
        distance_band=distance_band,
        timezone_detection_wanted=detection_wanted,
        readable_timezone=readable_timezone,
        # States compare with their enum, never with a bare string.
        **{enum.__name__: enum for enum in TEMPLATE_ENUMS},
    )


def _migrations_dir():
    return Path(__file__).resolve().parent.parent / "migrations"

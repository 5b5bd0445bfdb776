"""The database is briefly out of reach: answer "try again" (503 with Retry-After), never a 500.

A PostgreSQL restart (an upgrade, a failover, a crash) kills the queries in flight and
refuses new connections for a few seconds. Every such error reaches one handler here:
the request's transaction is rolled back (PostgreSQL never committed it), and the member
gets a page, or for htmx a notice in the page's `#outage` region, saying that nothing was
saved and when to try again. Forms carrying a one-time key (smiles, pledges, messages)
can be sent again as they are: the key makes a second arrival harmless.

Once the server is back, the pool recovers by itself: `pool_pre_ping` (set for PostgreSQL
in the factory) replaces connections that died during the restart before a request uses
them, and a disconnect seen by one request makes SQLAlchemy drop the whole pool.

Transient means: the connection is gone or could not be made, the server is shutting down
or starting, a serialization failure, deadlock, lock or statement timeout (PostgreSQL's
"operational" errors), or SQLite's "database is locked". A programming error that SQLite
also reports as operational (a missing table) stays a 500.
"""

from __future__ import annotations

from flask import Flask, current_app, g, render_template
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block
from sqlalchemy import exc

from .extensions import db, login_manager
from .htmx import vary_on_htmx, wants_fragment

# Seconds a member (or a client) should wait before trying again: a restart takes a few.
RETRY_AFTER_SECONDS = 5
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")


def is_transient(error: BaseException | None) -> bool:
    """True for a database error that trying again a moment later can cure."""
    if isinstance(error, exc.PendingRollbackError):
        # A flush failed earlier in the request and the session was used again: transient
        # only if that first failure was.
        return is_transient(_original_failure())
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, exc.InterfaceError):
            return True
        if not isinstance(error, exc.OperationalError):
            return False
        if type(error.orig).__module__.startswith(("sqlite3", "sqlean")):
            return any(text in str(error.orig).lower() for text in _SQLITE_TRANSIENT)
        return True
    # The pool is exhausted or cannot connect (no DBAPI error behind it).
    return isinstance(error, (exc.TimeoutError, exc.DisconnectionError))


def _original_failure() -> BaseException | None:
    transaction = db.session.get_transaction()
    return getattr(transaction, "_rollback_exception", None)


def _forget_the_session() -> None:
    """Roll back what the request had begun; a dead connection may refuse even that."""
    try:
        db.session.rollback()
    except exc.SQLAlchemyError:
        db.session.close()


def _unavailable(error: Exception):
    if not is_transient(error):
        raise error
    current_app.logger.warning("database unavailable, answered 503: %s", error)
    _forget_the_session()
    # The page is drawn for a visitor: loading the member would ask the database again.
    g._login_user = login_manager.anonymous_user()
    title = _("Back in a moment")
    message = _(
        "1Mile could not reach its database for a moment, so what you just did was not saved. "
        "Please try again in a few seconds."
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_fragment():
        # htmx swaps a 503 (base.html's responseHandling) into the page's notice region,
        # leaving the form and what was typed in it as they were.
        body = render_block("error.html", "message", title=title, message=message)
        headers.update({"HX-Retarget": "#outage", "HX-Reswap": "innerHTML"})
    else:
        body = render_template("error.html", title=title, message=message)
    response = current_app.make_response((body, 503, headers))
    return vary_on_htmx(response)


def init_app(app: Flask) -> None:
    """Answer 503 with Retry-After for every transient database failure."""
    for error_class in (exc.OperationalError, exc.InterfaceError, exc.PendingRollbackError,
                        exc.TimeoutError, exc.DisconnectionError):
        app.register_error_handler(error_class, _unavailable)

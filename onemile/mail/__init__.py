"""Outgoing e-mail, one path for every e-mail the app writes.

`send_mail` only adds a row to the durable outbox (`OutgoingMail`) in the current database
session: the caller's transaction commits it with the change that causes it, or rolls it
back and nothing is sent. After a commit that added rows, the delivery worker
(`onemile.mail.delivery`) sends them, after the response, with retries: SMTP when
MAIL_SERVER is set, else `.eml` files in MAIL_OUTBOX (development and tests).

Some e-mails must not even be *decided* inside the request, because the decision would tell
who has an account (a sign-up, a password reset): `defer_mail` writes a row that a composer
registered with `@composer(name)` turns into the real message in the worker, after the
response. Every link in an e-mail comes from `public_url`, never from the request's Host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import Flask, current_app

from ..extensions import db
from ..models import OutgoingMail

# Set on the session when a transaction adds outbox rows: its commit wakes the worker.
MAIL_ADDED = "onemile_mail_added"


@dataclass(frozen=True)
class Draft:
    """What a composer decided to send (in the recipient's language)."""

    to: str
    subject: str
    body: str
    language: str | None = None


# name -> composer(to_address, payload) -> Draft | None (None: nobody to write to).
_COMPOSERS: dict[str, Callable[[str, dict], Draft | None]] = {}


def composer(name: str):
    """Register the function that writes deferred e-mails of this name in the worker.

    It runs in the worker's transaction, which also records the message: whatever it adds
    (an account, say) commits with the message or not at all."""

    def register(function):
        _COMPOSERS[name] = function
        return function

    return register


def composer_for(name: str) -> Callable[[str, dict], Draft | None]:
    """The composer registered under `name` (KeyError if none)."""
    return _COMPOSERS[name]


def _new_message_id() -> str:
    domain = urlsplit(current_app.config["PUBLIC_URL"] or "").hostname or "1mile.local"
    return make_msgid(domain=domain)


def _add(row: OutgoingMail) -> OutgoingMail:
    db.session.add(row)
    db.session.info[MAIL_ADDED] = True
    return row


def send_mail(to: str, subject: str, body: str, language: str | None = None,
              headers: dict[str, str] | None = None) -> OutgoingMail:
    """Queue a plain-text e-mail in the current transaction (the caller commits); `language`
    (the recipient's, that the text is written in) goes into Content-Language; `headers`
    are added as they are (a digest's List-Unsubscribe)."""
    return _add(
        OutgoingMail(
            message_id=_new_message_id(), to_address=to, subject=subject, body=body, language=language,
            headers=json.dumps(headers) if headers else None,
        )
    )


def defer_mail(name: str, to: str, payload: dict | None = None) -> OutgoingMail:
    """Queue an e-mail that the composer `name` writes after the response (the caller
    commits). The request does the same work whatever the composer will decide."""
    if name not in _COMPOSERS:
        raise KeyError(f"no mail composer named {name!r}")
    return _add(
        OutgoingMail(
            message_id=_new_message_id(), to_address=to, deferred=name,
            payload=json.dumps(payload or {}),
        )
    )


def public_url(endpoint: str, **values) -> str:
    """An absolute URL for an e-mail, on the configured PUBLIC_URL whatever the request's
    Host header said (and outside any request: in the worker, in a command)."""
    app = current_app
    base = urlsplit(app.config["PUBLIC_URL"])
    adapter = app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def check_public_url(app: Flask) -> None:
    """Refuse to start without a usable PUBLIC_URL outside debug and tests, and trust only
    its host (plus the loopback names when it is itself a loopback address, `make run`)."""
    url = app.config.get("PUBLIC_URL")
    if not url:
        if not (app.debug or app.testing):
            raise RuntimeError(
                "PUBLIC_URL is not set. Set it to the address members use, e.g. "
                "PUBLIC_URL=https://1mile.example (docs/deploy.md, section 4): e-mailed links "
                "are built from it, never from the request's Host header."
            )
        url = app.config["PUBLIC_URL"] = "http://localhost:5000"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuntimeError(f"PUBLIC_URL must be an http(s) address such as https://1mile.example, not {url!r}")
    if app.config.get("TRUSTED_HOSTS") is None:
        hosts = [parts.hostname]
        if parts.hostname in _LOOPBACK:
            hosts += sorted(_LOOPBACK - {parts.hostname})
        app.config["TRUSTED_HOSTS"] = hosts


_LOOPBACK = frozenset({"localhost", "127.0.0.1"})


def init_app(app: Flask) -> None:
    """Check PUBLIC_URL, wake the delivery after commits that queued mail, add `flask mail`."""
    check_public_url(app)
    delivery.init_app(app)
    cli.register(app)


# Last: both use what this module defines above (MAIL_ADDED, composer_for).
from . import cli, delivery

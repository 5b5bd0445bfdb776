"""Throttling password guesses, per account and per account-and-address pair.

Three Flask-Limiter limits guard POST /auth/login (see auth.routes.login):

- per address: one address cannot hammer the form, whatever the accounts;
- per account, from anywhere (LOGIN_ACCOUNT_LIMIT): an attacker spread over many
  addresses cannot guess one member's password at scale;
- per account and address pair (LOGIN_PAIR_LIMIT): the back-off one address gets for one
  account, short, so a member mistyping waits minutes, and not because of anyone else.

Every attempt counts, and is counted before the password is checked, in one atomic step
of the limiter's storage: counting only failures after the answer (`deduct_when`) let a
burst of parallel guesses through between the check and the count (17 of 30 answered in
tests/test_login_throttle.py). A member's own successful logins are few, so counting them
costs nothing. A throttled login is refused without a hash check, the same for known and
unknown addresses: the key is the typed address, whether or not a member uses it.

So that an attacker cannot lock the owner out, a browser where the account logged in
before carries a signed "known device" cookie (OWASP's device cookies): it is exempt from
the per-account limit and has a pair limit of its own (the device instead of the address).
From a new device, during an attack, the owner asks for a sign-in link by e-mail. Counts
live in the limiter's storage (Redis when REDIS_URL is set): shared by every worker and
machine, and gone by themselves when their window is over.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .services import normalise_email

DEVICE_COOKIE = "known_device"
_DEVICE_MAX_AGE = 365 * 24 * 3600
_DEVICE_SALT = "known-device"


def _account(email: str) -> str:
    """A keyed digest of the typed address: limiter keys and cookies never hold the address."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def _typed_account() -> str:
    return _account(request.form.get("email", ""))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _known_device_id() -> str | None:
    """The id of this browser when it logged in to the typed account before, else None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        payload = _serializer().loads(cookie, max_age=_DEVICE_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("a") != _typed_account():
        return None
    device = payload.get("d")
    return device if isinstance(device, str) else None


def account_limit() -> str:
    """The per-account limit (a Flask-Limiter limit string from the settings)."""
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def pair_limit() -> str:
    """The per account-and-address limit (a Flask-Limiter limit string from the settings)."""
    return current_app.config["LOGIN_PAIR_LIMIT"]


def account_key() -> str:
    """Limiter key of the per-account limit: the typed account."""
    return f"login-account:{_typed_account()}"


def pair_key() -> str:
    """Limiter key of the pair limit: the typed account and this address, or this known
    device (so that others behind the owner's address do not slow the owner down)."""
    device = _known_device_id()
    where = f"device:{device}" if device else get_remote_address()
    return f"login-pair:{_typed_account()}:{where}"


def is_known_device() -> bool:
    """Exempts a browser where the typed account logged in before from the account limit."""
    return _known_device_id() is not None


def remember_device(response, email: str) -> None:
    """After a successful login, mark this browser as a known device of the account."""
    value = _serializer().dumps({"a": _account(email), "d": secrets.token_urlsafe(12)})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=_DEVICE_MAX_AGE,
        path="/auth/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )

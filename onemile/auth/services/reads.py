"""Who is who: e-mail addresses, passwords, tokens and their checks, never writing."""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ... import places
from ...extensions import db
from ...geo import LatLon
from ...models import Member

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "motdepasse", "azertyuiop", "qwertyuiop",
        "1234567890", "123456789", "12345678910", "0123456789", "iloveyou12", "azerty1234",
        "qwerty1234", "abcdefghij", "aaaaaaaaaa", "1mile1mile", "onemile123", "soleil1234",
    }
)
_RESET_SALT = "password-reset"
_VERIFY_SALT = "email-verification"


class SignupError(ValueError):
    """A sign-up that cannot go through; `field` names the form field to blame."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class UnknownPostalCode(SignupError):
    """The offline data does not know the code: the member must pick a point."""


@dataclass(frozen=True)
class SignupData:
    """What the sign-up form collected, already validated for shape."""

    email: str
    password: str
    first_name: str
    last_name: str
    postal_code: str
    country: str
    kind: str
    organisation_name: str | None
    language: str
    picked_point: LatLon | None = None
    referral_code: str | None = None
    # A town or neighbourhood picked by name (place_names): public data, like a postal code.
    place_point: LatLon | None = None
    place_name: str = ""


def normalise_email(email: str) -> str:
    """E-mail addresses are unique whatever their case."""
    return email.strip().lower()


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return _("This password is too easy to guess.")
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        return _("Do not build your password from your e-mail address.")
    return None


def hash_password(password: str) -> str:
    """A salted hash with a memory-hard KDF (scrypt unless PASSWORD_HASH_METHOD says
    otherwise; tests lower its cost to stay fast)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_member_by_email(email: str) -> Member | None:
    """The member using this address (any case), or None."""
    return db.session.scalar(select(Member).where(Member.email == normalise_email(email)))


def email_taken(email: str) -> bool:
    """True when a member already uses this address (any case)."""
    return db.session.scalar(
        select(func.count()).select_from(Member).where(Member.email == normalise_email(email))
    ) > 0


def _first_mile(data: SignupData) -> tuple[LatLon, str]:
    """Where the first mile goes and its name: the town or neighbourhood picked by name, the
    postal code's place, or the point the member picked when the offline data knows neither."""
    place = places.locate(data.country, data.postal_code) if data.postal_code.strip() else None
    if data.place_point is not None:
        center, mile_name = data.place_point, data.place_name
    elif place is not None:
        center, mile_name = LatLon(place.latitude, place.longitude), place.label
    elif data.picked_point is not None:
        center, mile_name = data.picked_point, data.postal_code.strip().upper()
    else:
        raise UnknownPostalCode(
            "postal_code",
            _("We do not know this postal code. Type the name of your town, pick your place on the map or use your location."),
        )
    return center, mile_name or str(_l("My mile"))


def _check_signup(data: SignupData) -> tuple[LatLon, str]:
    """Everything a sign-up form can be refused for, whoever uses the address."""
    problem = password_problem(data.password, data.email)
    if problem:
        raise SignupError("password", problem)
    return _first_mile(data)


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash no password matches, made with the same KDF and cost as members' hashes."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def authenticate(email: str, password: str) -> Member | None:
    """The member with these credentials, or None.

    An unknown address costs the same hash check as a known one, so the time of the
    answer does not tell who has an account.
    """
    member = find_member_by_email(email)
    if member is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    return member if check_password_hash(member.password_hash, password) else None


def password_matches(member: Member, password: str) -> bool:
    """True when `password` is the member's current password."""
    return check_password_hash(member.password_hash, password or "")


def _serializer(salt: str = _RESET_SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def reset_token(member: Member) -> str:
    """A signed, expiring token; it dies as soon as the password changes."""
    return _serializer().dumps({"id": member.id, "fp": member.credential_fingerprint})


def member_for_reset_token(token: str) -> Member | None:
    """The member a valid, unused, unexpired token belongs to."""
    try:
        payload = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return None
    member = db.session.get(Member, payload["id"])
    if member is None or not hmac.compare_digest(member.credential_fingerprint, str(payload.get("fp"))):
        return None
    return member


# --- E-mail verification -------------------------------------------------------------------


def verification_token(member: Member) -> str:
    """A signed, expiring token for the member's current address.

    Single use: once the address is verified the token is refused, and it dies when the
    address changes (the address is inside, checked on use).
    """
    return _serializer(_VERIFY_SALT).dumps({"id": member.id, "email": member.email})


# --- Sign-in links by e-mail ---------------------------------------------------------------

_SIGN_IN_SALT = "sign-in-link"


def sign_in_token(member: Member) -> str:
    """A signed, short-lived token that logs the member in once.

    It carries the member's sign-in link serial (bumped when a link is used, so each link
    works once) and credential fingerprint (a password change kills it).
    """
    return _serializer(_SIGN_IN_SALT).dumps(
        {"id": member.id, "fp": member.credential_fingerprint, "n": member.sign_in_link_serial}
    )


def member_for_sign_in_token(token: str) -> tuple[Member, int] | None:
    """The member a valid, unexpired, unused sign-in token belongs to, with the serial it
    carries; None when it is bad, expired, used, or the member may not log in."""
    try:
        payload = _serializer(_SIGN_IN_SALT).loads(token, max_age=current_app.config["SIGN_IN_LINK_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return None
    serial = payload.get("n")
    member = db.session.get(Member, payload["id"])
    if member is None or member.is_suspended or member.is_deleted or serial != member.sign_in_link_serial:
        return None
    if not hmac.compare_digest(member.credential_fingerprint, str(payload.get("fp"))):
        return None
    return member, serial

"""Account rules: registration, authentication and password resets."""

from __future__ import annotations

import functools
import hmac
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .. import places
from ..extensions import db
from ..geo import LatLon
from ..mail import Draft, composer, defer_mail, public_url, send_mail
from ..miles import services as mile_services
from ..models import Member, utcnow
from ..smiles import services as smile_services
from ..unit_of_work import savepoint

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
    """Where the first mile goes and its name: the postal code's place, or the point the
    member picked when the offline data does not know the code."""
    place = places.locate(data.country, data.postal_code)
    if place is not None:
        center, mile_name = LatLon(place.latitude, place.longitude), place.label
    elif data.picked_point is not None:
        center, mile_name = data.picked_point, data.postal_code.strip().upper()
    else:
        raise UnknownPostalCode(
            "postal_code",
            _("We do not know this postal code. Pick your place on the map or use your location."),
        )
    return center, mile_name or str(_l("My mile"))


def _check_signup(data: SignupData) -> tuple[LatLon, str]:
    """Everything a sign-up form can be refused for, whoever uses the address."""
    problem = password_problem(data.password, data.email)
    if problem:
        raise SignupError("password", problem)
    return _first_mile(data)


def _add_member(data: SignupData, password_hash: str, center: LatLon, mile_name: str) -> Member:
    """Add the member, their first mile and the sign-up bonus to the session (flushed, not
    committed: the caller's transaction decides)."""
    organisation_name = None
    if data.kind != "person":
        organisation_name = (data.organisation_name or "").strip() or None
    member = Member(
        email=normalise_email(data.email),
        password_hash=password_hash,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        postal_code=data.postal_code.strip().upper(),
        country=data.country,
        kind=data.kind,
        organisation_name=organisation_name,
        language=data.language,
    )
    referrer = smile_services.referrer_for_code(data.referral_code)
    if referrer is not None:
        member.referred_by_id = referrer.id
    db.session.add(member)
    db.session.flush()
    mile_services.add_mile(member, mile_name, center, commit=False)
    # The referral bonus waits for the e-mail verification (verify_email): a throwaway
    # address must not earn the referrer anything.
    smile_services.grant_signup_bonus(member)
    return member


def register(data: SignupData, password_hash: str | None = None) -> Member:
    """Create the member and their first mile in one transaction, at once (demo data and
    tests; the sign-up form goes through request_signup, which tells nobody whether the
    address was taken).

    `password_hash` may carry a hash of data.password computed once for many members.
    """
    center, mile_name = _check_signup(data)
    if email_taken(data.email):
        raise SignupError("email", _("An account already uses this e-mail address."))
    try:
        with savepoint():
            member = _add_member(data, password_hash or hash_password(data.password), center, mile_name)
    except IntegrityError:
        # Two sign-ups with the same address at once: the unique index decides.
        raise SignupError("email", _("An account already uses this e-mail address.")) from None
    return member


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash no password matches, made with the same KDF and cost as members' hashes."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def request_signup(data: SignupData) -> None:
    """Take a sign-up form: the same work, the same answer and the same time whether or not
    the address already has an account.

    The request checks what does not depend on the address, hashes the password (the slow
    part) and queues one deferred e-mail; after the response the mail worker either creates
    the account and sends its verification link, or tells the address's owner that someone
    tried to sign up with it (_compose_signup).
    """
    center, mile_name = _check_signup(data)
    payload = {
        "password_hash": hash_password(data.password),
        "first_name": data.first_name, "last_name": data.last_name,
        "postal_code": data.postal_code, "country": data.country, "kind": data.kind,
        "organisation_name": data.organisation_name, "language": data.language,
        "referral_code": data.referral_code,
        "center": [center.lat, center.lon], "mile_name": mile_name,
    }
    defer_mail("signup", normalise_email(data.email), payload)
    db.session.flush()


@composer("signup")
def _compose_signup(address: str, payload: dict) -> Draft:
    """In the worker: the account and its verification link, or, when the address is taken
    (by now), a word to its owner."""
    owner = find_member_by_email(address)
    if owner is not None:
        with force_locale(owner.language):
            return Draft(
                owner.email,
                _("Someone tried to sign up to 1Mile with your address"),
                _(
                    "Hello %(name)s,\n\nSomeone tried to create a 1Mile account with this e-mail "
                    "address, which already has one: yours. If it was you, log in:\n\n%(login)s\n\n"
                    "Forgot your password? Choose a new one:\n\n%(reset)s\n\n"
                    "If it was not you, ignore this message: nothing changed on your account.\n\n1Mile",
                    name=owner.first_name,
                    login=public_url("auth.login"),
                    reset=public_url("auth.reset_request"),
                ),
                owner.language,
            )
    data = SignupData(
        email=address, password="", first_name=payload["first_name"], last_name=payload["last_name"],
        postal_code=payload["postal_code"], country=payload["country"], kind=payload["kind"],
        organisation_name=payload["organisation_name"], language=payload["language"],
        referral_code=payload["referral_code"],
    )
    member = _add_member(data, payload["password_hash"], LatLon(*payload["center"]), payload["mile_name"])
    return verification_draft(member)


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


def request_password_reset(email: str) -> None:
    """Take a reset request: one deferred e-mail, whatever the address; the worker writes it
    only if a member uses the address (_compose_reset), after the response."""
    defer_mail("password_reset", normalise_email(email))
    db.session.flush()


@composer("password_reset")
def _compose_reset(address: str, _payload: dict) -> Draft | None:
    member = find_member_by_email(address)
    if member is None:
        return None
    link = public_url("auth.reset_password", token=reset_token(member))
    # In the member's language, not the language of whoever typed the address.
    with force_locale(member.language):
        return Draft(
            member.email,
            _("Reset your 1Mile password"),
            _(
                "Hello %(name)s,\n\nSomeone asked to reset the password of your 1Mile account. "
                "If it was you, open this link within an hour:\n\n%(link)s\n\n"
                "If it was not you, ignore this message: your password stays the same.\n\n1Mile",
                name=member.first_name,
                link=link,
            ),
            member.language,
        )


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


def set_password(member: Member, password: str) -> None:
    """Replace the member's password."""
    member.password_hash = hash_password(password)
    db.session.flush()


# --- E-mail verification -------------------------------------------------------------------


def verification_token(member: Member) -> str:
    """A signed, expiring token for the member's current address.

    Single use: once the address is verified the token is refused, and it dies when the
    address changes (the address is inside, checked on use).
    """
    return _serializer(_VERIFY_SALT).dumps({"id": member.id, "email": member.email})


def verification_draft(member: Member) -> Draft:
    """The e-mail whose link proves the member reads this address (and, after sign-up,
    finishes it: the link logs them in)."""
    with force_locale(member.language):
        return Draft(
            member.email,
            _("Confirm your 1Mile e-mail address"),
            _(
                "Hello %(name)s,\n\nWelcome to 1Mile! Open this link within three days to confirm "
                "your e-mail address; then you can post, answer and message your neighbours:\n\n"
                "%(link)s\n\nIf you did not sign up, ignore this message.\n\n1Mile",
                name=member.first_name,
                link=public_url("auth.verify_email", token=verification_token(member)),
            ),
            member.language,
        )


def send_verification(member: Member) -> None:
    """E-mail the member the verification link again."""
    draft = verification_draft(member)
    send_mail(draft.to, draft.subject, draft.body, draft.language)
    db.session.flush()


def verify_email(token: str) -> Member | None:
    """Mark the address of a valid, unexpired, unused token as verified, and pay the
    referral bonus it was waiting for. None when the token is bad, expired or used."""
    try:
        payload = _serializer(_VERIFY_SALT).loads(token, max_age=current_app.config["EMAIL_VERIFY_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return None
    member = db.session.get(Member, payload["id"])
    if member is None or member.is_deleted or member.is_verified:
        return None
    if not hmac.compare_digest(member.email, str(payload.get("email"))):
        return None
    mark_verified(member)
    return member


def mark_verified(member: Member) -> None:
    """Record the verification and pay the referrer (idempotent: the bonus key is per
    new member, so a second call pays nothing more)."""
    member.email_verified_at = member.email_verified_at or utcnow()
    smile_services.grant_referral_bonus(member)
    db.session.flush()


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


def send_sign_in_link(email: str) -> None:
    """Queue a sign-in link for the address; say nothing either way (the caller answers
    alike). The request writes one deferred e-mail whatever the address, so its time does
    not tell who has an account; the mail worker decides (_compose_sign_in_link)."""
    defer_mail("sign_in_link", normalise_email(email))
    db.session.flush()


@composer("sign_in_link")
def _compose_sign_in_link(address: str, payload: dict) -> Draft | None:
    """In the worker: the link, for a member who may log in; nothing for anyone else."""
    member = find_member_by_email(address)
    if member is None or member.is_suspended or member.is_deleted:
        return None
    with force_locale(member.language):
        return Draft(
            member.email,
            _("Your 1Mile sign-in link"),
            _(
                "Hello %(name)s,\n\nSomeone asked for a link to log in to your 1Mile account "
                "without the password. If it was you, open this link within %(minutes)d minutes "
                "(it works once):\n\n%(link)s\n\nIf it was not you, ignore this message: nobody can "
                "log in without it, and your password stays the same.\n\n1Mile",
                name=member.first_name,
                minutes=current_app.config["SIGN_IN_LINK_MAX_AGE"] // 60,
                link=public_url("auth.sign_in", token=sign_in_token(member)),
            ),
            member.language,
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


def sign_in_with_link(token: str) -> Member | None:
    """Use a sign-in token: the member it logs in, or None. Single use: the serial moves
    on in one conditional UPDATE, so two requests racing with one link cannot both win."""
    found = member_for_sign_in_token(token)
    if found is None:
        return None
    member, serial = found
    used = db.session.execute(
        update(Member)
        .where(Member.id == member.id, Member.sign_in_link_serial == serial)
        .values(sign_in_link_serial=serial + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    if used != 1:
        return None
    db.session.refresh(member)
    return member

"""Account actions: sign up, reset a password, verify an address, sign in by link, and the e-mails they send. They add and flush; the edge commits."""

from __future__ import annotations

import hmac

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...geo import LatLon
from ...mail import Draft, composer, defer_mail, public_url, send_mail
from ...miles import services as mile_services
from ...models import Member, MemberKind, utcnow
from ...smiles import services as smile_services
from ...unit_of_work import savepoint
from .reads import (
    _VERIFY_SALT,
    SignupData,
    SignupError,
    _check_signup,
    _serializer,
    email_taken,
    find_member_by_email,
    hash_password,
    member_for_sign_in_token,
    normalise_email,
    reset_token,
    sign_in_token,
    verification_token,
)


def _add_member(data: SignupData, password_hash: str, center: LatLon, mile_name: str) -> Member:
    """Add the member, their first mile and the sign-up bonus to the session (flushed, not
    committed: the caller's transaction decides)."""
    organisation_name = None
    if data.kind != MemberKind.PERSON:
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


def set_password(member: Member, password: str) -> None:
    """Replace the member's password."""
    member.password_hash = hash_password(password)
    db.session.flush()


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

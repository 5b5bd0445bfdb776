"""Organisations: the public page, the registration number a moderator verifies, and the
managers who act on the organisation's behalf (invited by e-mail, removed at once).

Who may do what (each checked here, with the ids the routes pass in):
- only the organisation's own account enters its number, invites, cancels invitations and
  removes managers; a manager acting as the organisation cannot (the account is the owner,
  managers are helpers: they cannot add helpers or push the owner out);
- a manager may leave; only the invited address's member may accept an invitation;
- only moderators verify, and each verification goes to the moderation log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..mail import Draft, composer, defer_mail, public_url
from ..models import (
    Listing,
    Mag,
    Member,
    OrganisationInvitation,
    OrganisationManager,
    Project,
    utcnow,
)
from ..models.protection import blocked_between, listed_for
from ..moderation.services import log_action
from ..unit_of_work import insert_once

# Managers and pending invitations together, per organisation.
MAX_MANAGERS = 10
INVITATION_DAYS = 7
_INVITATION_SALT = "organisation-invitation"
_SIRET = re.compile(r"\d{14}")
_RNA = re.compile(r"W\d{9}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# --- Registration number ---------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every SIRET satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def clean_registration(number: str) -> str | None:
    """A SIRET (14 digits, Luhn) or an RNA number (W + 9 digits), spaces removed; None for
    an empty field; RuleError otherwise."""
    compact = re.sub(r"[\s.\-]", "", number or "").upper()
    if not compact:
        return None
    if _SIRET.fullmatch(compact):
        if not luhn_valid(compact):
            raise RuleError(_("This SIRET number is not valid: check its 14 digits."), "registration_number")
        return compact
    if _RNA.fullmatch(compact):
        return compact
    raise RuleError(
        _("Enter a SIRET number (14 digits) or an RNA number (W followed by 9 digits)."), "registration_number"
    )


def _require_organisation(member: Member) -> None:
    if not member.is_organisation:
        raise NotFoundError("organisation")


def set_registration(organisation: Member, number: str) -> Member:
    """The organisation enters or changes its number; a change needs a new verification."""
    _require_organisation(organisation)
    cleaned = clean_registration(number)
    if cleaned != organisation.registration_number:
        organisation.registration_number = cleaned
        organisation.registration_verified_at = None
    db.session.flush()
    return organisation


def set_verified(moderator: Member, organisation_id: int, verified: bool, reason: str | None = None) -> Member:
    """A moderator marks the organisation's number as checked (or withdraws it); logged."""
    if not moderator.is_moderator:
        raise NotFoundError("organisation")
    organisation = db.session.get(Member, organisation_id)
    if organisation is None or not organisation.is_organisation or organisation.is_deleted:
        raise NotFoundError("organisation")
    if verified and not organisation.registration_number:
        raise RuleError(_("This organisation has not entered a SIRET or RNA number."))
    organisation.registration_verified_at = utcnow() if verified else None
    log_action(moderator, "verify" if verified else "unverify", "member", organisation.id,
               reason or organisation.registration_number)
    db.session.flush()
    return organisation


# --- The public page -------------------------------------------------------------------------


def _viewer_id(viewer) -> int | None:
    return viewer.id if viewer is not None and getattr(viewer, "is_authenticated", False) else None


def visible_organisation(viewer, organisation_id: int) -> Member:
    """An organisation whose page the viewer may open: not a person, not deleted, not
    suspended, no block either way (moderators too: a suspended organisation has no page)."""
    organisation = db.session.get(Member, organisation_id)
    viewer_id = _viewer_id(viewer)
    if (
        organisation is None
        or not organisation.is_organisation
        or organisation.is_deleted
        or organisation.is_suspended
        or (viewer_id is not None and viewer_id != organisation.id and blocked_between(viewer_id, organisation.id))
    ):
        raise NotFoundError("organisation")
    return organisation


@dataclass(frozen=True)
class OrganisationPage:
    """What an organisation's page gathers, through the trust rule."""

    organisation: Member
    mags: list[Mag]
    projects: list[Project]
    offers: list[Listing]


def organisation_page(viewer, organisation_id: int) -> OrganisationPage:
    """The organisation with its mags, approved projects and open offers that the viewer
    may find in lists (listed_for: hidden, blocked or unpublished ones stay out)."""
    organisation = visible_organisation(viewer, organisation_id)
    viewer_id = _viewer_id(viewer)
    mags = db.session.scalars(
        select(Mag).where(Mag.owner_id == organisation.id, listed_for(viewer_id, Mag)).order_by(Mag.id.desc())
    ).all()
    projects = db.session.scalars(
        select(Project).where(Project.owner_id == organisation.id, listed_for(viewer_id, Project))
        .order_by(Project.id.desc())
    ).all()
    offers = db.session.scalars(
        select(Listing).where(Listing.author_id == organisation.id, Listing.kind == "offer",
                              listed_for(viewer_id, Listing))
        .order_by(Listing.created_at.desc())
    ).all()
    return OrganisationPage(organisation, list(mags), list(projects), list(offers))


# --- Managers ----------------------------------------------------------------------------------


def is_manager(member_id: int, organisation_id: int) -> bool:
    """True while `member_id` manages the organisation."""
    return db.session.scalar(
        select(OrganisationManager.id).where(
            OrganisationManager.organisation_id == organisation_id, OrganisationManager.manager_id == member_id
        )
    ) is not None


def managed_by(member: Member) -> list[Member]:
    """The organisations `member` manages and may act for (not suspended, not deleted)."""
    return list(
        db.session.scalars(
            select(Member)
            .join(OrganisationManager, OrganisationManager.organisation_id == Member.id)
            .where(OrganisationManager.manager_id == member.id, Member.suspended_at.is_(None),
                   Member.deleted_at.is_(None))
            .order_by(Member.organisation_name)
        )
    )


def managers_of(organisation: Member) -> list[OrganisationManager]:
    """The organisation's managers, oldest first."""
    return list(
        db.session.scalars(
            select(OrganisationManager).where(OrganisationManager.organisation_id == organisation.id)
            .order_by(OrganisationManager.id)
        )
    )


def pending_invitations(organisation: Member) -> list[OrganisationInvitation]:
    """Invitations not accepted yet (expired ones included: the organisation cancels them)."""
    return list(
        db.session.scalars(
            select(OrganisationInvitation).where(
                OrganisationInvitation.organisation_id == organisation.id, OrganisationInvitation.accepted_at.is_(None)
            ).order_by(OrganisationInvitation.id)
        )
    )


def _seats_taken(organisation: Member) -> int:
    managers = db.session.scalar(
        select(func.count()).select_from(OrganisationManager).where(OrganisationManager.organisation_id == organisation.id)
    )
    return managers + len(pending_invitations(organisation))


def invite(organisation: Member, email: str) -> OrganisationInvitation:
    """The organisation's own account invites an address to manage it. The e-mail is
    written after the response (it must not tell the organisation whether the address has
    an account); a second invitation to the same address replaces the pending one."""
    _require_organisation(organisation)
    address = (email or "").strip().lower()
    if not _EMAIL.fullmatch(address) or len(address) > 254:
        raise RuleError(_("Enter a valid e-mail address."), "email")
    if address == organisation.email:
        raise RuleError(_("This is the organisation's own address."), "email")
    for invitation in pending_invitations(organisation):
        if invitation.email == address:
            db.session.delete(invitation)
    db.session.flush()
    if _seats_taken(organisation) >= MAX_MANAGERS:
        raise RuleError(_("An organisation has at most %(n)d managers and invitations.", n=MAX_MANAGERS), "email")
    invitation = OrganisationInvitation(organisation_id=organisation.id, email=address)
    db.session.add(invitation)
    db.session.flush()
    defer_mail("organisation_invitation", address, {"invitation_id": invitation.id})
    return invitation


def cancel_invitation(organisation: Member, invitation_id: int) -> None:
    """The organisation withdraws a pending invitation: its link stops working."""
    invitation = db.session.get(OrganisationInvitation, invitation_id)
    if invitation is None or invitation.organisation_id != organisation.id or invitation.accepted_at is not None:
        raise NotFoundError("invitation")
    db.session.delete(invitation)
    db.session.flush()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_INVITATION_SALT)


def invitation_token(invitation: OrganisationInvitation) -> str:
    """The signed link key: the invitation and its address (a copy for another address fails)."""
    return _serializer().dumps([invitation.id, invitation.email])


def invitation_for(token: str) -> OrganisationInvitation:
    """The pending invitation behind a link; RuleError when the link expired, NotFoundError
    when it is forged, cancelled or used."""
    try:
        invitation_id, email = _serializer().loads(token, max_age=INVITATION_DAYS * 86400)
    except SignatureExpired as error:
        raise RuleError(_("This invitation has expired: ask the organisation for a new one.")) from error
    except (BadSignature, ValueError, TypeError) as error:
        raise NotFoundError("invitation") from error
    invitation = db.session.get(OrganisationInvitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None or invitation.email != email or invitation.accepted_at is not None:
        raise NotFoundError("invitation")
    organisation = invitation.organisation
    if organisation.is_deleted or organisation.is_suspended:
        raise NotFoundError("invitation")
    return invitation


def accept(member: Member, token: str) -> OrganisationManager:
    """The invited member accepts: they become a manager (once, whatever the repeats)."""
    invitation = invitation_for(token)
    if member.email != invitation.email:
        raise RuleError(_("This invitation was sent to another e-mail address: log in with that one."))
    if member.id == invitation.organisation_id or member.is_organisation:
        raise RuleError(_("Only a person can manage an organisation."))
    invitation.accepted_at = utcnow()
    organisation_id = invitation.organisation_id
    manager, _created = insert_once(
        lambda: db.session.scalar(select(OrganisationManager).where(
            OrganisationManager.organisation_id == organisation_id, OrganisationManager.manager_id == member.id)),
        lambda: OrganisationManager(organisation_id=organisation_id, manager_id=member.id),
    )
    db.session.flush()
    return manager


def remove_manager(actor: Member, organisation_id: int, manager_id: int) -> None:
    """The organisation removes a manager, or a manager leaves (actor == the manager).
    Nobody else may: a manager cannot remove another manager, nor the organisation."""
    if actor.id not in (organisation_id, manager_id):
        raise NotFoundError("manager")
    row = db.session.scalar(select(OrganisationManager).where(
        OrganisationManager.organisation_id == organisation_id, OrganisationManager.manager_id == manager_id))
    if row is None:
        raise NotFoundError("manager")
    db.session.delete(row)
    db.session.flush()


@composer("organisation_invitation")
def _compose_invitation(address: str, payload: dict) -> Draft | None:
    """In the worker: the invitation with its signed link, in the invited member's language
    when the address has an account, else the organisation's."""
    invitation = db.session.get(OrganisationInvitation, payload.get("invitation_id"))
    if invitation is None or invitation.accepted_at is not None:
        return None  # cancelled before the worker ran
    organisation = invitation.organisation
    invited = db.session.scalar(select(Member).where(Member.email == address, Member.deleted_at.is_(None)))
    language = invited.language if invited is not None else organisation.language
    link = public_url("organisations.join", token=invitation_token(invitation))
    with force_locale(language):
        return Draft(
            address,
            _("%(name)s invites you to manage its page on 1Mile", name=organisation.display_name),
            _(
                "Hello,\n\n%(name)s invites you to act on its behalf on 1Mile: post its ads, write in "
                "its mag, run its projects and answer its conversations, with your own account.\n\n"
                "Accept within %(days)d days (log in, or join 1Mile with this address first):\n\n%(link)s\n\n"
                "If you do not know this organisation, ignore this message.\n\n1Mile",
                name=organisation.display_name, days=INVITATION_DAYS, link=link,
            ),
            language,
        )

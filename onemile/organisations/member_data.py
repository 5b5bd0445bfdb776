"""Managers and invitations in the data download and in an account deletion."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import (
    Article,
    Listing,
    Mag,
    Member,
    Message,
    OrganisationInvitation,
    OrganisationManager,
    Project,
    ProjectUpdate,
)


def export(member: Member, export: dict) -> None:
    """The organisations the member manages; for an organisation, its number, managers and
    invitations; invitations sent to the member's address."""
    managed = db.session.scalars(select(OrganisationManager).where(OrganisationManager.manager_id == member.id))
    export["organisations_managed"] = [
        {"organisation": row.organisation.display_name, "since": export_time(row.created_at)} for row in managed
    ]
    export["organisation_invitations_received"] = [
        {"organisation": row.organisation.display_name, "sent_at": export_time(row.created_at),
         "accepted_at": export_time(row.accepted_at)}
        for row in db.session.scalars(select(OrganisationInvitation).where(OrganisationInvitation.email == member.email))
    ]
    if member.is_organisation:
        export["organisation"] = {
            "registration_number": member.registration_number,
            "verified_at": export_time(member.registration_verified_at),
            "managers": [
                {"manager": row.manager.display_name, "since": export_time(row.created_at)}
                for row in db.session.scalars(select(OrganisationManager).where(
                    OrganisationManager.organisation_id == member.id))
            ],
            "invitations": [
                {"email": row.email, "sent_at": export_time(row.created_at), "accepted_at": export_time(row.accepted_at)}
                for row in db.session.scalars(select(OrganisationInvitation).where(
                    OrganisationInvitation.organisation_id == member.id))
            ],
        }


def forget(member: Member, after_commit: list) -> None:
    """A deleted account manages nothing and is managed by nobody; its invitations (sent or
    received at its address) go; its number goes with it."""
    db.session.execute(delete(OrganisationManager).where(
        or_(OrganisationManager.manager_id == member.id, OrganisationManager.organisation_id == member.id)))
    db.session.execute(delete(OrganisationInvitation).where(
        or_(OrganisationInvitation.organisation_id == member.id, OrganisationInvitation.email == member.email)))
    member.registration_number = None
    member.registration_verified_at = None
    # What they wrote for organisations stays theirs (the organisation's), unsigned.
    for model in (Listing, Mag, Article, Project, ProjectUpdate, Message):
        db.session.execute(
            update(model).where(model.acted_by_id == member.id).values(acted_by_id=None)
            .execution_options(synchronize_session=False)
        )


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

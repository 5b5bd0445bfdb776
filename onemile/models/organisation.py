"""Organisations (members of kind business or association): their managers and the
invitations their account sends."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..extensions import db
from ._time import utcnow

if TYPE_CHECKING:
    from .member import Member

ORGANISATION_KINDS = ("business", "association")


class ActedBy:
    """Mixin for what a manager may write on an organisation's behalf (ads, mags, articles,
    projects, news, messages): `acted_by_id` is the person who last wrote the row while
    acting as its organisation (organisations.acting stamps it), None when the account
    itself did. Shown to the organisation's managers and to moderators only."""

    @declared_attr
    def acted_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("member.id", ondelete="SET NULL"))

    @declared_attr
    def acted_by(cls) -> Mapped[Member | None]:
        return relationship("Member", foreign_keys=f"{cls.__name__}.acted_by_id")


class OrganisationManager(db.Model):
    """A member who acts on an organisation's behalf (never with its password): removed
    by the organisation or leaving, they lose access on their next request."""

    __tablename__ = "organisation_manager"
    __table_args__ = (UniqueConstraint("organisation_id", "manager_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Member] = relationship(foreign_keys=[organisation_id])
    manager: Mapped[Member] = relationship(foreign_keys=[manager_id])


class OrganisationInvitation(db.Model):
    """An e-mail invitation to manage an organisation. Its link is signed and expires; it
    works once (`accepted_at`), and only for the member with the invited address."""

    __tablename__ = "organisation_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]

    organisation: Mapped[Member] = relationship(foreign_keys=[organisation_id])

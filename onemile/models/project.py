"""Projects of general interest, and the three ways members support them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..geo import LatLon, point_latlon
from ._states import states
from ._time import utcnow
from .organisation import ActedBy
from .protection import Protected

if TYPE_CHECKING:
    from .member import Member

# pending -> approved | rejected; rejected -> pending (edited and resubmitted);
# approved -> completed | abandoned (closed by the owner).


ProjectStatus = states("ProjectStatus", "pending", "approved", "rejected", "completed", "abandoned")
VolunteerStatus = states("VolunteerStatus", "pending", "accepted", "declined")
PROJECT_STATUSES = tuple(ProjectStatus)
# Readable by everyone, visitors included; the others only by the owner and moderators.
PUBLIC_STATUSES = (ProjectStatus.APPROVED, ProjectStatus.COMPLETED, ProjectStatus.ABANDONED)
# Not yet public: the owner may still edit it (and a moderator decide).
UNPUBLISHED_STATUSES = (ProjectStatus.PENDING, ProjectStatus.REJECTED)
VOLUNTEER_STATUSES = tuple(VolunteerStatus)


class Project(ActedBy, Protected, db.Model):
    """A non-profit project of local or general interest, shown once a moderator approves it.

    Its point is where the project happens (a garden, a square), chosen freely on the map:
    it is a public place, not a member's home, so it is shown as is.
    """

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    point = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # Whole euros; None when the project asks for no money.
    money_target: Mapped[int | None]
    # Name of the re-encoded photo in the upload folder (onemile.images), if any.
    photo: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default=ProjectStatus.PENDING, index=True)
    # What the moderator told the proposer when rejecting; cleared on resubmission.
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    charter_accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]
    # Set when a moderator hides the project after a report: gone for everyone but the
    # moderators (its owner included, as for a hidden listing) until they unhide it.
    hidden_at: Mapped[datetime | None]

    owner: Mapped[Member] = relationship(foreign_keys=[owner_id])
    tasks: Mapped[list[ProjectTask]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectTask.id"
    )
    pledges: Mapped[list[Pledge]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Pledge.id"
    )
    updates: Mapped[list[ProjectUpdate]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectUpdate.id.desc()"
    )

    @property
    def latlon(self) -> LatLon:
        """Where the project happens."""
        return point_latlon(self.point)

    @property
    def is_public(self) -> bool:
        """Readable by everyone (approved, or closed after approval)."""
        return self.status in PUBLIC_STATUSES

    # Trust rule (models.protection): pages show the public statuses, lists only approved ones.
    @classmethod
    def public_clause(cls, now: datetime) -> ColumnElement[bool]:
        """Readable by everyone: approved, or closed after approval."""
        return cls.status.in_(PUBLIC_STATUSES)

    def is_public_at(self, now: datetime) -> bool:
        """Python twin of `public_clause`."""
        return self.is_public

    @classmethod
    def listed_clause(cls, now: datetime) -> ColumnElement[bool]:
        """In lists and on the map: approved projects only (closed ones leave them)."""
        return cls.status == ProjectStatus.APPROVED

    def is_listed_at(self, now: datetime) -> bool:
        """Python twin of `listed_clause`."""
        return self.status == ProjectStatus.APPROVED


class ProjectTask(db.Model):
    """Something the project needs done, and the skill it takes."""

    __tablename__ = "project_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    skill: Mapped[str] = mapped_column(String(80))

    project: Mapped[Project] = relationship(back_populates="tasks")
    volunteers: Mapped[list[Volunteer]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="Volunteer.id"
    )


class Pledge(db.Model):
    """A promise of money. No money goes through 1Mile: the owner and the pledger settle it
    between themselves, and the owner marks it received."""

    __tablename__ = "pledge"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_pledge_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    amount_cents: Mapped[int]
    message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    # "<member id>:<form key>": a double submit of the same form records one promise.
    submission_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    project: Mapped[Project] = relationship(back_populates="pledges")
    member: Mapped[Member] = relationship()


class Volunteer(db.Model):
    """A member offering their skill for a task; the owner accepts or declines."""

    __tablename__ = "volunteer"
    __table_args__ = (UniqueConstraint("task_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("project_task.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=VolunteerStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[ProjectTask] = relationship(back_populates="volunteers")
    member: Mapped[Member] = relationship()


class ProjectUpdate(ActedBy, db.Model):
    """News the owner posts; supporters are notified."""

    __tablename__ = "project_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a moderator hides this news after a report; the project itself stays.
    hidden_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship(back_populates="updates")

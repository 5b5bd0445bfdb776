"""A mile: a named centre with a radius of exactly one mile."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..geo import LatLon, point_latlon
from ._time import utcnow

if TYPE_CHECKING:
    from .member import Member

MAX_MILES = 5


class Mile(db.Model):
    """One of a member's 1 to 5 places. Its centre is private to the member."""

    __tablename__ = "mile"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    center = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship(back_populates="miles")

    @property
    def center_latlon(self) -> LatLon:
        """The centre as LatLon (private: only ever rendered for the owner)."""
        return point_latlon(self.center)

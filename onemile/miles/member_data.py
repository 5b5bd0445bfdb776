"""The member's miles in their data download and in an account deletion (exact centres are
the member's own, so they are exported, and deleted with the account)."""

from __future__ import annotations

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import Member


def export(member: Member, export: dict) -> None:
    """The member's miles, exact centres included."""
    export["miles"] = [
        {
            "id": mile.id,
            "name": mile.name,
            "latitude": mile.center_latlon.lat,
            "longitude": mile.center_latlon.lon,
            "is_primary": mile.is_primary,
            "created_at": export_time(mile.created_at),
        }
        for mile in member.miles
    ]


def forget(member: Member, after_commit: list) -> None:
    """Delete the member's miles (their listings went first: FEATURES order)."""
    for mile in list(member.miles):
        db.session.delete(mile)


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

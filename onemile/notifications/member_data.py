"""The member's notifications in their data download and in an account deletion."""

from __future__ import annotations

from sqlalchemy import delete

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import Member, Notification
from .services import export_of


def export(member: Member, export: dict) -> None:
    """Kind, times, and what the target type adds about each notification's object."""
    export["notifications"] = [
        {**line, "created_at": export_time(line["created_at"]), "read_at": export_time(line["read_at"])}
        for line in export_of(member.id)
    ]


def forget(member: Member, after_commit: list) -> None:
    """Delete the member's notifications."""
    db.session.execute(delete(Notification).where(Notification.member_id == member.id))


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

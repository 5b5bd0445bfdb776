"""The member's push devices in their data download and in an account deletion."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import delete

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import Member, PushSubscription
from .services import devices_of


def export(member: Member, export: dict) -> None:
    """When each device subscribed, and through which push service (not its keys)."""
    export["push_devices"] = [
        {"created_at": export_time(device.created_at), "push_service": urlsplit(device.endpoint).hostname}
        for device in devices_of(member.id)
    ]


def forget(member: Member, after_commit: list) -> None:
    """Push nothing more to the member's devices."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.member_id == member.id))


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

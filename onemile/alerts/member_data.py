"""The member's alert settings in their data download, and what an account deletion removes."""

from __future__ import annotations

from sqlalchemy import delete

from ..account.signals import connect_receivers
from ..extensions import db
from ..models import AdAlert, AlertPreference, Digest, Member
from .services import choices_of


def export(member: Member, export: dict) -> None:
    """Per mile and subject, how the member hears about new ads; the digest and quiet hours."""
    export["alerts"] = {
        "digest_frequency": member.digest_frequency,
        "quiet_hours": [member.quiet_start, member.quiet_end],
        "timezone": member.timezone,
        "miles": {
            str(mile_id): {subject: {"mode": choice.mode, "categories": sorted(choice.categories)}
                           for subject, choice in subjects.items()}
            for mile_id, subjects in choices_of(member).items()
        },
    }


def forget(member: Member, after_commit: list) -> None:
    """Delete the member's alert settings, waiting alerts and digest records."""
    for model in (AdAlert, AlertPreference, Digest):
        db.session.execute(delete(model).where(model.member_id == member.id))


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

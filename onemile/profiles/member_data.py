"""The member's profile and thank-you notes in their data download and in an account
deletion: the profile (and its photo) goes, and so do the notes they wrote and the notes
written about them (a note is about a person who is no longer there)."""

from __future__ import annotations

from sqlalchemy import delete, or_, select

from ..account.signals import connect_services, export_time
from ..extensions import db
from ..models import Member, Profile, ThanksNote


def _note(note: ThanksNote) -> dict:
    return {"id": note.id, "completion_id": note.completion_id, "body": note.body,
            "created_at": export_time(note.created_at)}


def export_part(member: Member) -> dict:
    """The profile, the notes the member wrote and the notes written about them."""
    profile = db.session.get(Profile, member.id)
    notes = list(db.session.scalars(
        select(ThanksNote)
        .where(or_(ThanksNote.author_id == member.id, ThanksNote.helper_id == member.id))
        .order_by(ThanksNote.id)
    ))
    return {
        "public_profile": None if profile is None else {
            "bio": profile.bio, "skills": profile.skills, "languages": profile.languages,
            "photo": profile.photo, "updated_at": export_time(profile.updated_at),
        },
        "thanks_written": [_note(note) for note in notes if note.author_id == member.id],
        "thanks_received": [_note(note) for note in notes if note.helper_id == member.id],
    }


def forget_part(member: Member) -> list[str]:
    """Delete the profile and the notes; return the photo to discard once committed."""
    profile = db.session.get(Profile, member.id)
    photos = [profile.photo] if profile is not None and profile.photo else []
    db.session.execute(
        delete(ThanksNote).where(or_(ThanksNote.author_id == member.id, ThanksNote.helper_id == member.id))
    )
    db.session.execute(delete(Profile).where(Profile.member_id == member.id))
    return photos


def connect() -> None:
    """Answer the account's signals."""
    connect_services(export_part, forget_part)

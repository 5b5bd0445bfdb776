"""Profiles: reading one through the trust rule, editing one's own, and the thank-you notes
written when confirming a service. Actions add and flush; the edge commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..images import delete_image
from ..models import (
    Completion,
    CompletionStatus,
    Listing,
    Mag,
    Member,
    Profile,
    Project,
    ThanksNote,
    utcnow,
)
from ..models.protection import can_see_member, listed_for, visible_to
from ..unit_of_work import after_commit, insert_once

BIO_MAX = 1000
SKILLS_MAX = 300
LANGUAGES_MAX = 200
THANKS_MAX = 500
SHOWN_MAX = 20  # notes, ads, mags and projects on a profile page


@dataclass(frozen=True)
class ProfilePage:
    """What a member sees of another member (or of themself)."""

    member: Member
    profile: Profile | None
    services_rendered: int
    services_received: int
    thanks: list[ThanksNote]
    listings: list[Listing]
    mags: list[Mag]
    projects: list[Project]

    @property
    def member_since(self) -> datetime:
        """When the member joined."""
        return self.member.created_at


def initials(member: Member) -> str:
    """One or two letters for the avatar of a member without a photo: first name and last
    name for people, the first two words of an organisation's name."""
    words = member.display_name.replace(".", " ").split()
    return "".join(word[0] for word in words[:2]).upper() or "?"


def visible_member(viewer, member_id: int) -> Member:
    """The member whose profile `viewer` may open; NotFoundError for visitors, a member who
    left or is suspended, and either side of a block."""
    member = db.session.get(Member, member_id)
    if not can_see_member(viewer, member):
        raise NotFoundError("member")
    return member


def profile_page(viewer, member_id: int) -> ProfilePage:
    """Everything the profile page shows, each list through the trust rule."""
    member = visible_member(viewer, member_id)
    now = utcnow()

    def services(column) -> int:
        return db.session.scalar(
            select(func.count()).select_from(Completion)
            .where(column == member.id, Completion.status == CompletionStatus.CONFIRMED)
        )

    def owned(model, owner_column, order):
        return list(db.session.scalars(
            select(model).where(owner_column == member.id, listed_for(viewer.id, model, now))
            .order_by(order.desc()).limit(SHOWN_MAX)
        ))

    thanks = list(db.session.scalars(
        select(ThanksNote)
        .where(ThanksNote.helper_id == member.id, visible_to(viewer, ThanksNote, now))
        .order_by(ThanksNote.id.desc()).limit(SHOWN_MAX)
    ))
    return ProfilePage(
        member=member,
        profile=db.session.get(Profile, member.id),
        services_rendered=services(Completion.helper_id),
        services_received=services(Completion.beneficiary_id),
        thanks=thanks,
        listings=owned(Listing, Listing.author_id, Listing.created_at),
        mags=owned(Mag, Mag.owner_id, Mag.id),
        projects=owned(Project, Project.owner_id, Project.id),
    )


def _clean(text: str | None, maximum: int, field: str) -> str | None:
    cleaned = (text or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(cleaned) > maximum:
        raise RuleError(_("Use at most %(n)d characters.", n=maximum), field)
    return cleaned or None


def own_profile(member: Member) -> Profile | None:
    """The member's own profile row, if they ever edited it."""
    return db.session.get(Profile, member.id)


def update_profile(
    member: Member, bio: str | None, skills: str | None, languages: str | None,
    photo: str | None = None, remove_photo: bool = False,
) -> Profile:
    """Save the member's bio, skills and languages; `photo` is a name from
    images.store_image (the old photo goes once the change is committed)."""
    fields = {
        "bio": _clean(bio, BIO_MAX, "bio"),
        "skills": _clean(skills, SKILLS_MAX, "skills"),
        "languages": _clean(languages, LANGUAGES_MAX, "languages"),
    }
    profile, _made = insert_once(lambda: db.session.get(Profile, member.id), lambda: Profile(member_id=member.id))
    for name, value in fields.items():
        setattr(profile, name, value)
    old_photo = profile.photo
    if photo is not None or remove_photo:
        profile.photo = photo
        if old_photo and old_photo != photo:
            after_commit(lambda: delete_image(old_photo))
    profile.updated_at = utcnow()
    db.session.flush()
    return profile


def clean_thanks(body: str | None) -> str | None:
    """A thank-you note as typed when confirming (optional), checked before anything moves."""
    return _clean(body, THANKS_MAX, "thanks")


def record_thanks(completion: Completion, body: str | None) -> ThanksNote | None:
    """Keep the note the beneficiary wrote when confirming (once per completion)."""
    if not body:
        return None
    note, _made = insert_once(
        lambda: db.session.scalar(select(ThanksNote).where(ThanksNote.completion_id == completion.id)),
        lambda: ThanksNote(
            completion_id=completion.id, author_id=completion.beneficiary_id, helper_id=completion.helper_id,
            body=body,
        ),
    )
    return note

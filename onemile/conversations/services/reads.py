"""Reading conversations and completions: only their two parties, never writing (reading marks nothing read)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from ... import live
from ...errors import NotFoundError, RuleError
from ...extensions import db
from ...models import (
    Completion,
    CompletionStatus,
    Conversation,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    Message,
    utcnow,
)
from ...models.protection import blocked_between
from ...smiles import services as smiles

MESSAGE_MAX = 2000
SERVICE_PRICE = 1  # 1 service = 1 smile


def _clean_body(body: str) -> str:
    # Browsers send a textarea's line breaks as CRLF but count them as one character for
    # maxlength: count them as the member saw them. PostgreSQL refuses NUL in text.
    cleaned = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not cleaned:
        raise RuleError(_("Write a message first."), "body")
    if len(cleaned) > MESSAGE_MAX:
        raise RuleError(_("Use at most %(n)d characters.", n=MESSAGE_MAX), "body")
    return cleaned


def _is_party(conversation: Conversation, member_id: int) -> bool:
    return member_id in (conversation.responder_id, conversation.listing.author_id)


def conversation_for(member: Member, conversation_id: int) -> Conversation:
    """A conversation the member takes part in; NotFoundError for anyone else."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or not _is_party(conversation, member.id):
        raise NotFoundError("conversation")
    return conversation


def my_conversation_about(member: Member, listing: Listing) -> Conversation | None:
    """The member's own conversation with the author of a listing, if any."""
    return db.session.scalar(
        select(Conversation).where(Conversation.listing_id == listing.id, Conversation.responder_id == member.id)
    )


def conversations_of_listing(author: Member, listing: Listing) -> list[Conversation]:
    """Every conversation under the author's own listing (one per responder)."""
    if listing.author_id != author.id:
        raise NotFoundError("listing")
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.listing_id == listing.id)
            .options(selectinload(Conversation.responder))
            .order_by(Conversation.last_message_at.desc())
        )
    )


def reply_refusal(member: Member, conversation: Conversation) -> str | None:
    """Why the member can no longer write in this conversation, or None when they can: the
    other side left 1Mile, or one of the two blocked the other."""
    other = db.session.get(Member, conversation.other_party_id(member.id))
    if other is None or other.is_deleted:
        return _("This member has left 1Mile: the conversation is closed.")
    if blocked_between(member.id, other.id):
        return _("You can no longer write in this conversation.")
    return None


def latest_message_id(conversation_id: int, *, member: Member | None = None) -> int:
    """Id of the newest message (0 when none): the cheap check behind live updates.

    With `member`, the same single query also checks that the member takes part in the
    conversation (NotFoundError otherwise), so that polling cannot tell an outsider whether
    a conversation exists or when it moves.
    """
    newest = (
        select(Message.id).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(1)
    )
    if member is None:
        return db.session.scalar(newest) or 0
    row = db.session.execute(
        select(newest.scalar_subquery())
        .select_from(Conversation)
        .join(Listing, Listing.id == Conversation.listing_id)
        .where(
            Conversation.id == conversation_id,
            or_(Conversation.responder_id == member.id, Listing.author_id == member.id),
        )
    ).first()
    if row is None:
        raise NotFoundError("conversation")
    return row[0] or 0


def newest_for_poll(member: Member, conversation_id: int) -> int:
    """latest_message_id for a poller, answered by Redis when it knows (no database query),
    else by the database, which also checks membership (NotFoundError for anyone else)."""
    known = live.latest_message_id(conversation_id, member.id)
    if known is not None:
        return known
    latest = latest_message_id(conversation_id, member=member)
    live.remember_latest_message_id(conversation_id, member.id, latest)
    return latest


def unread_counts(member: Member, conversations: list[Conversation]) -> dict[int, int]:
    """How many messages from the other side the member has not read, per conversation id
    (one query for the whole list)."""
    if not conversations:
        return {}
    read_id = case(
        (Conversation.responder_id == member.id, Conversation.responder_read_id),
        else_=Conversation.author_read_id,
    )
    rows = db.session.execute(
        select(Message.conversation_id, func.count())
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.conversation_id.in_([conversation.id for conversation in conversations]),
            Message.sender_id != member.id,
            Message.id > read_id,
        )
        .group_by(Message.conversation_id)
    ).all()
    counts = dict.fromkeys((conversation.id for conversation in conversations), 0)
    counts.update({conversation_id: count for conversation_id, count in rows})
    return counts


# --- Finishing a service -------------------------------------------------------------------


def roles(conversation: Conversation) -> tuple[int, int]:
    """(helper_id, beneficiary_id): on a request the responder helps the author; on an
    offer the author helps the responder."""
    author_id, responder_id = conversation.listing.author_id, conversation.responder_id
    if conversation.listing.kind == ListingKind.REQUEST:
        return responder_id, author_id
    return author_id, responder_id


def active_completion(listing_id: int) -> Completion | None:
    """The pending or confirmed completion of a listing, if any."""
    return db.session.scalar(
        select(Completion).where(Completion.listing_id == listing_id, Completion.status.in_((CompletionStatus.PENDING, CompletionStatus.CONFIRMED)))
    )


def completion_for(member: Member, completion_id: int) -> Completion:
    """A completion the member is the helper or the beneficiary of; NotFoundError otherwise."""
    completion = db.session.get(Completion, completion_id)
    if completion is None or member.id not in (completion.helper_id, completion.beneficiary_id):
        raise NotFoundError("completion")
    return completion



@dataclass(frozen=True)
class FinishState:
    """Where finishing the service stands in one conversation, for one of its two members."""

    completion: Completion | None  # the conversation's latest completion, whatever its status
    listing_status: str  # the status the listing is shown with (open, done, closed, expired)
    helper_name: str
    beneficiary_name: str
    other_name: str  # the member on the other side
    can_mark_done: bool  # the author, listing open, nothing pending or confirmed
    can_confirm: bool  # the beneficiary of a pending completion (confirm or decline)
    can_cancel: bool  # the author of a pending completion
    finished_elsewhere: bool  # done, or being finished, with another responder
    # The member's (balance, credit limit) when finishing is theirs to pay (they mark a
    # request done, or confirm an offer) and their balance is below the smile it costs:
    # the page says what happens (they go below zero, or the pot pays) before they tap.
    low_balance: tuple[int, int] | None = None

    @property
    def status(self) -> str | None:
        """The status of the conversation's latest completion, if any."""
        return self.completion.status if self.completion else None


def finish_state(member: Member, conversation: Conversation) -> FinishState:
    """What the member sees and may do to finish the service in this conversation."""
    listing = conversation.listing
    latest = db.session.scalar(
        select(Completion).where(Completion.conversation_id == conversation.id).order_by(Completion.id.desc()).limit(1)
    )
    active = active_completion(listing.id)
    helper_id, beneficiary_id = roles(conversation)
    names = {
        listing.author_id: listing.author.display_name,
        conversation.responder_id: conversation.responder.display_name,
    }
    is_author = member.id == listing.author_id
    pending = latest is not None and latest.status == CompletionStatus.PENDING
    can_mark_done = (is_author and listing.status == ListingStatus.OPEN and active is None
                     and not conversation.responder.is_deleted)
    can_confirm = pending and member.id == latest.beneficiary_id
    low_balance = None
    if member.id == beneficiary_id and (can_confirm or (can_mark_done and listing.kind == ListingKind.REQUEST)):
        balance, limit = smiles.standing(member.id)
        low_balance = (balance, limit) if balance < SERVICE_PRICE else None
    return FinishState(
        completion=latest,
        listing_status=listing.state_at(utcnow()),
        helper_name=names[helper_id],
        beneficiary_name=names[beneficiary_id],
        other_name=names[conversation.other_party_id(member.id)],
        can_mark_done=can_mark_done,
        can_confirm=can_confirm,
        can_cancel=pending and is_author,
        finished_elsewhere=active is not None and active.conversation_id != conversation.id,
        low_balance=low_balance,
    )

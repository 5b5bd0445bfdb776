"""Conversation and completion rules.

A responder opens one conversation per listing with its author; only those two read it.
The author marks the listing done with one responder. The beneficiary confirms: on a
request the author is the beneficiary (marking is confirming), on an offer the responder
is. On confirmation exactly one smile moves from the beneficiary to the helper and the
listing is done, in one transaction; replays and races pay once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import selectinload

from .. import live
from ..auth.gate import require_verified
from ..errors import ConflictError, NotFoundError, RuleError
from ..extensions import db
from ..models import Completion, Conversation, Listing, Member, Message, utcnow
from ..models.protection import blocked_between
from ..notifications.services import mark_read_about, notify
from ..pwa.outbox import clean_client_key
from ..smiles import services as smiles
from ..unit_of_work import atomic, insert_once

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


def answer(responder: Member, listing_id: int, body: str, client_key: str | None = None) -> Conversation:
    """Answer a listing: open (or reuse) the conversation with its author and say something.

    With a client_key (one per answer form shown), the same form sent twice, or twice at
    once, posts its message once; two answers at once from the same member open one
    conversation between them (the unique rule on listing and responder decides).
    """
    require_verified(responder)
    listing = db.session.get(Listing, listing_id)
    if listing is None or not listing.is_open_at(utcnow()):
        raise NotFoundError("listing")
    if listing.author_id == responder.id:
        raise RuleError(_("This is your own listing."))
    if blocked_between(responder.id, listing.author_id):
        # Blocked either way, the listing does not exist for them.
        raise NotFoundError("listing")
    body = _clean_body(body)
    conversation, first = insert_once(
        lambda: my_conversation_about(responder, listing),
        lambda: Conversation(listing=listing, responder_id=responder.id),
    )
    _post_once(conversation, responder.id, body, clean_client_key(client_key), first_reply=first)
    db.session.flush()
    return conversation


def _replayed_message(member: Member, conversation_id: int, client_key: str | None) -> Message | None:
    if client_key is None:
        return None
    return db.session.scalar(
        select(Message).where(
            Message.sender_id == member.id, Message.client_key == client_key, Message.conversation_id == conversation_id
        )
    )


def _post_once(
    conversation: Conversation, sender_id: int, body: str, client_key: str | None, first_reply: bool = False
) -> Message:
    """Add the message, or find the one already posted with the same key (a replay, or the
    same key winning a race from another request a moment ago: the page and the service
    worker sending at once)."""
    if client_key is None:
        return _add_message(conversation, sender_id, body, first_reply=first_reply)
    message, _posted = insert_once(
        lambda: db.session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.sender_id == sender_id,
                Message.client_key == client_key,
            )
        ),
        lambda: _add_message(conversation, sender_id, body, first_reply=first_reply, client_key=client_key),
    )
    return message


def post_message(member: Member, conversation_id: int, body: str, client_key: str | None = None) -> Message:
    """Add a message to a conversation the member takes part in.

    With a client_key (sent again from the offline outbox after a lost connection), a second
    post with the same key returns the first message instead of posting it twice.
    """
    require_verified(member)
    conversation = conversation_for(member, conversation_id)
    client_key = clean_client_key(client_key)
    replayed = _replayed_message(member, conversation_id, client_key)
    if replayed is not None:
        return replayed
    refusal = reply_refusal(member, conversation)
    if refusal:
        raise RuleError(refusal)
    message = _post_once(conversation, member.id, _clean_body(body), client_key)
    db.session.flush()
    return message


def reply_refusal(member: Member, conversation: Conversation) -> str | None:
    """Why the member can no longer write in this conversation, or None when they can: the
    other side left 1Mile, or one of the two blocked the other."""
    other = db.session.get(Member, conversation.other_party_id(member.id))
    if other is None or other.is_deleted:
        return _("This member has left 1Mile: the conversation is closed.")
    if blocked_between(member.id, other.id):
        return _("You can no longer write in this conversation.")
    return None


def _add_message(
    conversation: Conversation, sender_id: int, body: str, first_reply: bool = False, client_key: str | None = None
) -> Message:
    message = Message(conversation=conversation, sender_id=sender_id, body=body, client_key=client_key)
    db.session.add(message)
    db.session.flush()
    conversation.last_message_at = message.created_at
    _mark_read(conversation, sender_id, message.id)
    parties = (conversation.responder_id, conversation.listing.author_id)
    live.message_posted(conversation.id, parties, message.id)
    notify(
        conversation.other_party_id(sender_id),
        "first_reply" if first_reply else "message",
        actor_id=sender_id,
        target_id=conversation.id,
    )
    return message


def _mark_read(conversation: Conversation, member_id: int, message_id: int) -> None:
    if member_id == conversation.responder_id:
        conversation.responder_read_id = max(conversation.responder_read_id, message_id)
    else:
        conversation.author_read_id = max(conversation.author_read_id, message_id)


def messages_after(member: Member, conversation_id: int, after_id: int = 0) -> list[Message]:
    """Messages newer than after_id, oldest first; reading them marks them read."""
    conversation = conversation_for(member, conversation_id)
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.id > after_id)
            .order_by(Message.id)
        )
    )
    if messages:
        _mark_read(conversation, member.id, messages[-1].id)
        mark_read_about(member.id, "conversation", conversation.id)
        db.session.flush()
    return messages


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
    if conversation.listing.kind == "request":
        return responder_id, author_id
    return author_id, responder_id


def active_completion(listing_id: int) -> Completion | None:
    """The pending or confirmed completion of a listing, if any."""
    return db.session.scalar(
        select(Completion).where(Completion.listing_id == listing_id, Completion.status.in_(("pending", "confirmed")))
    )


@atomic
def mark_done(author: Member, conversation_id: int) -> Completion:
    """The author marks the listing done with this conversation's responder.

    On a request the author is the beneficiary, so this confirms at once and pays.
    On an offer the responder is asked to confirm.
    """
    conversation = conversation_for(author, conversation_id)
    listing = conversation.listing
    if listing.author_id != author.id:
        raise NotFoundError("conversation")
    if listing.status != "open":
        raise RuleError(_("This listing is no longer open."))
    if conversation.responder.is_deleted:
        raise RuleError(_("This member has left 1Mile: the conversation is closed."))
    helper_id, beneficiary_id = roles(conversation)
    completion, marked = insert_once(
        lambda: active_completion(listing.id),
        lambda: Completion(
            listing_id=listing.id,
            conversation_id=conversation.id,
            helper_id=helper_id,
            beneficiary_id=beneficiary_id,
            status="pending",
        ),
    )
    if not marked:
        if completion.conversation_id != conversation.id:
            # The partial unique index: another completion is pending or confirmed.
            raise ConflictError(_("This listing is already being finished with someone."))
        # Marked already (a double click, another tab, a request that won a moment ago):
        # answer as the first request did, without telling anyone twice.
        return completion
    if beneficiary_id == author.id:
        _confirm(completion, author)
    else:
        notify(beneficiary_id, "confirmation_requested", actor_id=author.id, target_id=conversation.id)
        db.session.flush()
    return completion


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
    pending = latest is not None and latest.status == "pending"
    return FinishState(
        completion=latest,
        listing_status=listing.state_at(utcnow()),
        helper_name=names[helper_id],
        beneficiary_name=names[beneficiary_id],
        other_name=names[conversation.other_party_id(member.id)],
        can_mark_done=is_author and listing.status == "open" and active is None
        and not conversation.responder.is_deleted,
        can_confirm=pending and member.id == latest.beneficiary_id,
        can_cancel=pending and is_author,
        finished_elsewhere=active is not None and active.conversation_id != conversation.id,
    )


@atomic
def confirm(member: Member, completion_id: int) -> Completion:
    """The beneficiary confirms: one smile to the helper, the listing done. Idempotent."""
    completion = completion_for(member, completion_id)
    if completion.beneficiary_id != member.id:
        raise RuleError(_("Only the member who was helped can confirm."))
    if completion.status == "confirmed":
        return completion
    if completion.status != "pending":
        raise RuleError(_("This confirmation is no longer pending."))
    return _confirm(completion, member)


def _confirm(completion: Completion, beneficiary: Member) -> Completion:
    """Pay and close in one transaction; the conditional update decides who confirms."""
    won = db.session.execute(
        update(Completion)
        .where(Completion.id == completion.id, Completion.status == "pending")
        .values(status="confirmed", resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        # Someone (another tab, a double click) confirmed first: nothing more to pay.
        db.session.refresh(completion)
        if completion.status == "confirmed":
            return completion
        raise RuleError(_("This confirmation is no longer pending."))
    # A refused transfer (the RuleError) leaves nothing: the request's edge rolls back.
    smiles.transfer(
        smiles.member_account(completion.beneficiary_id),
        smiles.member_account(completion.helper_id),
        SERVICE_PRICE,
        "service",
        f"service:{completion.id}",
        listing_id=completion.listing_id,
    )
    db.session.execute(
        update(Listing).where(Listing.id == completion.listing_id).values(status="done", updated_at=utcnow())
    )
    for recipient, actor in ((completion.helper_id, beneficiary.id), (completion.beneficiary_id, completion.helper_id)):
        notify(recipient, "service_confirmed", actor_id=actor, target_id=completion.conversation_id)
    db.session.flush()
    db.session.refresh(completion)
    return completion


def decline(member: Member, completion_id: int) -> Completion:
    """Either side refuses a pending confirmation; the listing stays open."""
    completion = completion_for(member, completion_id)
    return _resolve(completion, member, "declined", "service_declined")


def cancel(author: Member, completion_id: int) -> Completion:
    """The author withdraws a pending confirmation."""
    completion = db.session.get(Completion, completion_id)
    if completion is None or completion.listing.author_id != author.id:
        raise NotFoundError("completion")
    return _resolve(completion, author, "cancelled", "completion_cancelled")


def _resolve(completion: Completion, member: Member, status: str, kind: str) -> Completion:
    changed = db.session.execute(
        update(Completion)
        .where(Completion.id == completion.id, Completion.status == "pending")
        .values(status=status, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not changed:
        raise RuleError(_("This confirmation is no longer pending."))
    other = completion.beneficiary_id if member.id == completion.helper_id else completion.helper_id
    notify(other, kind, actor_id=member.id, target_id=completion.conversation_id)
    db.session.flush()
    db.session.refresh(completion)
    return completion

"""Conversation actions: answer an ad, post, mark read, finish a service. They add and flush; the edge commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from ... import live
from ...auth.gate import require_verified
from ...errors import ConflictError, NotFoundError, RuleError
from ...extensions import db
from ...models import (
    Completion,
    CompletionStatus,
    Conversation,
    Listing,
    ListingStatus,
    Member,
    Message,
    utcnow,
)
from ...models.protection import blocked_between
from ...notifications.services import mark_read_about, notify
from ...profiles import services as profiles
from ...pwa.outbox import clean_client_key
from ...smiles import services as smiles
from ...unit_of_work import atomic, insert_once
from .reads import (
    SERVICE_PRICE,
    _clean_body,
    active_completion,
    completion_for,
    conversation_for,
    my_conversation_about,
    reply_refusal,
    roles,
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


@atomic
def mark_done(author: Member, conversation_id: int, thanks: str | None = None) -> Completion:
    """The author marks the listing done with this conversation's responder.

    On a request the author is the beneficiary, so this confirms at once and pays.
    On an offer the responder is asked to confirm.
    """
    conversation = conversation_for(author, conversation_id)
    listing = conversation.listing
    if listing.author_id != author.id:
        raise NotFoundError("conversation")
    if listing.status != ListingStatus.OPEN:
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
            status=CompletionStatus.PENDING,
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
        _confirm(completion, author, thanks)
    else:
        notify(beneficiary_id, "confirmation_requested", actor_id=author.id, target_id=conversation.id)
        db.session.flush()
    return completion


@atomic
def confirm(member: Member, completion_id: int, thanks: str | None = None) -> Completion:
    """The beneficiary confirms: one smile to the helper, the listing done, and their
    optional thank-you note on the helper's profile. Idempotent."""
    completion = completion_for(member, completion_id)
    if completion.beneficiary_id != member.id:
        raise RuleError(_("Only the member who was helped can confirm."))
    if completion.status == CompletionStatus.CONFIRMED:
        return completion
    if completion.status != CompletionStatus.PENDING:
        raise RuleError(_("This confirmation is no longer pending."))
    return _confirm(completion, member, thanks)


def _confirm(completion: Completion, beneficiary: Member, thanks: str | None = None) -> Completion:
    """Pay and close in one transaction; the conditional update decides who confirms."""
    # Checked before anything moves: a note too long is refused on its own.
    thanks = profiles.clean_thanks(thanks)
    won = db.session.execute(
        update(Completion)
        .where(Completion.id == completion.id, Completion.status == CompletionStatus.PENDING)
        .values(status=CompletionStatus.CONFIRMED, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        # Someone (another tab, a double click) confirmed first: nothing more to pay.
        db.session.refresh(completion)
        if completion.status == CompletionStatus.CONFIRMED:
            return completion
        raise RuleError(_("This confirmation is no longer pending."))
    # Never refused for a balance: the beneficiary pays within their credit limit, else
    # the solidarity pot, else nobody (confirmed with thanks).
    paid_by = smiles.pay_service(
        completion.beneficiary_id, completion.helper_id, SERVICE_PRICE, f"service:{completion.id}",
        listing_id=completion.listing_id,
    )
    db.session.execute(
        update(Completion).where(Completion.id == completion.id).values(paid_by=paid_by)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Listing).where(Listing.id == completion.listing_id).values(status=ListingStatus.DONE, updated_at=utcnow())
    )
    profiles.record_thanks(completion, thanks)
    kind = {"pot": "service_confirmed_pot", "nobody": "service_confirmed_thanks"}.get(paid_by, "service_confirmed")
    for recipient, actor in ((completion.helper_id, beneficiary.id), (completion.beneficiary_id, completion.helper_id)):
        notify(recipient, kind, actor_id=actor, target_id=completion.conversation_id)
    _tell_the_other_responders(completion)
    db.session.flush()
    db.session.refresh(completion)
    return completion


def _tell_the_other_responders(completion: Completion) -> None:
    """Everyone else who answered the ad learns it was done with another member, rather
    than waiting under an ad that is closed (each in their own conversation)."""
    others = db.session.execute(
        select(Conversation.id, Conversation.responder_id).where(
            Conversation.listing_id == completion.listing_id, Conversation.id != completion.conversation_id
        )
    ).all()
    author_id = db.session.get(Listing, completion.listing_id).author_id
    for conversation_id, responder_id in others:
        notify(responder_id, "listing_done_elsewhere", actor_id=author_id, target_id=conversation_id)


def decline(member: Member, completion_id: int) -> Completion:
    """Either side refuses a pending confirmation; the listing stays open."""
    completion = completion_for(member, completion_id)
    return _resolve(completion, member, CompletionStatus.DECLINED, "service_declined")


def cancel(author: Member, completion_id: int) -> Completion:
    """The author withdraws a pending confirmation."""
    completion = db.session.get(Completion, completion_id)
    if completion is None or completion.listing.author_id != author.id:
        raise NotFoundError("completion")
    return _resolve(completion, author, CompletionStatus.CANCELLED, "completion_cancelled")


def _resolve(completion: Completion, member: Member, status: str, kind: str) -> Completion:
    changed = db.session.execute(
        update(Completion)
        .where(Completion.id == completion.id, Completion.status == CompletionStatus.PENDING)
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

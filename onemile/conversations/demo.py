"""The demo's exchanges (onemile.demo): conversations under open ads, some services finished
and paid in smiles, a few confirmations still pending (one of them waits for the demo account,
so that the whole loop can be tried from it)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from ..demo import Story
from ..demo_data import read
from ..extensions import db
from ..models import CompletionStatus, Listing, ListingKind, ListingStatus, Member, Transfer
from ..smiles.services import balance_of
from . import services as conversations


def exchanges(story: Story) -> dict:
    """The exchange loop of the demo, once its ads are posted."""
    return _exchanges(story.members, story.rng, story.now)


# What people say under the ads: the opener, the author's reply, a follow-up, the thanks.
OPENERS, REPLIES, FOLLOW_UPS, THANKS = (
    tuple(read("neighbourhood")["phrases"][name]) for name in ("openers", "replies", "follow_ups", "thanks")
)
CONVERSATION_COUNT = 48
FINISHED_COUNT = 18
PENDING_COUNT = 3


def _exchanges(members: dict[str, Member], rng: random.Random, now: datetime) -> dict:
    """Conversations under open listings, some services finished and paid in smiles, a few
    confirmations still pending (one of them waits for the demo account)."""
    people = list(members.values())
    demo = members["demo"]
    listings = db.session.scalars(
        select(Listing).where(Listing.status == ListingStatus.OPEN, Listing.expires_at > now).order_by(Listing.id)
    ).all()
    chosen = rng.sample(listings, min(CONVERSATION_COUNT, len(listings)))
    # The demo account takes part: it answers two offers and a request, and its own ads get
    # answers. It is thanked with a smile for the request, and one offer waits for it to
    # confirm, so the whole loop can be tried from that account.
    others = [item for item in listings if item.author_id != demo.id]
    demo_offers = [item for item in others if item.kind == ListingKind.OFFER][:2] + [
        item for item in others if item.kind == ListingKind.REQUEST
    ][:1]
    chosen = demo_offers + [item for item in chosen if item not in demo_offers]
    threads = []
    for index, listing in enumerate(chosen):
        if index < len(demo_offers):
            responder = demo
        else:
            responder = rng.choice([m for m in people if m.id != listing.author_id])
        author = db.session.get(Member, listing.author_id)
        start = listing.created_at + timedelta(hours=rng.uniform(1, 48))
        conversation = conversations.answer(responder, listing.id, rng.choice(OPENERS))
        lines = [(author, rng.choice(REPLIES)), (responder, rng.choice(FOLLOW_UPS))]
        for sender, body in lines[: rng.randint(1, 2)]:
            conversations.post_message(sender, conversation.id, body)
        for step, message in enumerate(conversation.messages):
            message.created_at = min(now, start + timedelta(minutes=37 * step + rng.randint(0, 30)))
        conversation.created_at = conversation.messages[0].created_at
        conversation.last_message_at = conversation.messages[-1].created_at
        threads.append((conversation, author, responder))
    db.session.flush()

    finished = pending = 0
    waiting: set[int] = set()  # beneficiaries with a confirmation pending (one each)
    for conversation, author, responder in threads:
        helper_is_author = conversation.listing.kind == ListingKind.OFFER
        beneficiary = responder if helper_is_author else author
        if balance_of(beneficiary.id) < 1 or beneficiary.id in waiting:
            continue
        if helper_is_author and pending < PENDING_COUNT and (pending > 0 or beneficiary.id == demo.id):
            conversations.mark_done(author, conversation.id)  # waits for the beneficiary
            waiting.add(beneficiary.id)
            pending += 1
        elif beneficiary.id != demo.id and finished < FINISHED_COUNT:
            talked_until = conversation.last_message_at
            completion = conversations.mark_done(author, conversation.id)
            if completion.status == CompletionStatus.PENDING:
                conversations.confirm(beneficiary, completion.id)
            thanks = conversations.post_message(beneficiary, conversation.id, rng.choice(THANKS))
            # Dated like the rest of the story: the service happened after the talk.
            done_at = min(now, talked_until + timedelta(hours=rng.uniform(4, 48)))
            completion.created_at = completion.resolved_at = done_at
            paid = db.session.scalar(select(Transfer).where(Transfer.idempotency_key == f"service:{completion.id}"))
            paid.created_at = done_at
            thanks.created_at = conversation.last_message_at = min(now, done_at + timedelta(minutes=20))
            finished += 1
    db.session.flush()
    return {"conversations": len(threads), "services_finished": finished, "confirmations_pending": pending}

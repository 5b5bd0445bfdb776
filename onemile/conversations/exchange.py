"""What a conversation shows, on its own page and under the ad on the listing's page.

Apart from the routes so that the listing page can show its conversations without
importing the conversations' routes (which build on listings): listings → conversations.exchange
→ conversations.services → listings.services, one way.
"""

from __future__ import annotations

from .. import live
from ..models import Conversation, Listing, utcnow
from ..organisations.acting import current_actor
from . import live_pages, services
from .forms import AnswerForm, MessageForm


def names_of(conversation: Conversation) -> dict[int, str]:
    """The display names of the conversation's two members, by member id."""
    return {
        conversation.listing.author_id: conversation.listing.author.display_name,
        conversation.responder_id: conversation.responder.display_name,
    }


def reply_form(conversation: Conversation, **kwargs) -> MessageForm:
    """The reply form of a conversation, with ids that stay the same across swaps (htmx puts
    the focus back in the textarea by its id)."""
    form = MessageForm(**kwargs)
    form.body.id = f"reply-body-{conversation.id}"
    return form


def thread(conversation: Conversation, after: int = 0, form: MessageForm | None = None) -> dict:
    """The messages after `after` (reading them marks them read), and the reply form."""
    messages = services.messages_after(current_actor, conversation.id, after)
    return {
        "conversation": conversation,
        "listing": conversation.listing,
        "messages": messages,
        "last_id": messages[-1].id if messages else after,
        "names": names_of(conversation),
        "form": form or reply_form(conversation, formdata=None),
        "now": utcnow(),
    }


def listing_exchange(listing: Listing) -> dict:
    """What the listing page shows under the ad for the current member.

    mode "author": the conversations under my listing, one per responder, with unread counts;
    "thread": my conversation about someone else's listing (messages and reply form);
    "answer": the form to answer it; None: nothing (a visitor, or a listing no longer open).
    """
    if not current_actor.is_authenticated:
        return {"mode": None}
    if listing.author_id == current_actor.id:
        # The version first: a change committed while the list is read makes it stale.
        version = live.topic_version(live_pages.answers_topic(listing.id))
        conversations = services.conversations_of_listing(current_actor, listing)
        unread = services.unread_counts(current_actor, conversations)
        return {
            "mode": "author",
            "conversations": conversations,
            "unread": unread,
            "live": {"v": version or "", "state": live_pages.answers_token(conversations, unread)},
        }
    mine = services.my_conversation_about(current_actor, listing)
    if mine is not None:
        return {"mode": "thread", **thread(mine), "refusal": services.reply_refusal(current_actor, mine)}
    if listing.is_open_at(utcnow()):
        form = AnswerForm(formdata=None)
        form.body.id = "answer-body"
        return {"mode": "answer", "form": form}
    return {"mode": None}

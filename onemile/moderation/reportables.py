"""The content 1Mile ships with that members can report: ads, messages and members.

Other features (projects, mags, articles, comments) register their own content from their
packages in the same way (see moderation.services.register_reportable).
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..conversations.services import conversation_for
from ..errors import NotFoundError
from ..extensions import db
from ..listings.services import visible_listing
from ..models import HiddenReason, Listing, Member, Message, utcnow
from .services import Described, register_hideable, register_reportable


def _listing_visible(viewer: Member, listing: Listing) -> bool:
    try:
        visible_listing(viewer, listing.id)
    except NotFoundError:
        return False
    return True


def _hide_listing(listing: Listing) -> None:
    # A moderator's hiding outlives a suspension: reinstating the author keeps it hidden.
    listing.hidden_at = listing.hidden_at or utcnow()
    listing.hidden_reason = HiddenReason.MODERATION


def _unhide_listing(listing: Listing) -> None:
    listing.hidden_at = None
    listing.hidden_reason = None


register_hideable(
    "listing",
    Listing,
    label=_l("Ad"),
    visible_to=_listing_visible,
    describe=lambda listing: Described(
        listing.title, listing.body, listing.author_id, url_for("listings.detail", listing_id=listing.id)
    ),
    hide=_hide_listing,
    unhide=_unhide_listing,
)


def _message_visible(viewer: Member, message: Message) -> bool:
    try:
        conversation_for(viewer, message.conversation_id)
    except NotFoundError:
        return False
    return message.hidden_at is None


register_hideable(
    "message",
    Message,
    label=_l("Message"),
    visible_to=_message_visible,
    # Private: moderators read the reported message here, never the whole conversation.
    describe=lambda message: Described(
        message.conversation.listing.title, message.body, message.sender_id, None
    ),
)


register_reportable(
    "member",
    label=_l("Member"),
    fetch=lambda member_id: db.session.get(Member, member_id),
    visible_to=lambda viewer, member: not member.is_suspended,
    describe=lambda member: Described(member.display_name, "", member.id, None),
    is_hidden=lambda member: member.is_suspended,
)

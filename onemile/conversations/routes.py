"""Conversation routes: answer a listing, talk under it, follow it live, finish the service.

Thin: each route parses, calls conversations.services, then renders a block of
conversations/show.html (htmx) or redirects (plain forms, which all work without JS).
"""

from __future__ import annotations

from flask import Response, abort, flash, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from .. import live
from ..auth.access import verified_required
from ..errors import ConflictError, RuleError
from ..extensions import limiter
from ..listings.services import visible_listing
from ..models import MAX_DATABASE_ID, CompletionStatus, Conversation, utcnow
from ..organisations.acting import current_actor
from ..web import page_or_fragment, refuse, see_other, vary_on_htmx, wants_fragment
from . import bp, inbox, live_pages, services
from .exchange import listing_exchange, reply_form, thread
from .forms import AnswerForm, MessageForm

TEMPLATE = "conversations/show.html"


def _after(values) -> int:
    """The newest message id the page already shows (bounded: it goes into SQL)."""
    return min(max(values.get("after", 0, type=int) or 0, 0), MAX_DATABASE_ID)


def _page(conversation: Conversation, block: str, *, status: int = 200, after: int = 0,
          form: MessageForm | None = None, **extra) -> Response:
    """The conversation page, or one of its blocks for htmx."""
    fragment = wants_fragment()
    whole = not fragment or block == "content"  # the whole thread, not only what is new
    if fragment and block == "completion":
        context = {"conversation": conversation, "listing": conversation.listing, "now": utcnow(), "swap_status": True}
    else:
        context = thread(conversation, 0 if whole else after, form)
    if whole or block == "completion":
        # The live version before the state it stands for (conversations/live_pages.py).
        context["finish_v"] = live.topic_version(live_pages.finish_topic(conversation.listing_id)) or ""
        context["finish"] = services.finish_state(current_actor, conversation)
        context["finish_token"] = live_pages.finish_token(context["finish"])
    if whole:
        # Only the whole thread draws the reply form or says why it is gone.
        context["refusal"] = services.reply_refusal(current_actor, conversation)
    return page_or_fragment(TEMPLATE, block, status=status, **context, **extra)


@bp.post("/answer/<int:listing_id>")
@verified_required
@limiter.limit("30 per hour; 100 per day")
def answer(listing_id: int):
    """Answer a listing: the conversation with its author opens (or goes on) with this message."""
    form = AnswerForm()
    form.body.id = "answer-body"
    try:
        conversation = services.answer(current_actor, listing_id, form.body.data or "", client_key=form.client_key.data)
    except RuleError as error:
        refuse(form, error)
    else:
        return see_other("conversations.show", conversation_id=conversation.id, _anchor=f"reply-{conversation.id}")
    listing = visible_listing(current_actor, listing_id)
    return render_template("conversations/answer.html", listing=listing, form=form, now=utcnow()), 422


@bp.get("/")
@login_required
def index():
    """Messages: every conversation of the member, newest first, unread ones marked."""
    return render_template("conversations/index.html", entries=inbox.inbox(current_actor))


@bp.get("/<int:conversation_id>")
@login_required
def show(conversation_id: int):
    """The conversation page: the ad, the messages, the reply form and finishing the service."""
    conversation = services.conversation_for(current_actor, conversation_id)
    return _page(conversation, "content")


@bp.get("/<int:conversation_id>/poll")
@login_required
def poll(conversation_id: int):
    """Live updates: 204 No Content while nothing is new (htmx swaps nothing), else the new
    messages to append and the poller again with the newest id."""
    after = _after(request.args)
    # Redis answers when it knows (REDIS_URL); else one indexed query decides, and it checks
    # membership too: an idle page costs no more.
    latest = services.newest_for_poll(current_actor, conversation_id)
    if latest <= after and wants_fragment():
        idle = make_response("", 204)
        del idle.headers["Content-Type"]  # nothing to type: every idle byte counts
        return vary_on_htmx(idle)
    conversation = services.conversation_for(current_actor, conversation_id)
    return _page(conversation, "poll", after=after)


@bp.post("/<int:conversation_id>/messages")
@verified_required
@limiter.limit("20 per minute; 500 per day")
def post_message(conversation_id: int):
    """Say something. htmx gets the form back empty, with the messages the page misses;
    without JS, the page again."""
    conversation = services.conversation_for(current_actor, conversation_id)
    form = reply_form(conversation)
    after = _after(request.form)
    try:
        message = services.post_message(
            current_actor, conversation_id, form.body.data or "", client_key=form.client_key.data
        )
    except RuleError as error:
        refuse(form, error)
        # htmx swaps only 2xx answers: the form with its error must come back as 200.
        status = 200 if wants_fragment() else 422
        return _page(conversation, "reply", status=status, after=after or MAX_DATABASE_ID, form=form)
    if not wants_fragment():
        return see_other("conversations.show", conversation_id=conversation_id, _anchor=f"message-{message.id}")
    return _page(conversation, "reply", after=after or message.id - 1)


# --- Finishing the service ---------------------------------------------------------------


def _finished(conversation: Conversation, notice: str | None, error: str | None, paid: bool = False) -> Response:
    """Answer a finishing action: the completion block for htmx, else a flash and the page."""
    if not wants_fragment():
        if notice:
            flash(notice, "success")
        if error:
            flash(error, "error")
        return see_other("conversations.show", conversation_id=conversation.id, _anchor="finish")
    response = _page(conversation, "completion", notice=notice, error=error)
    if paid:
        # Both members were notified and a smile moved: the header's bell listens for the
        # first event; "smiles-changed" is there for whatever shows a balance.
        response.headers["HX-Trigger"] = "notifications-changed, smiles-changed"
    return response


def _replayed(completion_id: int, wanted: str) -> bool:
    """True when the completion already is where the action would have taken it: a double
    click, a reload of the form, or the other tab got there first."""
    return services.completion_for(current_actor, completion_id).status == wanted


@bp.post("/<int:conversation_id>/done")
@login_required
def mark_done(conversation_id: int):
    """The author marks the listing done with this responder."""
    conversation = services.conversation_for(current_actor, conversation_id)
    try:
        completion = services.mark_done(current_actor, conversation_id, request.form.get("thanks"))
    except ConflictError as error:
        if wants_fragment():
            return _finished(conversation, None, error.message)
        # Marked with another member meanwhile: say so on the page, as a 409.
        return _page(conversation, "content", status=error.status_code, error=error.message)
    except RuleError as error:
        active = services.active_completion(conversation.listing_id)
        if active is not None and active.conversation_id == conversation.id:
            return _finished(conversation, None, None)  # already marked with this member
        return _finished(conversation, None, error.message)
    finish = services.finish_state(current_actor, conversation)
    if completion.status == CompletionStatus.CONFIRMED:
        return _finished(conversation, _confirmed_notice(finish), None, paid=True)
    return _finished(
        conversation, _("Done. %(name)s is asked to confirm the service.", name=finish.beneficiary_name), None
    )


def _completion_action(completion_id: int, action, wanted: str, notice) -> Response:
    """Run a confirm, decline or cancel, then answer with the current state; `notice` makes
    the success message from the new FinishState."""
    completion = services.completion_for(current_actor, completion_id)
    conversation = services.conversation_for(current_actor, completion.conversation_id)
    try:
        action(current_actor, completion_id)
    except RuleError as error:
        if _replayed(completion_id, wanted):
            return _finished(conversation, None, None)
        return _finished(conversation, None, error.message)
    finish = services.finish_state(current_actor, conversation)
    return _finished(conversation, notice(finish), None, paid=wanted == CompletionStatus.CONFIRMED)


@bp.post("/completions/<int:completion_id>/confirm")
@login_required
def confirm(completion_id: int):
    """The beneficiary confirms: one smile goes to the helper. A replay answers the same."""
    return _completion_action(
        completion_id,
        lambda member, completion_id: services.confirm(member, completion_id, request.form.get("thanks")),
        CompletionStatus.CONFIRMED,
        _confirmed_notice,
    )


def _confirmed_notice(finish) -> str:
    """What the beneficiary reads after confirming: who paid the helper's smile, if anyone."""
    paid_by = finish.completion.paid_by if finish.completion else None
    if paid_by == "pot":
        return _("Thank you! You are at your credit limit, so the solidarity pot gave %(name)s 1 smile.",
                 name=finish.helper_name)
    if paid_by == "nobody":
        return _("Confirmed with thanks. You are at your credit limit and the solidarity pot cannot pay, "
                 "so no smile moved to %(name)s.", name=finish.helper_name)
    return _("Thank you! %(name)s received 1 smile.", name=finish.helper_name)


@bp.post("/completions/<int:completion_id>/decline")
@login_required
def decline(completion_id: int):
    """Either side declines a pending confirmation."""
    return _completion_action(
        completion_id, services.decline, CompletionStatus.DECLINED, lambda finish: _("Declined. The listing stays open.")
    )


@bp.post("/completions/<int:completion_id>/cancel")
@login_required
def cancel(completion_id: int):
    """The author withdraws a pending confirmation."""
    return _completion_action(
        completion_id, services.cancel, CompletionStatus.CANCELLED, lambda finish: _("Cancelled. The listing stays open.")
    )


# --- Live pages: the answers under my ad, the finish panel (conversations/live_pages.py) ---


def _unchanged() -> Response:
    idle = make_response("", 204)
    del idle.headers["Content-Type"]  # polled every 3 s: every idle byte counts
    return vary_on_htmx(idle)


@bp.get("/answers/<int:listing_id>")
@login_required
def answers(listing_id: int):
    """The answers under my ad for its poller: 204 while nothing changed (Redis decides
    when it knows the version, else the database's state token), else the section again.
    Only the ad's author gets them (404 for anyone else); without htmx, the ad's page."""
    version = live.topic_version(live_pages.answers_topic(listing_id)) if wants_fragment() else None
    if version is not None and version == request.args.get("v"):
        return _unchanged()
    listing = visible_listing(current_actor, listing_id)
    if listing.author_id != current_actor.id:
        abort(404)
    if not wants_fragment():
        return see_other("listings.detail", listing_id=listing_id)
    exchange = listing_exchange(listing)
    if version is None and exchange["live"]["state"] == request.args.get("state"):
        return _unchanged()
    return vary_on_htmx(make_response(render_template("conversations/answers.html", listing=listing,
                                                      exchange=exchange)))


@bp.get("/<int:conversation_id>/finish")
@login_required
def finish(conversation_id: int):
    """The finish panel for its poller, on both sides: 204 while unchanged, else the panel."""
    # The listing named by the page picks the topic: a wrong one cannot match its version
    # (random), and then the database checks who asks.
    listing_id = request.args.get("listing", type=int)
    version = live.topic_version(live_pages.finish_topic(listing_id)) if listing_id and wants_fragment() else None
    if version is not None and version == request.args.get("v"):
        return _unchanged()
    conversation = services.conversation_for(current_actor, conversation_id)
    if not wants_fragment():
        return see_other("conversations.show", conversation_id=conversation_id, _anchor="finish")
    if version is None:
        state = live_pages.finish_token(services.finish_state(current_actor, conversation))
        if state == request.args.get("state"):
            return _unchanged()
    return _page(conversation, "completion")

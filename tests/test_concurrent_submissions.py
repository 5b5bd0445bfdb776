"""Repeated and concurrent submissions: every form guarded by a unique rule answers a second
submission as it answered the first (or with a clear 409/422), never with a 500, and
writes its row once.

The same submissions run twice: one after the other (a reload, a double click that
arrives late; plain and htmx, both backends), and all at once from many threads through
the real WSGI app, each thread with its own client and database connection (PostgreSQL:
the production database, where requests really run in parallel). A threading.Barrier
releases them together so that they all see "no row yet" and race for the insert.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from conftest import SIGNUP, MemberRef
from helpers import assert_see_other, logged_in
from sqlalchemy import func, select

from onemile.conversations import services as conversations
from onemile.extensions import db
from onemile.geo import LatLon
from onemile.models import (
    Block,
    Completion,
    Conversation,
    Listing,
    Mag,
    MagFollow,
    Member,
    Message,
    Notification,
    Pledge,
    Project,
    ProjectTask,
    Report,
    Transfer,
    Volunteer,
)
from onemile.projects import services as projects
from onemile.smiles import services as smiles
from onemile.unit_of_work import insert_once

HX = {"HX-Request": "true"}
AT_ONCE = 24  # requests released together
FORM_KEY = "one-form-key-1234567890"  # what one form shown once carries (a one-time key)
RUE = LatLon(47.7508, 7.3359)

on_postgres = pytest.mark.parametrize("backend", ["postgis"])


@pytest.fixture
def app(make_app):
    """The app with real 500 answers (not raised into the test) and a connection for every
    thread, so that requests really run side by side."""
    return make_app(
        PROPAGATE_EXCEPTIONS=False,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": AT_ONCE + 2, "max_overflow": 4, "pool_pre_ping": True},
    )


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _ledger_holds(app) -> bool:
    """What `flask smiles verify` checks: every balance derives from the entries."""
    with app.app_context():
        return smiles.verify() == []


def _logged_in(app, member: MemberRef):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": member.email, "password": member.password})
    assert_see_other(response)  # response.get_data(as_text=True)
    return client


def _post(client, path: str, data: dict, headers: dict) -> int:
    try:
        return client.post(path, data=data, headers=headers).status_code
    except Exception:  # noqa: BLE001 - whatever escapes the app is a 500 for the browser
        return 500


@dataclass
class Scenario:
    """One form guarded by a unique rule, ready to be sent."""

    member: MemberRef  # who sends it
    path: str
    data: dict
    rows: Callable[[], int]  # how many rows it made: must stay 1
    plain: int = 303  # what the first plain submission answers
    htmx: int = 303  # what the first htmx submission answers
    checks: list[Callable[[], bool]] = field(default_factory=list)


def _as(app, member: MemberRef) -> Member:
    return db.session.get(Member, member.id)


def _conversation(app, factory, kind: str = "offer") -> tuple[MemberRef, MemberRef, int, int]:
    """(author, responder, listing id, conversation id): an ad answered once."""
    author, responder = factory.member(first_name="Anne"), factory.member(first_name="Bruno")
    listing_id = factory.listing(author, kind=kind, offer_type="service" if kind == "offer" else None)
    with app.test_request_context():
        conversation = conversations.answer(_as(app, responder), listing_id, "Bonjour !")
        db.session.commit()
        return author, responder, listing_id, conversation.id


def _done_offer(app, factory) -> Scenario:
    author, _responder, listing_id, cid = _conversation(app, factory)
    return Scenario(
        author, f"/conversations/{cid}/done", {}, lambda: _count(app, Completion, Completion.listing_id == listing_id),
        htmx=200,
        checks=[lambda: _count(app, Notification, Notification.kind == "confirmation_requested") == 1],
    )


def _done_request(app, factory) -> Scenario:
    author, responder, listing_id, cid = _conversation(app, factory, kind="request")
    return Scenario(
        author, f"/conversations/{cid}/done", {}, lambda: _count(app, Transfer, Transfer.reason == "service"),
        htmx=200,
        checks=[
            lambda: _count(app, Completion, Completion.listing_id == listing_id, Completion.status == "confirmed") == 1,
            lambda: _balances(app, author, responder) == [0, 2],
        ],
    )


def _confirm(app, factory) -> Scenario:
    author, responder, _listing_id, cid = _conversation(app, factory)
    with app.test_request_context():
        completion_id = conversations.mark_done(_as(app, author), cid).id
        db.session.commit()
    return Scenario(
        responder, f"/conversations/completions/{completion_id}/confirm", {},
        lambda: _count(app, Transfer, Transfer.reason == "service"), htmx=200,
        checks=[lambda: _balances(app, author, responder) == [2, 0]],
    )


def _answer(app, factory) -> Scenario:
    author, responder = factory.member(first_name="Anne"), factory.member(first_name="Bruno")
    listing_id = factory.listing(author)
    return Scenario(
        responder, f"/conversations/answer/{listing_id}", {"body": "Je suis intéressé.", "client_key": FORM_KEY},
        lambda: _count(app, Conversation, Conversation.listing_id == listing_id),
        checks=[lambda: _count(app, Message) == 1, lambda: _count(app, Notification) == 1],
    )


def _reply(app, factory) -> Scenario:
    _author, responder, _listing_id, cid = _conversation(app, factory)
    return Scenario(
        responder, f"/conversations/{cid}/messages", {"body": "Demain ?", "client_key": FORM_KEY},
        lambda: _count(app, Message, Message.client_key == FORM_KEY), htmx=200,
        checks=[lambda: _count(app, Message) == 2],
    )


def _listing(app, factory) -> Scenario:
    author = factory.member()
    data = {"kind": "request", "category": "diy", "title": "Lend me a drill", "body": "For Saturday.",
            "miles": [str(author.mile_id)], "location_mode": "approximate", "client_key": FORM_KEY}
    return Scenario(author, "/listings/new", data, lambda: _count(app, Listing), plain=303, htmx=303)


def _project(app, owner: MemberRef) -> tuple[int, int]:
    """An approved project of `owner` with one task: (project id, task id)."""
    with app.app_context():
        project = Project(owner_id=owner.id, title="Jardin partagé", summary="Des bacs.", description="Six bacs.",
                          point=RUE.wkt(), status="approved")
        project.tasks = [ProjectTask(title="Construire les bacs", skill="Menuiserie")]
        db.session.add(project)
        db.session.flush()
        projects.project_account(project)
        db.session.commit()
        return project.id, project.tasks[0].id


def _pledge(app, factory) -> Scenario:
    owner, supporter = factory.member(), factory.member()
    project_id, _ = _project(app, owner)
    return Scenario(
        supporter, f"/projects/{project_id}/pledge", {"amount": "10", "message": "", "key": FORM_KEY},
        lambda: _count(app, Pledge),
        checks=[lambda: _count(app, Notification, Notification.kind == "project_pledge") == 1],
    )


def _project_smiles(app, factory) -> Scenario:
    owner, supporter = factory.member(), factory.member()
    project_id, _ = _project(app, owner)
    return Scenario(
        supporter, f"/projects/{project_id}/smiles", {"amount": "1", "key": FORM_KEY},
        lambda: _count(app, Transfer, Transfer.reason == "project_support"),
        checks=[lambda: _balances(app, supporter) == [0]],
    )


def _volunteer(app, factory) -> Scenario:
    owner, helper = factory.member(), factory.member()
    project_id, task_id = _project(app, owner)
    return Scenario(
        helper, f"/projects/{project_id}/tasks/{task_id}/volunteer", {f"task-{task_id}-message": "Je suis menuisier."},
        lambda: _count(app, Volunteer),
    )


def _pass_smiles(app, factory) -> Scenario:
    owner, helper = factory.member(), factory.member()
    project_id, task_id = _project(app, owner)
    with app.test_request_context():
        projects.give_smiles(_as(app, helper), project_id, 1, "gift-key-1234567890")
        offer = projects.volunteer(_as(app, helper), project_id, task_id, "Je suis menuisier.")
        projects.answer_volunteer(_as(app, owner), project_id, offer.id, True)
        offer_id = offer.id
        db.session.commit()
    return Scenario(
        owner, f"/projects/{project_id}/volunteers/{offer_id}/smiles", {"amount": "1", "key": FORM_KEY},
        lambda: _count(app, Transfer, Transfer.idempotency_key.like("project-out:%")),
        checks=[lambda: _balances(app, helper) == [1]],
    )


def _mag(app, owner: MemberRef) -> int:
    with app.app_context():
        mag = Mag(owner_id=owner.id, title="Le fournil", about="Du pain.", kind="shop", point=RUE.wkt())
        db.session.add(mag)
        db.session.commit()
        return mag.id


def _follow(app, factory) -> Scenario:
    owner, reader = factory.member(), factory.member()
    mag_id = _mag(app, owner)
    return Scenario(reader, f"/mags/{mag_id}/follow", {}, lambda: _count(app, MagFollow), plain=303, htmx=303)


def _report(app, factory) -> Scenario:
    author, reader = factory.member(), factory.member()
    listing_id = factory.listing(author)
    return Scenario(
        reader, f"/report/listing/{listing_id}", {"reason": "spam", "details": "Pub.", "next": ""},
        lambda: _count(app, Report, Report.status == "open"),
    )


def _block(app, factory) -> Scenario:
    member, other = factory.member(), factory.member()
    return Scenario(member, f"/account/blocks/{other.id}", {}, lambda: _count(app, Block), plain=303, htmx=303)


SCENARIOS = {
    "mark done (offer, pending)": _done_offer,
    "mark done (request, paid)": _done_request,
    "confirm": _confirm,
    "answer an ad": _answer,
    "reply with its key": _reply,
    "post an ad with its key": _listing,
    "pledge": _pledge,
    "smiles to a project": _project_smiles,
    "volunteer": _volunteer,
    "pass smiles to a volunteer": _pass_smiles,
    "follow a mag": _follow,
    "report": _report,
    "block": _block,
}


def _balances(app, *members: MemberRef) -> list[int]:
    with app.app_context():
        return [smiles.balance_of(member.id) for member in members]


def _holds(app, scenario: Scenario) -> None:
    assert scenario.rows() == 1
    assert all(check() for check in scenario.checks)
    assert _ledger_holds(app)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_second_submission_answers_like_the_first(app, factory, name):
    scenario = SCENARIOS[name](app, factory)
    client = _logged_in(app, scenario.member)
    answers = [
        _post(client, scenario.path, scenario.data, {}),
        _post(client, scenario.path, scenario.data, {}),
        _post(client, scenario.path, scenario.data, HX),
        _post(client, scenario.path, scenario.data, HX),
    ]
    assert answers == [scenario.plain, scenario.plain, scenario.htmx, scenario.htmx]
    _holds(app, scenario)


@on_postgres
@pytest.mark.parametrize("name", SCENARIOS)
def test_submissions_at_once_answer_like_the_first_and_write_once(app, factory, name):
    scenario = SCENARIOS[name](app, factory)
    clients = [_logged_in(app, scenario.member) for _ in range(AT_ONCE)]
    barrier = threading.Barrier(AT_ONCE)

    def send(i: int) -> tuple[bool, int]:
        htmx = i % 2 == 1
        barrier.wait(timeout=30)
        return htmx, _post(clients[i], scenario.path, scenario.data, HX if htmx else {})

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(send, range(AT_ONCE)))
    assert [status for _, status in answers].count(500) == 0, answers
    assert {status for htmx, status in answers if not htmx} == {scenario.plain}
    assert {status for htmx, status in answers if htmx} == {scenario.htmx}
    _holds(app, scenario)


# --- A conflict, not a replay: another responder ------------------------------------------


def _two_responders(app, factory) -> tuple[MemberRef, int, int, int]:
    """(author, listing id, Bruno's conversation id, Chloe's conversation id) on one offer."""
    author, bruno, chloe = (factory.member(first_name=name, language="en") for name in ("Anne", "Bruno", "Chloe"))
    listing_id = factory.listing(author, kind="offer", offer_type="service")
    with app.test_request_context():
        ids = [conversations.answer(_as(app, member), listing_id, "Bonjour !").id for member in (bruno, chloe)]
        db.session.commit()
    return author, listing_id, *ids


def test_marking_done_with_a_second_responder_is_a_clear_conflict(app, factory):
    author, listing_id, bruno_cid, chloe_cid = _two_responders(app, factory)
    client = _logged_in(app, author)
    assert client.post(f"/conversations/{bruno_cid}/done").status_code == 303
    plain = client.post(f"/conversations/{chloe_cid}/done")
    assert plain.status_code == 409
    assert "already being finished with someone" in plain.get_data(as_text=True)
    fragment = client.post(f"/conversations/{chloe_cid}/done", headers=HX)
    # htmx swaps 2xx answers only: the refusal comes back in the fragment, as an alert.
    assert fragment.status_code == 200
    assert 'role="alert"' in fragment.get_data(as_text=True)
    assert "already being finished with someone" in fragment.get_data(as_text=True)
    assert _count(app, Completion, Completion.listing_id == listing_id) == 1


@on_postgres
def test_marking_done_with_two_responders_at_once_keeps_one_completion(app, factory):
    author, listing_id, bruno_cid, chloe_cid = _two_responders(app, factory)
    clients = [_logged_in(app, author) for _ in range(AT_ONCE)]
    barrier = threading.Barrier(AT_ONCE)

    def send(i: int) -> tuple[int, bool, int]:
        cid, htmx = (bruno_cid, chloe_cid)[i % 2], i % 4 >= 2
        barrier.wait(timeout=30)
        return cid, htmx, _post(clients[i], f"/conversations/{cid}/done", {}, HX if htmx else {})

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(send, range(AT_ONCE)))
    with app.app_context():
        winner = conversations.active_completion(listing_id).conversation_id
    assert {status for cid, htmx, status in answers if cid == winner} == {303, 200}
    assert {status for cid, htmx, status in answers if cid != winner and not htmx} == {409}
    assert {status for cid, htmx, status in answers if cid != winner and htmx} == {200}
    assert _count(app, Completion, Completion.listing_id == listing_id) == 1


@on_postgres
def test_answers_without_a_key_at_once_open_one_conversation(app, factory):
    """Separate answers (no shared one-time key) are separate messages, in one conversation."""
    author, responder = factory.member(), factory.member()
    listing_id = factory.listing(author)
    clients = [_logged_in(app, responder) for _ in range(AT_ONCE)]
    barrier = threading.Barrier(AT_ONCE)

    def send(i: int) -> int:
        barrier.wait(timeout=30)
        return _post(clients[i], f"/conversations/answer/{listing_id}", {"body": f"Message {i}"}, {})

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(send, range(AT_ONCE)))
    assert set(answers) == {303}, answers
    assert _count(app, Conversation) == 1
    assert _count(app, Message) == AT_ONCE
    # The author is told once about a first reply, then about messages.
    assert _count(app, Notification, Notification.kind == "first_reply") == 1



@on_postgres
def test_sign_ups_with_one_address_at_once_make_one_account(app):
    """What sign-up answers an address already taken is its own business (it must not
    tell); it must make one account, its bonus once, and never answer 500."""
    clients = [app.test_client() for _ in range(AT_ONCE)]
    barrier = threading.Barrier(AT_ONCE)

    def send(i: int) -> int:
        barrier.wait(timeout=30)
        return _post(clients[i], "/auth/signup", SIGNUP, {})

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(send, range(AT_ONCE)))
    assert 500 not in answers, answers
    assert _count(app, Member, Member.email == SIGNUP["email"]) == 1
    assert _count(app, Transfer, Transfer.reason == "signup_bonus") == 1
    assert _ledger_holds(app)

# --- Without JavaScript ---------------------------------------------------------------------


def _form_key(page: str, action: str) -> str:
    """The one-time key of the form posting to `action` in a server-rendered page."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert form, f"no form posting to {action}"
    key = re.search(r'name="client_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="client_key"', form.group(1))
    assert key, f"the form posting to {action} carries no one-time key"
    return key.group(1) or key.group(2)


def test_forms_shown_without_javascript_post_once_when_sent_twice(app, factory):
    """A double click or a reload with JavaScript off sends the same form twice: the key the
    server put in the form (not only the one the offline outbox adds) makes it one ad, one
    answer, one message; a form shown again gets a new key, for the next one."""
    author, responder = factory.member(first_name="Anne"), factory.member(first_name="Bruno")
    poster = logged_in(app, author)
    page = poster.get("/listings/new").get_data(as_text=True)
    key = _form_key(page, "/listings/new")
    assert key != _form_key(poster.get("/listings/new").get_data(as_text=True), "/listings/new")
    data = {"kind": "request", "category": "diy", "title": "Lend me a drill", "body": "For Saturday.",
            "miles": [str(author.mile_id)], "location_mode": "approximate", "client_key": key}
    first, second = poster.post("/listings/new", data=data), poster.post("/listings/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, Listing) == 1
    listing_id = int(first.headers["Location"].rstrip("/").rsplit("/", 1)[-1])

    answering = logged_in(app, responder)
    action = f"/conversations/answer/{listing_id}"
    answer = {"body": "Je peux.", "client_key": _form_key(answering.get(f"/listings/{listing_id}").get_data(as_text=True), action)}
    sent = [answering.post(action, data=answer) for _ in range(2)]
    assert [r.status_code for r in sent] == [303, 303]
    assert _count(app, Conversation) == 1 and _count(app, Message) == 1
    thread = sent[0].headers["Location"].split("#")[0]
    cid = int(re.search(r"/conversations/(\d+)", thread).group(1))
    action = f"/conversations/{cid}/messages"
    reply = {"body": "Samedi ?", "client_key": _form_key(answering.get(thread).get_data(as_text=True), action)}
    assert [answering.post(action, data=reply).status_code for _ in range(2)] == [303, 303]
    assert _count(app, Message) == 2
    # The page shown after it has a new key: the next message is a new one.
    again = {"body": "Ou dimanche ?", "client_key": _form_key(answering.get(thread).get_data(as_text=True), action)}
    assert again["client_key"] != reply["client_key"]
    assert answering.post(action, data=again).status_code == 303
    assert _count(app, Message) == 3


# --- The savepoint itself ------------------------------------------------------------------


def test_a_row_written_once_goes_away_with_a_request_that_fails_later(app, factory):
    """The savepoint is nested in the request's transaction on both backends: SQLite's
    driver opens its transaction lazily, and a SAVEPOINT taken first would commit on
    RELEASE, leaving the row of a request that then failed."""
    member, other = factory.member(), factory.member()
    with app.test_request_context():
        block, created = insert_once(
            lambda: db.session.scalar(select(Block).where(Block.blocker_id == member.id)),
            lambda: Block(blocker_id=member.id, blocked_id=other.id),
        )
        assert created and block.id
        db.session.rollback()  # what a failure later in the request does
    assert _count(app, Block) == 0

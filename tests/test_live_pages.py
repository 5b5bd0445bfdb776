"""Live where people are (issue 14, item 3): the answers under an author's open ad and the
finish panel of a conversation follow what happens, polled every 3 s; idle polls are 204,
answered from Redis without the database when REDIS_URL is set; the bell asks every 4 s."""

from __future__ import annotations

import re
import uuid

import pytest
import redis
from conftest import Factory
from helpers import html, logged_in
from test_live import REDIS_URL, Statements, only_the_member_loader

HTMX = {"HX-Request": "true"}


def _poller_url(page: str, endpoint: str) -> str:
    match = re.search(rf'hx-get="(/conversations/{endpoint}[^"]*)"', page)
    assert match, f"no {endpoint} poller in the page"
    return match.group(1).replace("&amp;", "&")


def test_a_new_answer_reaches_the_authors_open_ad_page(app):
    factory = Factory(app)
    anne, bruno = factory.member(language="en"), factory.member(first_name="Bruno", last_name="Petit")
    listing_id = factory.listing(anne, title="A ladder to lend")
    author = logged_in(app, anne, "en")
    page = html(author.get(f"/listings/{listing_id}"))
    assert "No answer yet." in page
    url = _poller_url(page, "answers/")
    assert 'hx-trigger="every 3s, visible-again from:body"' in page

    idle = author.get(url, headers=HTMX)
    assert idle.status_code == 204 and idle.data == b""
    factory.conversation(bruno, listing_id, "Can I borrow it?")
    fresh = author.get(url, headers=HTMX)
    assert fresh.status_code == 200
    fragment = html(fresh)
    assert fragment.lstrip().startswith("<section id=\"answers\"") and "Bruno P." in fragment
    assert "No answer yet." not in fragment
    # The new section polls from where it now stands.
    assert author.get(_poller_url(fragment, "answers/"), headers=HTMX).status_code == 204
    # Without htmx the poll URL is the ad's page.
    assert author.get(url).headers["Location"].endswith(f"/listings/{listing_id}")


def test_nobody_but_the_author_polls_the_answers(app):
    factory = Factory(app)
    anne, bruno = factory.member(), factory.member()
    listing_id = factory.listing(anne)
    factory.conversation(bruno, listing_id)
    url = f"/conversations/answers/{listing_id}?v=&state=0.0.0"
    assert logged_in(app, bruno).get(url, headers=HTMX).status_code == 404
    assert logged_in(app, factory.member()).get(url, headers=HTMX).status_code == 404
    assert app.test_client().get(url, headers=HTMX).status_code in (302, 401)


def test_the_finish_panel_follows_the_other_side(app):
    factory = Factory(app)
    anne, bruno = factory.member(language="en"), factory.member(language="en")
    listing_id = factory.listing(anne, kind="offer", title="A drill to lend")
    conversation_id = factory.conversation(bruno, listing_id, "Can I borrow it?")
    responder = logged_in(app, bruno, "en")
    page = html(responder.get(f"/conversations/{conversation_id}"))
    url = _poller_url(page, f"{conversation_id}/finish")
    assert responder.get(url, headers=HTMX).status_code == 204

    factory.completion(anne, conversation_id)  # the author marks it done: Bruno is asked to confirm
    fresh = responder.get(url, headers=HTMX)
    assert fresh.status_code == 200
    assert "Confirm the service" in html(fresh)
    # Anne's panel too: she waits for Bruno, then sees it confirmed.
    author = logged_in(app, anne, "en")
    author_url = _poller_url(html(author.get(f"/conversations/{conversation_id}")), f"{conversation_id}/finish")
    assert author.get(author_url, headers=HTMX).status_code == 204
    from onemile.conversations import services as conversations
    from onemile.models import Completion

    with app.app_context():
        from onemile.extensions import db

        completion_id = db.session.query(Completion.id).filter_by(conversation_id=conversation_id).scalar()
    factory.act(lambda m: conversations.confirm(m, completion_id), bruno)
    confirmed = author.get(author_url, headers=HTMX)
    assert confirmed.status_code == 200 and "Done" in html(confirmed)
    # An outsider gets nothing.
    outsider = logged_in(app, factory.member())
    assert outsider.get(author_url, headers=HTMX).status_code == 404


# --- With Redis: idle polls never reach the database -----------------------------------------


@pytest.fixture
def redis_app(make_app):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"no Redis server at {REDIS_URL}: {error}")
    prefix = f"onemile-test-{uuid.uuid4().hex}"
    yield make_app(REDIS_URL=REDIS_URL, LIVE_KEY_PREFIX=f"{prefix}:live")
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def test_idle_polls_are_answered_by_redis_and_changes_still_arrive(redis_app):
    app = redis_app
    factory = Factory(app)
    anne, bruno = factory.member(language="en"), factory.member(first_name="Bruno", last_name="Petit")
    listing_id = factory.listing(anne, kind="offer")
    conversation_id = factory.conversation(bruno, listing_id, "Is it free?")
    author = logged_in(app, anne, "en")
    answers_url = _poller_url(html(author.get(f"/listings/{listing_id}")), "answers/")
    finish_url = _poller_url(html(author.get(f"/conversations/{conversation_id}")), f"{conversation_id}/finish")
    author.get(answers_url, headers=HTMX)  # warm up
    for url in (answers_url, finish_url):
        with Statements(app) as statements:
            idle = author.get(url, headers=HTMX)
        assert idle.status_code == 204
        assert only_the_member_loader(statements), statements
    # A forged version goes to the database, which checks who asks.
    outsider = logged_in(app, factory.member())
    assert outsider.get(re.sub(r"v=[0-9a-f]+", "v=0", answers_url), headers=HTMX).status_code == 404
    # A second answer and a step of the service change the versions: the pages fetch.
    factory.conversation(factory.member(first_name="Chloé", last_name="Roux"), listing_id, "Me too?")
    assert "Chloé R." in html(author.get(answers_url, headers=HTMX))
    factory.completion(anne, conversation_id)
    assert author.get(finish_url, headers=HTMX).status_code == 200

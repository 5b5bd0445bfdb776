"""Authorization matrix, generated from the app's URL map.

Every route that takes an object id (an `<int:…>` argument) is called, with GET and POST
as the route allows, by four people who must not reach the victim's objects: another
member, an anonymous visitor, a member the victim blocked, and a suspended member. Each
must get 403, 404 or a redirect to the login page: never the victim's data, never a 500,
and nothing in the database may change.

A route added later is covered without touching this test. If its id argument has a name
this test does not know, the test fails and says which name to add to ID_ARGS below (with
the victim's object of that kind in the `world` fixture): new features register their ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from conftest import MemberRef
from helpers import logged_in
from sqlalchemy import func, select

from onemile.extensions import db
from onemile.models import Member, Message
from onemile.moderation import services as moderation

# Argument name -> key of the victim's object in World.ids. Add yours here.
ID_ARGS = {
    "listing_id": "listing",
    "conversation_id": "conversation",
    "completion_id": "completion",
    "mile_id": "mile",
    "message_id": "message",
    "notification_id": "notification",
    "member_id": "victim",
    "report_id": "report",
    "project_id": "project",
    "task_id": "task",
    "pledge_id": "pledge",
    "volunteer_id": "volunteer",
    "mag_id": "mag",
    "article_id": "article",
    "photo_id": "photo",
    "comment_id": "comment",
    "session_id": "login_session",
}
# Report targets: target type -> key of the victim's object in World.ids. A feature that
# registers a reportable type (moderation.services.register_reportable) adds it here.
REPORT_TARGETS = {
    "listing": "listing",
    "message": "message",
    "member": "victim",
    "project": "project",
    "project_update": "project_update",
    "mag": "mag",
    "article": "article",
    "comment": "comment",
}
# (endpoint, target type) pairs other members may legitimately reach: anyone who can see a
# member's name may report that member (the form shows the public display name only).
REPORTING_A_MEMBER = {("moderation.report", "member")}
# Endpoints any member may use on any member they come across: blocking (and lifting one's
# own block) is each member's own choice about the victim, not a reach into the victim's data
# (the matrix blocks, then unblocks: the row counts end as they began).
BLOCKING_A_MEMBER = {"account.block", "account.unblock"}
SECRETS = ("Victim secret bike", "victim secret message", "Victim secret project", "Victim secret news",
           "Victim secret article", "Victim secret comment")


@dataclass
class World:
    """The victim's objects, and the ids of everything the callers must not reach."""

    ids: dict[str, int]
    victim_email: str
    victim: MemberRef


@pytest.fixture
def world(app, factory) -> World:
    """A victim with a mile, a listing (closed, so private), a conversation with a partner,
    a message, a pending completion, a notification and a report; a project with a task,
    the partner's pledge and accepted offer to volunteer, and news; and a mag (hidden by a
    moderator, so private) with a draft article holding a photo and a published article
    holding the victim's comment.

    An approved project's page is public on purpose, so the victim's project is one a
    moderator hid: nobody but the moderators may read it or support it, while its owner
    still could answer volunteers or mark pledges received (the owner-only routes are
    what this matrix proves nobody else reaches)."""
    from onemile.listings.services import close_listing
    from onemile.models import Completion, Notification, Project
    from onemile.projects import services as projects

    victim = factory.member(email="victim@example.org", first_name="Victor")
    partner = factory.member(email="partner@example.org", first_name="Pat")
    modo = factory.member(email="modo@example.org", first_name="Modo")
    listing_id = factory.listing(victim, title="Victim secret bike", body="Only for Pat")
    conversation_id = factory.conversation(partner, listing_id, "Hello, is it free?",
                                           replies=((victim, "victim secret message"),))
    completion_id = factory.completion(victim, conversation_id)
    factory.act(lambda member: close_listing(member, listing_id), victim)
    with app.app_context():
        partner_message, victim_message = (db.session.scalar(
            select(Message.id).where(Message.conversation_id == conversation_id, Message.sender_id == sender.id)
        ) for sender in (partner, victim))
    report_id = factory.report(victim, "message", partner_message, "spam", "victim secret message")
    with app.app_context():
        notification = db.session.scalar(select(Notification.id).where(Notification.member_id == victim.id))
    factory.moderator(modo)
    project_id = factory.project(victim, "Victim secret project", "A shared garden", "Victim secret plans",
                                 approved_by=modo)
    pledge_id = factory.pledge(partner, project_id, "20", "For the seeds")
    with app.test_request_context():
        victim_row = db.session.get(Member, victim.id)
        task_id = db.session.get(Project, project_id).tasks[0].id
        offer = projects.volunteer(db.session.get(Member, partner.id), project_id, task_id, "I can build")
        projects.answer_volunteer(victim_row, project_id, offer.id, True)
        news = projects.post_update(victim_row, project_id, "Victim secret news")
        moderation.moderate(db.session.get(Member, modo.id), "project", project_id, "hide", None)
        db.session.commit()
        ids = {
            "victim": victim.id, "listing": listing_id, "conversation": conversation_id,
            "completion": completion_id, "mile": victim.mile_id, "message": victim_message,
            "notification": notification, "report": report_id,
            "project": project_id, "task": task_id, "pledge": pledge_id, "volunteer": offer.id,
            "project_update": news.id,
        }
        assert db.session.get(Completion, completion_id).status == "pending"
    ids["mag"], ids["article"], ids["photo"], ids["comment"] = _victims_mag(app, factory, victim)
    # The victim logged in on a device: another member must not log it out. (Through the
    # service: a request here would freeze the app before a test adds a route to it.)
    from onemile.auth.sessions import open_session

    with app.test_request_context():
        victim_row = db.session.get(Member, victim.id)
        open_session(victim_row, "Firefox")
        ids["login_session"] = victim_row.login_session_id
        db.session.commit()
    assert all(ids.values()), ids
    return World(ids, victim.email, victim)


def _victims_mag(app, factory, victim) -> tuple[int, int, int, int]:
    """The victim's mag, hidden by a moderator; a draft article (drafts are private) with a
    photo; a comment of the victim's under a published article. Returns their ids."""
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from onemile.mags import services as mags
    from onemile.models import Article, Mag, utcnow

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    photo = mags.NewPhoto(FileStorage(io.BytesIO(buffer.getvalue()), filename="p.jpg"), "Victim photo")
    mag = factory.mag(victim, "Victim mag", "About it")
    published = factory.article(victim, mag, "Victim news", "Public text")
    comment = factory.comment(victim, mag, published, "Victim secret comment")
    draft = factory.article(victim, mag, "Victim secret article", "Victim secret article", published=False,
                            photos=(photo,))
    with app.app_context():
        db.session.get(Mag, mag).hidden_at = utcnow()
        db.session.commit()
        return mag, draft, db.session.get(Article, draft).photos[0].id, comment


@pytest.fixture
def callers(app, factory, world) -> dict:
    """Clients of the four people who must not reach the victim's objects."""
    other = factory.member(email="other@example.org")
    blocked = factory.member(email="blocked@example.org")
    suspended = factory.member(email="suspended@example.org")
    factory.block(world.victim, blocked)
    clients = {
        "anonymous": app.test_client(),
        "other member": logged_in(app, other),
        "blocked member": logged_in(app, blocked),
        "suspended member": logged_in(app, suspended),
    }
    with app.app_context():
        moderation.suspend(db.session.get(Member, suspended.id))
        db.session.commit()
    return clients


def _cases(app, world: World) -> list[tuple[str, str, str, str | None]]:
    """(endpoint, method, url, target type) for every route with an object id."""
    cases, unknown = [], []
    for rule in app.url_map.iter_rules():
        int_args = [name for name, conv in rule._converters.items() if conv.regex.startswith(r"\d")]
        if not int_args:
            continue
        other_args = [name for name in rule.arguments if name not in int_args]
        values_list = [{}]
        if other_args == ["target_type"] and int_args == ["target_id"]:
            missing = [t for t in moderation.reportable_types() if t not in REPORT_TARGETS]
            unknown += [f"{rule.rule}: reportable type {t!r} (add it to REPORT_TARGETS)" for t in missing]
            values_list = [{"target_type": t, "target_id": world.ids[REPORT_TARGETS[t]]}
                           for t in moderation.reportable_types() if t in REPORT_TARGETS]
        else:
            for name in other_args:
                unknown.append(f"{rule.rule}: argument {name!r} (teach this test how to fill it)")
            for name in int_args:
                if name not in ID_ARGS:
                    unknown.append(
                        f"{rule.rule}: <int:{name}> is unknown. Add {name!r} to ID_ARGS in "
                        "tests/test_authorization_matrix.py, with the victim's object of that kind in the "
                        "`world` fixture, so that other members are proven unable to reach it."
                    )
            values_list = [{name: world.ids[ID_ARGS[name]] for name in int_args if name in ID_ARGS}]
        for values in values_list:
            if len(values) != len(rule.arguments):
                continue
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **values, _external=False)
            for method in sorted(rule.methods & {"GET", "POST"}):
                cases.append((rule.endpoint, method, url, values.get("target_type")))
    if unknown:
        pytest.fail("Routes this authorization matrix cannot fill yet:\n" + "\n".join(unknown))
    return cases


def _snapshot(app) -> dict:
    """Row counts of every table of the models, and the state columns actions would change."""
    from onemile.models import (
        Article,
        Comment,
        Completion,
        Listing,
        Mag,
        Mile,
        Pledge,
        Project,
        ProjectUpdate,
        Volunteer,
    )

    with app.app_context():
        counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
                  for table in db.metadata.sorted_tables}
        states = (
            tuple(db.session.execute(select(Listing.id, Listing.status, Listing.title, Listing.hidden_at)).all()),
            tuple(db.session.execute(select(Completion.id, Completion.status)).all()),
            tuple(db.session.execute(select(Mile.id, Mile.name, Mile.is_primary)).all()),
            tuple(db.session.execute(select(Member.id, Member.suspended_at, Member.is_moderator)).all()),
            tuple(db.session.execute(
                select(Project.id, Project.status, Project.title, Project.hidden_at, Project.closed_at)).all()),
            tuple(db.session.execute(select(Pledge.id, Pledge.received_at)).all()),
            tuple(db.session.execute(select(Volunteer.id, Volunteer.status)).all()),
            tuple(db.session.execute(select(ProjectUpdate.id, ProjectUpdate.hidden_at)).all()),
            tuple(db.session.execute(select(Mag.id, Mag.title, Mag.about, Mag.hidden_at)).all()),
            tuple(db.session.execute(select(Article.id, Article.title, Article.status, Article.hidden_at)).all()),
            tuple(db.session.execute(select(Comment.id, Comment.body, Comment.hidden_at)).all()),
        )
        return {"counts": counts, "states": states}


def _acceptable(caller: str, endpoint: str, target_type: str | None, response) -> bool:
    if response.status_code in (403, 404):
        return True
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if re.search(r"/auth/login(\?|$)", location):
            return True
    if (endpoint, target_type) in REPORTING_A_MEMBER and caller in ("other member", "blocked member"):
        return response.status_code in (200, 303)
    if endpoint in BLOCKING_A_MEMBER and caller in ("other member", "blocked member"):
        return response.status_code in (302, 303)
    return False


def test_nobody_else_reaches_the_victims_objects(app, world, callers):
    cases = _cases(app, world)
    assert any(endpoint == "listings.edit" for endpoint, *_ in cases), "the URL map was read"
    before = _snapshot(app)
    failures = []
    for endpoint, method, url, target_type in cases:
        for caller, client in callers.items():
            response = client.open(url, method=method, data={
                "body": "x", "name": "Hijacked", "reason": "spam", "action": "hide", "title": "Hijacked",
                "latitude": "47.75", "longitude": "7.33",
            })
            body = response.get_data(as_text=True)
            if not _acceptable(caller, endpoint, target_type, response) or any(s in body for s in SECRETS):
                failures.append(f"{caller} {method} {url} ({endpoint}) -> {response.status_code}")
    reporting = {"report"}  # reporting a member is the one write other members may make
    after = _snapshot(app)
    changed = {name for name in before["counts"] if before["counts"][name] != after["counts"][name]}
    assert not failures, "\n".join(failures)
    assert changed <= reporting, changed
    assert before["states"] == after["states"]


def test_an_unknown_id_argument_fails_loudly(app, world):
    """A route with an id this test does not know makes the matrix fail with a clear message."""

    @app.get("/test-only/<int:gizmo_id>")
    def gizmo(gizmo_id):  # pragma: no cover - never called
        return ""

    with pytest.raises(pytest.fail.Exception, match=r"Add 'gizmo_id' to ID_ARGS"):
        _cases(app, world)


def test_ids_in_query_strings_do_not_reach_the_victims_miles(app, world, callers):
    """Pages without an id in the path may take one in the query (`?mile=`): another
    member's mile id falls back to the caller's own mile, never shows the victim's."""
    from onemile.miles.services import rename_mile

    with app.test_request_context():
        rename_mile(db.session.get(Member, world.ids["victim"]), world.ids["mile"], "Victim secret mile")
    pages = [rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"]
    assert any(rule.endpoint == "map.show" for rule in pages)
    for rule in pages:
        for caller, client in callers.items():
            with client.get(rule.rule, query_string={"mile": world.ids["mile"]}) as response:
                body = response.get_data(as_text=True)
            assert response.status_code < 500, (caller, rule.rule)
            assert "Victim secret mile" not in body, (caller, rule.rule)

"""Reports and moderation: members report ads, messages and members; moderators hide,
warn, suspend, reinstate or dismiss from a queue; every action is in the audit log."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from helpers import assert_see_other, count, csrf_token_in, html, logged_in
from sqlalchemy import select, update

from onemile.extensions import db
from onemile.models import Member, Message, ModerationAction, Notification, Report
from onemile.moderation import services as moderation


@pytest.fixture
def world(app, factory, anne, bruno):
    """Anne posts an ad; Bruno answers it; Chloé moderates."""
    chloe = factory.moderator(language="en", first_name="Chloé", email="chloe@example.org")
    listing_id = factory.listing(anne, title="Vélo à donner")
    bruno_client = logged_in(app, bruno, "en")
    answered = bruno_client.post(f"/conversations/answer/{listing_id}", data={"body": "Buy cheap pills here"})
    conversation_id = int(re.search(r"/conversations/(\d+)", answered.headers["Location"]).group(1))
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).where(Message.conversation_id == conversation_id))
    return {
        "anne": anne, "bruno": bruno, "chloe": chloe, "listing_id": listing_id,
        "conversation_id": conversation_id, "message_id": message_id,
        "anne_client": logged_in(app, anne, "en"), "bruno_client": bruno_client, "chloe_client": logged_in(app, chloe, "en"),
    }


def test_report_links_sit_next_to_ads_messages_and_members(app, world):
    page = html(world["bruno_client"].get(f"/listings/{world['listing_id']}"))
    assert f"/report/listing/{world['listing_id']}" in page
    assert f"/report/member/{world['anne'].id}" in page
    thread = html(world["anne_client"].get(f"/conversations/{world['conversation_id']}"))
    assert f"/report/message/{world['message_id']}" in thread
    assert f"/report/member/{world['bruno'].id}" in thread
    # Nobody is offered to report their own ad or message.
    own = html(world["anne_client"].get(f"/listings/{world['listing_id']}"))
    assert "/report/listing/" not in own


def test_a_member_reports_an_ad_once_and_a_double_submit_is_harmless(app, world):
    client, listing_id = world["bruno_client"], world["listing_id"]
    form = client.get(f"/report/listing/{listing_id}?next=/listings/{listing_id}")
    assert form.status_code == 200
    assert "Vélo à donner" in html(form) and 'name="reason"' in html(form)
    for _ in range(2):
        sent = client.post(f"/report/listing/{listing_id}",
                           data={"reason": "scam", "details": "Asks for money first", "next": f"/listings/{listing_id}"})
        assert_see_other(sent)
        assert sent.headers["Location"].endswith(f"/listings/{listing_id}")
    assert count(app, Report, Report.target_type == "listing", Report.target_id == listing_id) == 1
    assert "You have already reported this" in html(client.get(f"/report/listing/{listing_id}"))


def test_a_report_needs_a_known_reason_and_keeps_what_was_typed(app, world):
    client = world["bruno_client"]
    for reason in ("", "nonsense"):
        refused = client.post(f"/report/listing/{world['listing_id']}", data={"reason": reason, "details": "Typed <b>text</b>"})
        assert refused.status_code == 422
        assert "Typed &lt;b&gt;text&lt;/b&gt;" in html(refused)
    huge = client.post(f"/report/listing/{world['listing_id']}", data={"reason": "spam", "details": "x" * 5000})
    assert huge.status_code == 422
    assert count(app, Report) == 0


def test_nobody_reports_what_they_cannot_see_or_their_own_things(app, world, factory):
    outsider = logged_in(app, factory.member(language="en"), "en")
    # A message is private to the two members of its conversation.
    assert outsider.get(f"/report/message/{world['message_id']}").status_code == 404
    assert outsider.post(f"/report/message/{world['message_id']}", data={"reason": "spam"}).status_code == 404
    assert world["bruno_client"].get(f"/report/message/{world['message_id']}").status_code == 404, "own message"
    assert world["anne_client"].get(f"/report/listing/{world['listing_id']}").status_code == 404, "own ad"
    assert world["anne_client"].get(f"/report/member/{world['anne'].id}").status_code == 404, "oneself"
    assert outsider.get("/report/unknown/1").status_code == 404
    assert outsider.get("/report/listing/999999").status_code == 404
    assert app.test_client().get(f"/report/listing/{world['listing_id']}").status_code == 302, "visitors log in"
    assert count(app, Report) == 0


def test_reporting_needs_csrf_and_is_rate_limited(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True)
    from conftest import Factory

    make = Factory(app)
    author, reporter = make.member(), make.member()
    listing_ids = [make.listing(author, title=f"Ad {i}") for i in range(12)]
    client = app.test_client()
    page = client.get("/auth/login")
    token = csrf_token_in(html(page))
    client.post("/auth/login", data={"email": reporter.email, "password": reporter.password, "csrf_token": token})
    assert client.post(f"/report/listing/{listing_ids[0]}", data={"reason": "spam"}).status_code == 400
    form = html(client.get(f"/report/listing/{listing_ids[0]}"))
    token = csrf_token_in(form)
    answers = [client.post(f"/report/listing/{lid}", data={"reason": "spam", "csrf_token": token}).status_code
               for lid in listing_ids]
    assert answers[:10] == [303] * 10
    assert answers[10:] == [429, 429]
    assert count(app, Report) == 10


def test_the_queue_is_for_moderators_only_and_groups_reports_by_target(app, world, factory):
    for member in (world["bruno"], factory.member(language="en")):
        logged_in(app, member, "en").post(f"/report/listing/{world['listing_id']}", data={"reason": "spam"})
    world["anne_client"].post(f"/report/message/{world['message_id']}", data={"reason": "scam", "details": "pills"})
    for path in ("/moderation/", "/moderation/log"):
        assert world["anne_client"].get(path).status_code == 404
        assert app.test_client().get(path).status_code == 302
    assert world["anne_client"].post(f"/moderation/listing/{world['listing_id']}", data={"action": "hide"}).status_code == 404
    queue = world["chloe_client"].get("/moderation/")
    assert queue.status_code == 200
    page = html(queue)
    assert page.count('id="target-listing-') == 1 and "2 reports" in page
    assert "Buy cheap pills here" in page and "pills" in page
    assert page.index("target-listing-") < page.index("target-message-"), "most reported first"


def test_hiding_an_ad_removes_it_everywhere_but_for_moderators(app, world, factory):
    listing_id = world["listing_id"]
    world["bruno_client"].post(f"/report/listing/{listing_id}", data={"reason": "scam"})
    other = logged_in(app, factory.member(language="en"), "en")
    assert "Vélo à donner" in html(other.get("/listings/"))
    hidden = world["chloe_client"].post(f"/moderation/listing/{listing_id}", data={"action": "hide", "reason": "Scam"})
    assert_see_other(hidden)
    for client in (other, world["anne_client"], world["bruno_client"]):
        assert client.get(f"/listings/{listing_id}").status_code == 404
        assert "Vélo à donner" not in html(client.get("/listings/"))
        assert "Vélo à donner" not in html(client.get("/map/markers", headers={"HX-Request": "true"}))
        assert "Vélo à donner" not in html(client.get("/map/nearest", headers={"HX-Request": "true"}))
    assert "Vélo à donner" not in html(app.test_client().get("/explore"))
    assert "Hidden by moderation" in html(world["anne_client"].get("/listings/mine"))
    assert other.post(f"/conversations/answer/{listing_id}", data={"body": "hi"}).status_code == 404
    assert world["chloe_client"].get(f"/listings/{listing_id}").status_code == 200
    assert count(app, Report, Report.status == "open") == 0
    assert count(app, ModerationAction, ModerationAction.action == "hide") == 1
    # Shown again from the log.
    log = html(world["chloe_client"].get("/moderation/log"))
    assert "Scam" in log and "Show again" in log
    world["chloe_client"].post(f"/moderation/listing/{listing_id}", data={"action": "unhide"})
    assert other.get(f"/listings/{listing_id}").status_code == 200


def test_a_hidden_message_reads_as_hidden_to_both_members(app, world):
    world["anne_client"].post(f"/report/message/{world['message_id']}", data={"reason": "spam"})
    world["chloe_client"].post(f"/moderation/message/{world['message_id']}", data={"action": "hide"})
    for client in (world["anne_client"], world["bruno_client"]):
        page = html(client.get(f"/conversations/{world['conversation_id']}"))
        assert "Buy cheap pills here" not in page
        assert "Message hidden by moderation." in page


def test_a_warning_notifies_and_emails_the_member_and_needs_a_reason(app, world, outbox):
    world["anne_client"].post(f"/report/member/{world['bruno'].id}", data={"reason": "offensive"})
    refused = world["chloe_client"].post(f"/moderation/member/{world['bruno'].id}", data={"action": "warn", "reason": ""})
    assert refused.status_code == 422
    assert "Say why" in html(refused)
    assert count(app, ModerationAction) == 0
    world["chloe_client"].post(f"/moderation/member/{world['bruno'].id}",
                               data={"action": "warn", "reason": "Please stay polite."})
    assert count(app, Notification, Notification.member_id == world["bruno"].id,
                 Notification.kind == "moderation_warning") == 1
    assert "Please stay polite." in html(world["bruno_client"].get("/notifications/"))
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox.glob("*.eml")]
    [warning] = [m for m in mails if m["To"] == world["bruno"].email and "moderators" in m["Subject"]]
    assert "Please stay polite." in warning.get_content()
    assert "turn these e-mails off" not in warning.get_content()


def test_a_warning_is_emailed_even_to_members_who_turned_emails_off(app, world, outbox):
    with app.app_context():
        db.session.execute(update(Member).where(Member.id == world["bruno"].id).values(email_notifications=False))
        db.session.commit()
    world["chloe_client"].post(f"/moderation/member/{world['bruno'].id}", data={"action": "warn", "reason": "Last call."})
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox.glob("*.eml")]
    assert any(m["To"] == world["bruno"].email and "Last call." in m.get_content() for m in mails)


def test_a_suspended_member_is_logged_out_cannot_log_in_and_their_ads_hide(app, world, factory):
    second = factory.listing(world["anne"], title="Cours de guitare")
    anne_client = world["anne_client"]
    assert anne_client.get("/map").status_code == 200
    world["chloe_client"].post(f"/moderation/member/{world['anne'].id}", data={"action": "suspend", "reason": "Scams"})
    assert anne_client.get("/map").status_code == 302, "the open session stops working"
    login = app.test_client().post("/auth/login", data={"email": world["anne"].email, "password": world["anne"].password})
    assert login.status_code == 422
    wrong = app.test_client().post("/auth/login", data={"email": world["anne"].email, "password": "wrong password!"})
    assert "suspended" not in html(wrong), "only the right password learns of the suspension"
    for listing_id in (world["listing_id"], second):
        assert world["bruno_client"].get(f"/listings/{listing_id}").status_code == 404
    # Reinstating brings back what the suspension hid, not what a moderator hid.
    world["chloe_client"].post(f"/moderation/listing/{second}", data={"action": "hide"})
    world["chloe_client"].post(f"/moderation/member/{world['anne'].id}", data={"action": "reinstate"})
    assert world["bruno_client"].get(f"/listings/{world['listing_id']}").status_code == 200
    assert world["bruno_client"].get(f"/listings/{second}").status_code == 404
    assert logged_in(app, world["anne"], "en").get("/map").status_code == 200
    actions = [a for (a,) in db_rows(app, select(ModerationAction.action).order_by(ModerationAction.id))]
    assert actions == ["suspend", "hide", "reinstate"]


def db_rows(app, stmt):
    with app.app_context():
        return db.session.execute(stmt).all()


def test_dismissing_closes_the_reports_and_is_logged(app, world):
    world["bruno_client"].post(f"/report/listing/{world['listing_id']}", data={"reason": "other"})
    world["chloe_client"].post(f"/moderation/listing/{world['listing_id']}", data={"action": "dismiss", "reason": "Fine"})
    assert count(app, Report, Report.status == "dismissed") == 1
    assert world["bruno_client"].get(f"/listings/{world['listing_id']}").status_code == 200
    log = html(world["chloe_client"].get("/moderation/log"))
    assert "Dismiss the reports" in log and "Fine" in log and "Chloé" in log
    # A new report after a dismissal opens again.
    world["bruno_client"].post(f"/report/listing/{world['listing_id']}", data={"reason": "spam"})
    assert count(app, Report, Report.status == "open") == 1


def test_moderators_cannot_suspend_themselves_and_unknown_actions_are_refused(app, world):
    chloe = world["chloe_client"]
    assert chloe.post(f"/moderation/member/{world['chloe'].id}", data={"action": "suspend"}).status_code == 422
    assert chloe.post(f"/moderation/member/{world['anne'].id}", data={"action": "explode"}).status_code == 422
    assert chloe.post(f"/moderation/member/{world['anne'].id}", data={"action": "hide"}).status_code == 422
    assert chloe.post("/moderation/nothing/1", data={"action": "hide"}).status_code == 404
    assert chloe.post("/moderation/listing/999999", data={"action": "hide"}).status_code == 404
    assert count(app, ModerationAction) == 0
    with app.app_context():
        assert db.session.get(Member, world["chloe"].id).suspended_at is None


def test_the_registry_takes_new_kinds_of_content(app, world):
    """Projects, mags, articles and comments plug in with one call."""
    seen = {}
    moderation.register_reportable(
        "test_thing",
        label="Thing",
        fetch=lambda thing_id: {"id": thing_id} if thing_id == 7 else None,
        visible_to=lambda viewer, thing: True,
        describe=lambda thing: moderation.Described("A thing", "", world["anne"].id, None),
        hide=lambda thing: seen.setdefault("hidden", thing["id"]),
        unhide=lambda thing: None,
    )
    try:
        assert world["bruno_client"].post("/report/test_thing/7", data={"reason": "spam"}).status_code == 303
        assert world["bruno_client"].get("/report/test_thing/8").status_code == 404
        assert "A thing" in html(world["chloe_client"].get("/moderation/"))
        world["chloe_client"].post("/moderation/test_thing/7", data={"action": "hide"})
        assert seen == {"hidden": 7}
    finally:
        moderation._reportables.pop("test_thing")


def test_moderation_pages_are_accessible_and_have_no_inline_script(app, world):
    world["bruno_client"].post(f"/report/listing/{world['listing_id']}", data={"reason": "spam"})
    world["chloe_client"].post(f"/moderation/member/{world['bruno'].id}", data={"action": "warn", "reason": "Be kind"})
    for path in ("/moderation/", "/moderation/log", f"/report/member/{world['anne'].id}"):
        client = world["chloe_client"]
        page = html(client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " style=" not in page, path
        for textarea_id in re.findall(r'<textarea[^>]*id="([^"]+)"', page):
            assert f'for="{textarea_id}"' in page, (path, textarea_id)
        assert 'name="csrf_token"' in page

"""Web Push in Chromium (issue 14, item 2): a push delivered to the real service worker through
the DevTools protocol shows a notification, and opening it brings the member to the page it
is about. The payload is the one the server writes for a real notification."""

from __future__ import annotations

import json
import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Member, Notification
from onemile.push import payload


def _payload_for(app, member_id: int) -> dict:
    with app.app_context():
        notification = db.session.scalars(select(Notification).where(Notification.member_id == member_id)).one()
        return payload.compose(notification, db.session.get(Member, member_id))


@pytest.mark.browser
def test_a_push_shows_a_notification_that_opens_the_conversation(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="fr")
    bruno = factory.member(first_name="Bruno", last_name="Petit")
    listing_id = factory.listing(anne, title="Une échelle à prêter")
    conversation_id = factory.conversation(bruno, listing_id, body="Je peux l'emprunter ?")
    message = _payload_for(app, anne.id)
    assert message["url"] == f"/conversations/{conversation_id}"

    page = new_page(locale="fr-FR", permissions=["notifications"])
    log_in_browser(page, base, anne)
    page.goto(f"{base}/account/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_function("true")  # let the registration events arrive
    for _ in range(50):
        if registrations:
            break
        page.wait_for_timeout(100)
    registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == f"{base}/")
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": base, "registrationId": registration_id, "data": json.dumps(message)})

    worker = page.context.service_workers[0]
    shown = []
    for _ in range(50):
        shown = worker.evaluate("self.registration.getNotifications().then((list) => list.map("
                                "(n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url, lang: n.lang})))")
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == [{"title": "Nouvelle réponse", "body": message["body"], "tag": message["tag"],
                      "url": f"/conversations/{conversation_id}", "lang": "fr"}]
    assert "Bruno P." in shown[0]["body"] and "Une échelle à prêter" in shown[0]["body"]

    # A push with nothing readable still shows something (browsers require it).
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": base, "registrationId": registration_id, "data": "{"})
    page.wait_for_function("true")
    for _ in range(50):
        titles = worker.evaluate("self.registration.getNotifications().then((l) => l.map((n) => n.title))")
        if len(titles) == 2:
            break
        page.wait_for_timeout(100)
    assert sorted(titles) == ["1Mile", "Nouvelle réponse"]

    # Opening it (what notificationclick does; a test cannot click a system notification).
    tag = json.dumps(message["tag"])
    worker.evaluate(f"self.registration.getNotifications({{tag: {tag}}}).then((l) => self.onemileOpenPage(l[0]))")
    page.wait_for_url(re.compile(rf"/conversations/{conversation_id}$"))
    expect(page.locator(f"#messages-{conversation_id}")).to_contain_text("Je peux l'emprunter ?")
    assert page.errors == []


@pytest.mark.browser
def test_the_worker_tells_the_server_when_the_browser_replaced_the_subscription(live_server, new_page):
    # What `pushsubscriptionchange` runs, called in the real worker with the subscriptions a
    # browser would hand it (a test cannot make Chromium rotate them): the server then
    # pushes to the new one, for the same member.
    from test_push import Device

    from onemile.models import PushSubscription
    from onemile.push import services

    app, base = live_server.app, live_server.url
    anne = Factory(app).member(language="fr")
    old, new = Device("https://fcm.googleapis.com/fcm/send/old"), Device("https://fcm.googleapis.com/fcm/send/new")
    with app.app_context():
        services.subscribe(db.session.get(Member, anne.id), **old.fields)
        db.session.commit()
    page = new_page(locale="fr-FR")
    page.goto(f"{base}/")
    page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    worker = page.context.service_workers[0]
    status = worker.evaluate(
        """([old, fresh]) => self.onemileRenewSubscription(
             {endpoint: old.endpoint, toJSON: () => ({keys: {auth: old.auth, p256dh: old.p256dh}})},
             {endpoint: fresh.endpoint, toJSON: () => ({keys: {auth: fresh.auth, p256dh: fresh.p256dh}})})
           .then((response) => response.status)""",
        [old.fields, new.fields],
    )
    assert status == 204
    with app.app_context():
        assert db.session.execute(select(PushSubscription.endpoint, PushSubscription.member_id)).all() == [
            (new.endpoint, anne.id)
        ]
    assert page.errors == []

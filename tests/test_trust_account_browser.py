"""Trust and account in real Chromium: a member blocks another from their conversation, the
blocked one can no longer write nor see her listing; then she downloads her data and
deletes her account."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PASSWORD, Factory, log_in_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_block_then_download_and_delete_my_account(live_server, new_page, tmp_path):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="en")
    bruno = factory.member(first_name="Bruno", last_name="Petit", language="en")
    listing_id = factory.listing(anne, title="Lend me a ladder", kind="request", offer_type=None)

    # Bruno answers Anne's request.
    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    b.goto(f"{base}/listings/{listing_id}")
    b.get_by_label("Your message to Anne M.").fill("I have one, when do you need it?")
    b.get_by_role("button", name="Send").click()
    b.wait_for_url(re.compile(r"/conversations/\d+#reply-\d+$"))
    conversation_url = b.url.split("#")[0]

    # Anne blocks him from the conversation; he is listed on her account page.
    a = new_page(locale="en-GB")
    log_in_browser(a, base, anne)
    a.goto(conversation_url)
    # Blocking asks first: the first tap only opens the question, the second acts.
    a.locator("summary", has_text="Block Bruno P.").click()
    expect(a.get_by_text("Neither of you will see the other's listings")).to_be_visible()
    a.get_by_role("button", name="Yes, block Bruno P.").click()
    a.wait_for_url(re.compile(r"/account/#blocks$"))
    expect(a.locator(".flashes")).to_contain_text("You blocked Bruno P.")
    expect(a.locator("#blocks")).to_contain_text("Bruno P.")

    # Bruno's page is still open: his next message is refused, on the form.
    b.get_by_label("Your reply").fill("Hello?")
    b.get_by_role("button", name="Send").click()
    expect(b.locator("form.reply .error")).to_have_text("You can no longer write in this conversation.")
    b.reload()
    expect(b.locator(".thread .notice")).to_have_text("You can no longer write in this conversation.")
    expect(b.get_by_label("Your reply")).to_have_count(0)
    response = b.goto(f"{base}/listings/{listing_id}")
    assert response.status == 404

    # Anne downloads her data: a JSON file with her exact mile centre and her listing.
    a.goto(f"{base}/account/")
    with a.expect_download() as download_info:
        a.get_by_role("link", name="Download my data (JSON)").click()
    path = tmp_path / "export.json"
    download_info.value.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["profile"]["email"] == anne.email
    assert [listing["title"] for listing in data["listings"]] == ["Lend me a ladder"]
    assert data["blocks"][0]["name"] == "Bruno P."

    # She deletes her account: a wrong password first, then the right one.
    a.get_by_label("Your password").fill("not my password")
    a.get_by_label(re.compile("I understand")).check()
    a.get_by_role("button", name="Delete my account").click()
    expect(a.locator("#delete .error")).to_contain_text("Wrong password.")
    a.get_by_label("Your password").fill(PASSWORD)
    a.get_by_label(re.compile("I understand")).check()
    a.get_by_role("button", name="Delete my account").click()
    expect(a.locator(".flashes")).to_contain_text("Your account is deleted.")
    a.goto(f"{base}/auth/login")
    a.fill("#email", anne.email)
    a.fill("#password", PASSWORD)
    a.click("form.stack button[type=submit]")
    expect(a.locator("form.stack")).to_contain_text("Wrong e-mail or password.")

    # Bruno's conversation now speaks of a former member.
    b.goto(conversation_url)
    expect(b.locator("h1")).to_have_text("Conversation with Former member")
    # The refusals above (422, 404) are logged by the browser as failed loads, and a poll
    # still in flight when a page navigates away is logged by htmx as aborted: nothing else.
    expected = ("Failed to load resource", "htmx:sendAbort", "htmx:afterRequest")
    for page in (a, b):
        assert [error for error in page.errors if not error.startswith(expected)] == []

"""Sessions in real Chromium: a member logged in on two browsers logs one out from the
account page of the other, then logs out everywhere; then gets back in with a sign-in link
e-mailed to her (read from the outbox)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _sign_in_link(outbox: Path, to: str) -> str:
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        match = re.search(r"https?://[^/\s]+(/auth/sign-in/\S+)", message.get_content())
        if message["To"] == to and match:
            return match.group(1)
    raise AssertionError(f"no sign-in link to {to}")


def test_log_out_a_device_then_everywhere_then_back_in_by_link(live_server, new_page):
    app, base = live_server.app, live_server.url
    anne = Factory(app).member(first_name="Anne", language="en")

    phone = new_page(locale="en-GB")
    log_in_browser(phone, base, anne)
    laptop = new_page(locale="en-GB")
    log_in_browser(laptop, base, anne)

    laptop.goto(f"{base}/account/")
    devices = laptop.locator("#devices li")
    expect(devices).to_have_count(2)
    expect(devices.filter(has_text="(this device)")).to_have_count(1)
    # Log the other browser (the phone, listed without "this device") out.
    devices.filter(has_not_text="(this device)").get_by_role("button").click()
    expect(laptop.locator(".flashes")).to_contain_text("That device is logged out.")
    expect(laptop.locator("#devices li")).to_have_count(1)
    phone.goto(f"{base}/account/")
    expect(phone).to_have_url(re.compile(r"/auth/login"))

    # Log in on the phone again, then log out everywhere from the laptop.
    log_in_browser(phone, base, anne)
    laptop.goto(f"{base}/account/")
    laptop.get_by_role("button", name="Log out everywhere").click()
    expect(laptop).to_have_url(re.compile(r"/auth/login"))
    phone.goto(f"{base}/account/")
    expect(phone).to_have_url(re.compile(r"/auth/login"))

    # Back in without the password: a sign-in link by e-mail.
    phone.get_by_role("link", name="E-mail me a sign-in link").click()
    phone.get_by_label("E-mail").fill(anne.email)
    phone.get_by_role("button", name="Send me a sign-in link").click()
    expect(phone.locator(".flashes")).to_contain_text("If an account uses this address")
    phone.goto(base + _sign_in_link(Path(app.config["MAIL_OUTBOX"]), anne.email))
    phone.get_by_role("button", name="Log in").click()
    phone.wait_for_url(re.compile(r"/map"), wait_until="domcontentloaded")
    phone.goto(f"{base}/account/")
    expect(phone.locator("#devices li")).to_have_count(1)
    assert not phone.errors and not laptop.errors, phone.errors + laptop.errors

"""Logging out ends the session on the server, on both backends.

An outside attacker copied a member's `session` and `remember_token` cookies, waited for
the member to log out, and still opened /account/ with them. Every test here replays
cookies copied before a logout (or a "log out everywhere", or a device logged out from the
account page) in a fresh client, as that attacker would.
"""

from __future__ import annotations

import email
import email.policy
import re

from conftest import PASSWORD
from helpers import assert_see_other
from sqlalchemy import func, select

from onemile.auth.sessions import device_label
from onemile.extensions import db
from onemile.models import LoginSession

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def html(response) -> str:
    return response.get_data(as_text=True)


def log_in(app, member, remember: bool = True, user_agent: str = PHONE):
    """A client of its own (one device), logged in through the real form."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    response = client.post(
        "/auth/login",
        data={"email": member.email, "password": PASSWORD, **({"remember": "y"} if remember else {})},
    )
    assert_see_other(response)
    return client


def copied_cookies(client) -> dict[str, str]:
    """The cookies an attacker would copy from the device."""
    copied = {}
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            copied[name] = cookie.value
    return copied


def replay(app, cookies: dict[str, str], only: str | None = None):
    """A fresh client (the attacker's) with copied cookies; GET /account/."""
    attacker = app.test_client()
    for name, value in cookies.items():
        if only is None or name == only:
            attacker.set_cookie(name, value)
    return attacker.get("/account/")


def test_cookies_copied_before_logout_no_longer_open_the_account(app, factory):
    member = factory.member(language="en")
    phone = log_in(app, member)
    cookies = copied_cookies(phone)
    assert set(cookies) == {"session", "remember_token"}
    # The copies work while the member is logged in (the attack is real)...
    assert replay(app, cookies, only="session").status_code == 200
    assert replay(app, cookies, only="remember_token").status_code == 200

    assert phone.post("/auth/logout").status_code == 303

    # ...and none of them, alone or together, opens the account after the logout.
    for only in ("session", "remember_token", None):
        response = replay(app, cookies, only=only)
        assert response.status_code == 302, only
        assert "/auth/login" in response.headers["Location"]
    assert phone.get("/account/").status_code == 302

    # Logging in again on the phone opens a new session: the old copies stay dead.
    phone.post("/auth/login", data={"email": member.email, "password": PASSWORD, "remember": "y"})
    assert phone.get("/account/").status_code == 200
    for only in ("session", "remember_token"):
        assert replay(app, cookies, only=only).status_code == 302, only


def test_cookies_copied_before_the_account_is_deleted_open_nothing(app, factory):
    member = factory.member(language="en")
    phone = log_in(app, member)
    cookies = copied_cookies(phone)
    deleted = phone.post("/account/delete", data={"password": PASSWORD, "confirm": "y"})
    assert_see_other(deleted)
    for only in ("session", "remember_token"):
        assert replay(app, cookies, only=only).status_code == 302, only
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.member_id == member.id)
        ) == 0


def test_logging_out_on_one_device_keeps_the_others(app, factory):
    member = factory.member(language="en")
    phone, laptop = log_in(app, member, user_agent=PHONE), log_in(app, member, user_agent=LAPTOP)
    phone_cookies = copied_cookies(phone)

    phone.post("/auth/logout")

    assert laptop.get("/account/").status_code == 200, "the laptop stays logged in"
    assert replay(app, phone_cookies).status_code == 302


def test_the_account_page_lists_devices_and_logs_one_out(app, factory):
    member = factory.member(language="en")
    phone, laptop = log_in(app, member, user_agent=PHONE), log_in(app, member, user_agent=LAPTOP)
    phone_cookies = copied_cookies(phone)

    page = html(laptop.get("/account/"))
    assert "Where I am logged in" in page
    assert "Chrome · Android" in page and "Firefox · Linux" in page
    assert "(this device)" in page
    with app.app_context():
        phone_session = db.session.scalar(
            select(LoginSession.id).where(LoginSession.member_id == member.id, LoginSession.device == "Chrome · Android")
        )
    assert f"/account/sessions/{phone_session}/end" in page

    ended = laptop.post(f"/account/sessions/{phone_session}/end")
    assert_see_other(ended)
    assert "That device is logged out." in html(laptop.get("/account/"))
    assert phone.get("/account/").status_code == 302
    assert replay(app, phone_cookies).status_code == 302
    assert laptop.get("/account/").status_code == 200, "the laptop that did it stays"


def test_log_out_everywhere_ends_every_device_and_its_remember_cookie(app, factory):
    member = factory.member(language="en")
    other = factory.member(language="en")
    phone, laptop = log_in(app, member, user_agent=PHONE), log_in(app, member, user_agent=LAPTOP)
    others_phone = log_in(app, other)
    copies = [copied_cookies(phone), copied_cookies(laptop)]

    response = laptop.post("/account/sessions/end-all")
    assert_see_other(response)

    for client in (phone, laptop):
        assert client.get("/account/").status_code == 302
    for cookies in copies:
        for only in ("session", "remember_token"):
            assert replay(app, cookies, only=only).status_code == 302
    assert others_phone.get("/account/").status_code == 200, "another member is not touched"
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.member_id == member.id)
        ) == 0


def test_a_session_id_of_another_member_ends_nothing(app, factory):
    victim, intruder = factory.member(language="en"), factory.member(language="en")
    victims_phone = log_in(app, victim)
    intruders_laptop = log_in(app, intruder)
    with app.app_context():
        victims_session = db.session.scalar(select(LoginSession.id).where(LoginSession.member_id == victim.id))

    assert intruders_laptop.post(f"/account/sessions/{victims_session}/end").status_code == 404
    assert victims_phone.get("/account/").status_code == 200


def test_a_password_reset_ends_other_sessions_and_drops_them_from_the_list(app, factory, outbox):
    member = factory.member(language="en")
    stolen = log_in(app, member, user_agent=LAPTOP)
    copies = copied_cookies(stolen)
    owner = app.test_client()
    owner.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    owner.post("/auth/reset", data={"email": member.email})
    [message] = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                 for path in outbox.glob("*.eml")]
    reset_path = re.search(r"http://localhost(/auth/reset/\S+)", message.get_content()).group(1)
    new_password = "granite lantern orchard 7"
    reset = owner.post(reset_path, data={"password": new_password})
    assert reset.status_code == 303 and "/auth/login" in reset.headers["Location"]

    assert replay(app, copies, only="remember_token").status_code == 302
    assert owner.post("/auth/login", data={"email": member.email, "password": new_password}).status_code == 303
    page = html(owner.get("/account/"))
    assert "Firefox · Linux" not in page, "the dead session is not listed"


def test_old_style_cookies_without_a_session_key_are_refused(app, factory):
    """Cookies made before sessions lived on the server (id:fingerprint) open nothing."""
    member = factory.member(language="en")
    client = log_in(app, member, remember=False)
    with client.session_transaction() as session:
        member_id, fingerprint, _key = session["_user_id"].split(":")
        session["_user_id"] = f"{member_id}:{fingerprint}"
    assert client.get("/account/").status_code == 302


def test_device_labels():
    assert device_label(PHONE) == "Chrome · Android"
    assert device_label(LAPTOP) == "Firefox · Linux"
    assert device_label("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1") == "Safari · iPhone"
    assert device_label("") == ""
    assert device_label(None) == ""

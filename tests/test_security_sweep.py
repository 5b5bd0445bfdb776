"""Security sweep (issue #6): what tests/test_security.py and tests/test_auth.py did not
already prove — Permissions-Policy, HSTS only over HTTPS (also behind a TLS proxy), cookie
flags, and reset links that expire."""

from __future__ import annotations

import re
import time

from conftest import Factory
from helpers import assert_see_other
from itsdangerous import TimestampSigner


def test_permissions_policy_allows_geolocation_to_the_site_only(client):
    policy = client.get("/").headers["Permissions-Policy"]
    assert "geolocation=(self)" in policy
    assert "camera=()" in policy and "microphone=()" in policy


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # A forged X-Forwarded-Proto from the internet is ignored when no proxy is trusted.
    assert "Strict-Transport-Security" not in client.get("/", headers={"X-Forwarded-Proto": "https"}).headers


def test_behind_a_trusted_tls_proxy_https_is_seen_and_cookies_are_secure(make_app):
    app = make_app(TRUSTED_PROXIES=1, SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    member = Factory(app).member()
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/", headers=forwarded).headers["Strict-Transport-Security"]
    login = client.post("/auth/login", headers=forwarded,
                        data={"email": member.email, "password": member.password, "remember": "y"})
    cookies = login.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_httponly_and_samesite_lax(client, factory):
    member = factory.member()
    login = client.post("/auth/login", data={"email": member.email, "password": member.password})
    session_cookie = next(c for c in login.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "; HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_a_reset_link_expires_after_an_hour(app, client, factory, outbox, monkeypatch):
    member = factory.member()
    real = TimestampSigner.get_timestamp
    # The link was asked for an hour and a second ago.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601)
    client.post("/auth/reset", data={"email": member.email})
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    [mail] = list(outbox.glob("*.eml"))
    path = re.search(r"http://localhost(/auth/reset/\S+)", mail.read_text()).group(1)
    expired = client.post(path, data={"password": "granite lantern orchard 7"})
    assert expired.status_code == 302 and expired.headers["Location"].endswith("/auth/reset")
    still = app.test_client().post("/auth/login", data={"email": member.email, "password": member.password})
    assert_see_other(still)  # "the old password still works"


def test_login_answers_alike_for_unknown_addresses_and_wrong_passwords_even_when_suspended(app, factory):
    """The suspension notice is only for whoever knows the password."""
    from sqlalchemy import update

    from onemile.extensions import db
    from onemile.models import Member, utcnow

    member = factory.member()
    with app.app_context():
        db.session.execute(update(Member).where(Member.id == member.id).values(suspended_at=utcnow()))
        db.session.commit()
    client = app.test_client()
    client.post("/language/en")
    wrong = client.post("/auth/login", data={"email": member.email, "password": "not the password"})
    unknown = client.post("/auth/login", data={"email": "ghost@example.org", "password": "not the password"})
    message = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')
    assert message.findall(wrong.get_data(as_text=True)) == message.findall(unknown.get_data(as_text=True))

"""Accounts, on both backends: sign-up (with its first mile), log in and out, `next`,
password resets through the outbox, CSRF, rate limits, password hashing and the language.

Pages are asked for in English (`Accept-Language: en`), so the assertions on messages hold
whatever the French catalog says.
"""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import urlsplit

import pytest
from conftest import PASSWORD, SIGNUP, Factory, verification_link
from helpers import assert_see_other, count, csrf_token_in, english, html
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.models import Listing, Member, Mile

MULHOUSE = LatLon(47.75, 7.33333)


def counts(app) -> tuple[int, int]:
    """(members, miles) in the database, read in a fresh session."""
    return count(app, Member), count(app, Mile)


def member_by_email(app, address: str) -> dict | None:
    """What a test needs to know about a stored member, read in a fresh session."""
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.email == address))
        if member is None:
            return None
        return {
            "id": member.id,
            "email": member.email,
            "kind": member.kind,
            "organisation_name": member.organisation_name,
            "language": member.language,
            "password_hash": member.password_hash,
            "verified": member.is_verified,
            "miles": [(m.name, m.is_primary, m.center_latlon) for m in member.miles],
        }


def signup(client, **changes):
    return client.post("/auth/signup", data={**SIGNUP, **changes})


def path_of(response) -> str:
    """The local path a redirect points to ('' for another host)."""
    parts = urlsplit(response.headers["Location"])
    return parts.path if parts.netloc in ("", "localhost") else ""


# --- sign-up --------------------------------------------------------------------------------------


def test_signup_creates_member_and_named_first_mile_and_the_emailed_link_logs_in(app, client, outbox):
    english(client)
    assert counts(app) == (0, 0)

    response = signup(client, email="  Anne.Martin@Example.ORG ", organisation_name="Ignored Ltd")

    assert_see_other(response)
    assert path_of(response) == "/auth/signup/sent"
    sent = html(client.get("/auth/signup/sent"))
    assert "Check your inbox" in sent
    # The address is named once, as typed, so that a typo shows; a reload no longer names it.
    assert "We sent an e-mail to <strong>Anne.Martin@Example.ORG</strong>." in sent
    assert "Anne.Martin@Example.ORG" not in html(client.get("/auth/signup/sent"))
    # Not logged in yet: the answer must look the same for a taken address.
    assert path_of(client.get("/map")) == "/auth/login"
    assert counts(app) == (1, 1)
    member = member_by_email(app, "anne.martin@example.org")
    assert member is not None, "the e-mail must be stored lower-cased"
    assert member["kind"] == "person"
    assert member["organisation_name"] is None, "a person has no organisation name"
    assert member["language"] == "en"
    [(name, is_primary, center)] = member["miles"]
    assert (name, is_primary) == ("Mulhouse", True)
    assert haversine_m(center, MULHOUSE) < 2000
    opened = client.get(verification_link(outbox, "anne.martin@example.org"))
    assert path_of(opened) == "/map"
    page = client.get("/map")
    assert page.status_code == 200
    assert "Mulhouse" in html(page)
    assert "Welcome to 1Mile" in html(page)


def test_the_emailed_link_logs_in_only_the_browser_that_signed_up(app, client, outbox):
    """The link alone is no login: sent to someone else (to log them into the sender's
    account and collect what they type, their home among it) or opened by a mail scanner,
    it confirms the address and asks for the password."""
    english(client)
    assert_see_other(signup(client, email="anne.martin@example.org"))
    link = verification_link(outbox, "anne.martin@example.org")
    victim = english(app.test_client())
    opened = victim.get(link)
    assert path_of(opened) == "/auth/login"
    assert "Your e-mail address is confirmed. Log in with your password" in html(victim.get("/auth/login"))
    assert path_of(victim.get("/map")) == "/auth/login", "the victim must not be logged in"
    assert path_of(victim.get("/miles/")) == "/auth/login"
    assert member_by_email(app, "anne.martin@example.org")["verified"]
    # The member, in the browser they signed up in: the link is used; the password logs in.
    logged = client.post("/auth/login", data={"email": "anne.martin@example.org", "password": SIGNUP["password"]})
    assert path_of(logged) == "/map"
    # A browser that signed up with another address is not logged in by this link either.
    assert_see_other(signup(english(app.test_client()), email="bruno@example.org"))
    third = english(app.test_client())
    assert_see_other(signup(third, email="carla@example.org"))
    assert path_of(third.get(verification_link(outbox, "bruno@example.org"))) == "/auth/login"
    assert path_of(third.get("/map")) == "/auth/login"


def test_a_visitor_who_signs_up_from_an_ad_lands_on_it(app, client, factory, outbox):
    """From an ad's link to the log-in page, to sign-up, to the e-mailed link: the new member
    arrives on the ad they wanted to answer, not on the map."""
    english(client)
    listing_id = factory.listing(factory.member(language="en"), title="Ladder to lend")
    login = client.get(f"/listings/{listing_id}")
    assert path_of(login) == "/auth/login"
    page = html(client.get(login.headers["Location"]))
    signup_link = re.search(r'<a href="(/auth/signup\?next=[^"]+)">Sign up</a>', page)
    assert signup_link, "the log-in page's sign-up link keeps where the visitor was going"
    assert client.get(signup_link.group(1).replace("&amp;", "&")).status_code == 200
    assert_see_other(signup(client, email="carla@example.org"))
    opened = client.get(verification_link(outbox, "carla@example.org"))
    assert path_of(opened) == f"/listings/{listing_id}"
    assert "Ladder to lend" in html(client.get(opened.headers["Location"]))
    # Another site is never where one lands.
    stranger = english(app.test_client())
    stranger.get("/auth/signup?next=//evil.example/x")
    assert_see_other(signup(stranger, email="dan@example.org"))
    assert path_of(stranger.get(verification_link(outbox, "dan@example.org"))) == "/map"


@pytest.mark.parametrize("kind", ["business", "association"])
def test_signup_of_an_organisation_requires_its_name(app, client, kind):
    english(client)

    missing = signup(client, kind=kind, organisation_name="   ")
    assert missing.status_code == 422
    assert "Give the name of your business or association." in html(missing)
    assert counts(app) == (0, 0)

    created = signup(client, kind=kind, organisation_name="Les Ateliers du Rhin")
    assert_see_other(created)
    member = member_by_email(app, SIGNUP["email"])
    assert member["kind"] == kind
    assert member["organisation_name"] == "Les Ateliers du Rhin"
    assert counts(app) == (1, 1)


def test_signup_with_a_taken_email_in_another_case_answers_alike_and_tells_the_owner(
    app, client, factory, outbox
):
    english(client)
    factory.member(email="anne@example.org", language="en", first_name="Anne")
    other = app.test_client()
    english(other)

    taken = signup(
        client,
        email="Anne@Example.org",
        first_name="Zoélie",
        postal_code="68200",
        password="unmistakable secret phrase",
    )
    new = signup(other, email="zoelie@example.org", first_name="Zoélie", postal_code="68200",
                 password="unmistakable secret phrase")

    assert taken.status_code == new.status_code == 303
    assert path_of(taken) == path_of(new) == "/auth/signup/sent"
    assert html(taken) == html(new)
    # The page after it names each visitor's own typed address, and differs in nothing else.
    taken_page = html(client.get("/auth/signup/sent"))
    new_page = html(other.get("/auth/signup/sent"))
    assert "Anne@Example.org" in taken_page and "zoelie@example.org" in new_page
    def same_page(page: str, address: str) -> list[str]:
        # Each browser has its own CSRF token (in the page's forms and its htmx headers).
        return page.replace(csrf_token_in(page), "").replace(address, "@").splitlines()

    assert same_page(taken_page, "Anne@Example.org") == same_page(new_page, "zoelie@example.org")
    assert counts(app) == (2, 2), "the new address got its account, the taken one no second"
    [told] = [m for m in read_outbox(outbox) if m["To"] == "anne@example.org"]
    assert told["Subject"] == "Someone tried to sign up to 1Mile with your address"
    assert "http://localhost/auth/reset" in told.get_content()
    assert "Zoélie" not in told.get_content() and "unmistakable" not in told.get_content()
    assert check_password_hash(member_by_email(app, "anne@example.org")["password_hash"], PASSWORD)


def test_signup_refuses_weak_passwords(app, client):
    english(client)
    for password, message in (
        ("Sh0rt!x", "Use at least 10 characters."),
        ("password123", "This password is too easy to guess."),
        ("abababababab", "This password is too easy to guess."),
        ("Anne.Martin.1984", "Do not build your password from your e-mail address."),
    ):
        response = signup(client, password=password)
        assert response.status_code == 422, password
        assert message in html(response), password
        assert password not in html(response)
    assert counts(app) == (0, 0)


def test_signup_refuses_a_malformed_postal_code(app, client):
    english(client)
    for code in ("ABCDE", "681", "6810000"):
        response = signup(client, postal_code=code)
        assert response.status_code == 422, code
        assert "This is not a valid postal code for the chosen country." in html(response)
    assert counts(app) == (0, 0)


def test_signup_with_an_unknown_postal_code_asks_for_a_point_then_uses_it(app, client):
    english(client)

    asked = signup(client, postal_code="00000")
    assert asked.status_code == 422
    assert "Type the name of your town, pick your place on the map" in html(asked)
    assert 'id="picker-map"' in html(asked)
    assert counts(app) == (0, 0)

    created = signup(client, postal_code="00000", latitude="45.1885", longitude="5.7245")
    assert_see_other(created)
    assert path_of(created) == "/auth/signup/sent"
    [(name, is_primary, center)] = member_by_email(app, SIGNUP["email"])["miles"]
    assert is_primary and name == "00000"
    assert haversine_m(center, LatLon(45.1885, 5.7245)) < 1


def test_signup_refuses_points_off_the_globe(app, client):
    english(client)
    for latitude, longitude in (
        ("91", "7.3"),
        ("47.7", "181"),
        ("-90.5", "0"),
        ("abc", "7.3"),
        ("nan", "7.3"),
        ("47.7", "inf"),
        ("1e400", "0"),
        ("sNaN", "0"),
        ("47.7", ""),
        ("", "7.3"),
    ):
        # With a postal code, and without one (the point alone is then the place: the check
        # for "a place of some kind" must not stumble on it and answer with an error page).
        for postal_code in ("00000", ""):
            response = signup(client, postal_code=postal_code, latitude=latitude, longitude=longitude)
            assert response.status_code == 422, (latitude, longitude, postal_code)
            assert "a latitude from -90 to 90" in html(response), (latitude, longitude, postal_code)
            assert f'value="{SIGNUP["first_name"]}"' in html(response), "what was typed is kept"
    assert counts(app) == (0, 0)


def test_signup_refuses_huge_fields(app, client):
    english(client)
    huge = "x" * 10_000
    for changes in (
        {"first_name": huge},
        {"last_name": huge},
        {"kind": "business", "organisation_name": huge},
        {"email": huge + "@example.org"},
        {"postal_code": huge},
        {"password": "Zq9!" + huge},
        {"postal_code": "00000", "latitude": "4" * 10_000, "longitude": "7"},
    ):
        response = signup(client, **changes)
        assert response.status_code == 422, list(changes)
        assert 'class="error"' in html(response), list(changes)
    assert counts(app) == (0, 0)


def test_signup_refuses_values_outside_the_choices(app, client):
    english(client)
    for changes in (
        {"kind": "admin"},
        {"country": "XX"},
        {"kind": ""},
        {"email": "not-an-address"},
    ):
        response = signup(client, **changes)
        assert response.status_code == 422, changes
        assert 'class="error"' in html(response), changes
    assert counts(app) == (0, 0)


# --- log in and out -------------------------------------------------------------------------------


def test_login_with_right_wrong_and_unknown_credentials(app, client, factory):
    english(client)
    member = factory.member(email="lea@example.org")

    wrong = client.post("/auth/login", data={"email": member.email, "password": "not the password"})
    unknown = client.post("/auth/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 422
    message = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')
    assert (
        message.findall(html(wrong))
        == message.findall(html(unknown))
        == ["Wrong e-mail or password."]
    )
    assert client.get("/map").status_code == 302, "still logged out"

    right = client.post("/auth/login", data={"email": "  LEA@Example.ORG", "password": PASSWORD})
    assert_see_other(right)
    assert path_of(right) == "/map"
    assert client.get("/map").status_code == 200


def test_remember_me_sets_a_remember_cookie_only_when_asked(app, factory):
    member = factory.member()

    def remember_cookie(remember: bool) -> bool:
        client = app.test_client()
        response = client.post(
            "/auth/login",
            data={
                "email": member.email,
                "password": PASSWORD,
                **({"remember": "y"} if remember else {}),
            },
        )
        assert_see_other(response)
        return any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))

    assert remember_cookie(True)
    assert not remember_cookie(False)


def test_logout_is_post_only(client, factory, auth):
    auth.login(factory.member())

    assert client.get("/auth/logout").status_code == 405
    assert client.get("/map").status_code == 200, "a GET must not log out"

    response = auth.logout()
    assert_see_other(response)
    assert client.get("/map").status_code == 302


def test_login_next_only_accepts_local_paths(app, factory):
    member = factory.member()
    for target, expected in (
        ("/listings/?kind=offer", "/listings/?kind=offer"),
        ("https://evil.example/", "/map"),
        ("//evil.example", "/map"),
        ("/\\evil.example", "/map"),
        ("/\t/evil.example", "/map"),
        ("/\n/evil.example", "/map"),
        ("https:/evil.example", "/map"),
        ("javascript:alert(1)", "/map"),
    ):
        client = app.test_client()  # logged out each time: a logged-in member skips the form
        response = client.post(
            "/auth/login",
            query_string={"next": target},
            data={"email": member.email, "password": PASSWORD},
        )
        assert_see_other(response)  # target
        location = response.headers["Location"]
        assert location in (expected, f"http://localhost{expected}"), (target, location)


# --- password reset -------------------------------------------------------------------------------


def read_outbox(outbox) -> list[email.message.EmailMessage]:
    if not outbox.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def test_password_reset_through_the_outbox(app, client, factory, outbox):
    english(client)
    member = factory.member(email="paul@example.org", first_name="Paul")
    new_password = "granite lantern orchard 7"

    asked = client.post("/auth/reset", data={"email": "Paul@Example.org"})
    assert_see_other(asked)
    [message] = read_outbox(outbox)
    assert message["To"] == "paul@example.org"
    body = message.get_content()
    link = re.search(r"http://localhost(/auth/reset/\S+)", body)
    assert link, body
    reset_path = link.group(1)

    assert client.get(reset_path).status_code == 200
    weak = client.post(reset_path, data={"password": "short"})
    assert weak.status_code == 422
    assert "Use at least 10 characters." in html(weak)

    done = client.post(reset_path, data={"password": new_password})
    assert_see_other(done)
    assert path_of(done) == "/auth/login"

    old = client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    assert old.status_code == 422
    new = client.post("/auth/login", data={"email": member.email, "password": new_password})
    assert_see_other(new)
    auth_client = app.test_client()

    # The link dies with the password it was made for.
    reused = auth_client.post(reset_path, data={"password": "another fine passphrase"})
    assert reused.status_code == 302  # a dead link: refused, not a successful POST
    assert path_of(reused) == "/auth/reset"
    assert auth_client.get(reset_path).status_code == 302
    again = app.test_client().post(
        "/auth/login", data={"email": member.email, "password": new_password}
    )
    assert_see_other(again)


def test_password_reset_refuses_a_tampered_token(app, client, factory, outbox):
    english(client)
    member = factory.member()
    client.post("/auth/reset", data={"email": member.email})
    [message] = read_outbox(outbox)
    token = re.search(r"/auth/reset/(\S+)", message.get_content()).group(1)
    # Change a character inside the signature: the last base64 character carries padding
    # bits, so changing it alone may decode to the very same signature.
    flipped = "B" if token[-3] != "B" else "C"
    for forged in (token[:-3] + flipped + token[-2:], token[:10] + token[11:], "not-a-token"):
        response = client.post(
            f"/auth/reset/{forged}", data={"password": "granite lantern orchard 7"}
        )
        assert response.status_code == 302, forged
        assert path_of(response) == "/auth/reset"
    followed = client.get("/auth/reset")
    assert "This link is invalid or has expired." in html(followed)
    login = app.test_client().post(
        "/auth/login", data={"email": member.email, "password": PASSWORD}
    )
    assert_see_other(login)  # "the password did not change"


def test_password_reset_of_an_unknown_address_looks_the_same_and_sends_nothing(
    app, client, factory, outbox
):
    english(client)
    member = factory.member()

    unknown = client.post("/auth/reset", data={"email": "ghost@example.org"}, follow_redirects=True)
    assert read_outbox(outbox) == []
    known = client.post("/auth/reset", data={"email": member.email}, follow_redirects=True)
    assert len(read_outbox(outbox)) == 1

    assert unknown.status_code == known.status_code == 200
    assert unknown.request.path == known.request.path == "/auth/login"
    notice = "If an account uses this address, we have sent it a link to reset the password."
    assert notice in html(unknown) and notice in html(known)


# --- CSRF, rate limit, hashing ----------------------------------------------------------------------


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return csrf_token_in(html(page))


def test_csrf_is_required_on_state_changing_posts(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    member = Factory(app).member()
    client = english(app.test_client())

    def totals():
        with app.app_context():
            return tuple(
                db.session.scalar(select(func.count()).select_from(m))
                for m in (Member, Mile, Listing)
            )

    start = totals()
    signup_data = {**SIGNUP, "email": "newcomer@example.org"}
    assert client.post("/auth/signup", data=signup_data).status_code == 400
    refused = client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "Your form expired" in html(refused)
    assert client.get("/map").status_code == 302, "not logged in"

    login = client.post(
        "/auth/login",
        data={
            "email": member.email,
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/auth/login"),
        },
    )
    assert_see_other(login)
    assert client.get("/map").status_code == 200

    mile = {"name": "Travail", "latitude": "47.76", "longitude": "7.31"}
    listing = {
        "kind": "request",
        "category": "diy",
        "title": "Prête-moi une perceuse",
        "body": "Samedi.",
        "miles": str(member.mile_id),
    }
    assert client.post("/miles/", data=mile).status_code == 400
    assert client.post("/listings/new", data=listing).status_code == 400
    assert client.post("/auth/logout").status_code == 400
    assert totals() == start
    assert client.get("/map").status_code == 200, "still logged in"

    assert (
        client.post(
            "/miles/", data={**mile, "csrf_token": csrf_token(client, "/miles/")}
        ).status_code
        == 303
    )
    token = csrf_token(client, "/listings/new")
    assert client.post("/listings/new", data={**listing, "csrf_token": token}).status_code == 303
    assert totals() == (start[0], start[1] + 1, start[2] + 1)
    assert (
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/map")}).status_code
        == 303
    )
    assert client.get("/map").status_code == 302, "logged out"

    created = client.post(
        "/auth/signup", data={**signup_data, "csrf_token": csrf_token(client, "/auth/signup")}
    )
    assert_see_other(created)
    assert totals()[0] == start[0] + 1


def test_repeated_failed_logins_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member()
    client = english(app.test_client())
    statuses = [
        client.post(
            "/auth/login", data={"email": member.email, "password": f"wrong guess {i}"}
        ).status_code
        for i in range(5)
    ]
    assert statuses == [422] * 5

    # The back-off of this account from this address (auth.throttle: LOGIN_PAIR_LIMIT).
    limited = client.post("/auth/login", data={"email": member.email, "password": "wrong guess 6"})
    assert limited.status_code == 429
    page = html(limited)
    assert "<html" in page and "Slow down" in page and "Too many attempts" in page
    assert "/auth/sign-in-link" in page, "a throttled login offers a sign-in link"
    assert limited.headers.get("Retry-After")

    # Even the right password waits: guessing cannot go on.
    right = client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    assert right.status_code == 429
    assert client.get("/map").status_code == 302


def test_one_address_trying_many_accounts_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = english(app.test_client())
    statuses = [
        client.post("/auth/login", data={"email": f"someone{i}@example.org", "password": "guess"}).status_code
        for i in range(11)
    ]
    assert statuses == [422] * 10 + [429]


def test_passwords_are_stored_as_salted_modern_hashes(app, factory):
    first, second = factory.member(), factory.member()
    with app.app_context():
        hashes = [db.session.get(Member, m.id).password_hash for m in (first, second)]
    for stored in hashes:
        assert PASSWORD not in stored
        assert stored.startswith(("scrypt:", "$argon2id$", "$argon2"))
        assert check_password_hash(stored, PASSWORD)
        assert not check_password_hash(stored, PASSWORD + "!")
    assert hashes[0] != hashes[1], "each hash has its own salt"


# --- language -------------------------------------------------------------------------------------


def test_pages_are_french_by_default_and_english_on_request(client):
    default = client.get("/auth/signup")
    assert default.status_code == 200
    assert '<html lang="fr">' in html(default)

    asked = client.get("/auth/signup", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in html(asked)
    assert "Join 1Mile" in html(asked)
    assert "Create my account" in html(asked)


def test_a_members_language_wins_over_the_browser(factory, auth, client):
    member = factory.member(language="en")
    auth.login(member)
    page = client.get("/map", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in html(page)


def test_language_switch_redirects_to_local_paths_only(client):
    for target, expected in (
        ("/auth/login", "/auth/login"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
    ):
        response = client.post("/language/en", data={"next": target})
        assert_see_other(response)
        assert response.headers["Location"] in (expected, f"http://localhost{expected}"), target


def test_language_switch_refuses_backslash_and_control_character_redirects(client):
    for target in ("/\\evil.example", "/\t/evil.example"):
        response = client.post("/language/en", data={"next": target})
        assert response.headers["Location"] in ("/", "http://localhost/"), target


def test_a_password_reset_ends_sessions_opened_before_it(app, factory, outbox):
    member = factory.member()
    stolen = app.test_client()
    assert (
        stolen.post("/auth/login", data={"email": member.email, "password": PASSWORD}).status_code
        == 303
    )
    owner = app.test_client()
    owner.post("/auth/reset", data={"email": member.email})
    [message] = read_outbox(outbox)
    reset_path = re.search(r"http://localhost(/auth/reset/\S+)", message.get_content()).group(1)
    assert owner.post(reset_path, data={"password": "granite lantern orchard 7"}).status_code == 303
    assert stolen.get("/map").status_code == 302


def test_moderators_are_granted_and_revoked_from_the_command_line(app, factory):
    anne = factory.member(email="Anne@Example.org")
    runner = app.test_cli_runner()
    granted = runner.invoke(args=["moderators", "grant", "anne@EXAMPLE.org"])
    assert granted.exit_code == 0, granted.output
    with app.app_context():
        assert db.session.get(Member, anne.id).is_moderator
    assert runner.invoke(args=["moderators", "revoke", "anne@example.org"]).exit_code == 0
    with app.app_context():
        assert not db.session.get(Member, anne.id).is_moderator
    unknown = runner.invoke(args=["moderators", "grant", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No member" in unknown.output


def test_a_member_stays_logged_in_when_their_network_changes(client, auth, factory):
    # A phone leaves the wifi for 4G: new address, and a service worker may fetch with
    # another User-Agent. The member must not be logged out.
    anne = factory.member()
    auth.login(anne)
    moved = client.get("/map", environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"User-Agent": "Other/1.0"})
    assert moved.status_code == 200


def test_a_visitors_request_does_not_rewrite_the_session_cookie(client):
    # A request still in flight at login (the service worker fetching /offline) must not
    # answer with the visitor's cookie: arriving last, it would log the new member out.
    client.get("/auth/login")  # the visitor's session now holds a CSRF token
    response = client.get("/offline")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers

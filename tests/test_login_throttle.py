"""Password guessing is throttled per account, not only per address; the owner keeps a way
in (a known device, or a one-time sign-in link by e-mail). On both backends, with the real
limiter (in memory here; Redis when REDIS_URL is set) and e-mails through the outbox.

The attacker of the trust issue sent 30 wrong passwords for one account from 30 addresses,
and every one was answered. Each request here comes from its own address (REMOTE_ADDR), as
theirs did.
"""

from __future__ import annotations

import email
import email.policy
import re
import time

from conftest import PASSWORD, Factory
from flask_login.utils import encode_cookie
from helpers import assert_see_other
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from onemile.extensions import db
from onemile.models import Member


def html(response) -> str:
    return response.get_data(as_text=True)


def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def address(i: int) -> dict:
    """A distinct client address per attempt (198.51.100.0/24 and beyond)."""
    return {"REMOTE_ADDR": f"198.51.{100 + i // 250}.{i % 250 + 1}"}


def attack(app, email_address: str, attempts: int = 30) -> list[int]:
    """Wrong passwords for one account, each from another address and a fresh client."""
    return [
        english(app.test_client()).post(
            "/auth/login", data={"email": email_address, "password": f"guess number {i}"},
            environ_base=address(i),
        ).status_code
        for i in range(attempts)
    ]


def sign_in_links(outbox, to: str) -> list[str]:
    """Paths of the sign-in links e-mailed to `to`, oldest first."""
    found = []
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            match = re.search(r"http://localhost(/auth/sign-in/\S+)", message.get_content())
            if match:
                found.append(match.group(1))
    return found


def use_link(client, path: str):
    """Open a sign-in link, then press its button."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={})


def test_thirty_addresses_cannot_guess_one_accounts_password(make_app, tmp_path):
    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member(email="target@example.org")

    statuses = attack(app, member.email)

    # LOGIN_ACCOUNT_LIMIT: 10 attempts per 15 minutes for an account, whatever the address.
    assert statuses == [422] * 10 + [429] * 20
    refused = english(app.test_client()).post(
        "/auth/login", data={"email": member.email, "password": "guess 31"}, environ_base=address(31)
    )
    assert refused.status_code == 429
    page = html(refused)
    assert "Slow down" in page and "Too many attempts" in page
    assert "E-mail me a sign-in link" in page and "/auth/sign-in-link" in page
    assert int(refused.headers["Retry-After"]) > 0

    # The right password from a new address waits too: it could be the attacker's 31st guess.
    owner = english(app.test_client())
    right = owner.post("/auth/login", data={"email": member.email, "password": PASSWORD}, environ_base=address(40))
    assert right.status_code == 429
    assert owner.get("/account/").status_code == 302

    # The owner logs in with a sign-in link sent to their address.
    asked = owner.post("/auth/sign-in-link", data={"email": "Target@Example.org"}, environ_base=address(40))
    assert_see_other(asked)
    [link] = sign_in_links(tmp_path / "outbox", member.email)
    logged_in = use_link(owner, link)
    assert_see_other(logged_in)
    assert owner.get("/account/").status_code == 200


def test_an_unknown_address_is_throttled_the_same_way(make_app):
    """The limit counts the typed address: a 429 tells nothing about who has an account."""
    app = make_app(RATELIMIT_ENABLED=True)
    Factory(app).member(email="known@example.org")
    assert attack(app, "known@example.org") == attack(app, "unknown@example.org") == [422] * 10 + [429] * 20


def test_the_owners_device_is_not_locked_out_by_an_attack(make_app):
    """A browser where the owner logged in before keeps logging in during an attack, even
    from the attacker's address (a shared café network)."""
    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member()
    phone = english(app.test_client())
    assert phone.post("/auth/login", data={"email": member.email, "password": PASSWORD},
                      environ_base=address(0)).status_code == 303
    assert phone.post("/auth/logout").status_code == 303

    assert attack(app, member.email)[-1] == 429

    back = phone.post("/auth/login", data={"email": member.email, "password": PASSWORD}, environ_base=address(0))
    assert_see_other(back)
    assert phone.get("/account/").status_code == 200


def test_the_back_off_of_one_address_ends_and_does_not_block_other_addresses(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_PAIR_LIMIT="5 per 2 seconds")
    member = Factory(app).member()
    typo = english(app.test_client())

    def attempt(password: str, where: int = 7) -> int:
        return typo.post("/auth/login", data={"email": member.email, "password": password},
                         environ_base=address(where)).status_code

    assert [attempt(f"typo {i}") for i in range(5)] == [422] * 5
    assert attempt("typo 6") == 429
    # Another address is not held back by this one's failures.
    assert english(app.test_client()).post(
        "/auth/login", data={"email": member.email, "password": "other"}, environ_base=address(8)
    ).status_code == 422
    time.sleep(2.1)
    assert attempt(PASSWORD) == 303, "the back-off is over: the right password works"


def without_csrf_tokens(page: str) -> str:
    """A page with its CSRF tokens blanked (they carry the time they were signed)."""
    return re.sub(r'(name="csrf_token" value=")[^"]*|("X-CSRFToken": ")[^"]*', r"\1\2", page)


def test_a_sign_in_link_is_answered_alike_and_works_once(app, client, factory, outbox):
    english(client)
    member = factory.member(email="lina@example.org")

    known = client.post("/auth/sign-in-link", data={"email": member.email}, follow_redirects=True)
    unknown = client.post("/auth/sign-in-link", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    # The same page but for the CSRF token's timestamp, which moves when a second passes.
    assert without_csrf_tokens(html(known)) == without_csrf_tokens(html(unknown))
    assert "If an account uses this address, we have sent it a sign-in link." in html(known)
    [link] = sign_in_links(outbox, member.email)
    assert sign_in_links(outbox, "nobody@example.org") == []

    # Opening the link (a mail scanner does) changes nothing; its button logs in.
    assert "lina@example.org" in html(client.get(link))
    assert client.get("/account/").status_code == 302
    assert client.post(link, data={}).status_code == 303
    assert client.get("/account/").status_code == 200

    # Single use, from any client.
    client.post("/auth/logout")
    again = app.test_client()
    assert again.get(link).status_code == 302
    assert again.post(link, data={}).status_code == 302  # a dead link: refused, not a successful POST
    assert again.get("/account/").status_code == 302


def test_a_sign_in_link_dies_when_it_expires_or_the_password_changes(make_app, tmp_path):
    app = make_app(SIGN_IN_LINK_MAX_AGE=-1)
    member = Factory(app).member()
    client = app.test_client()
    client.post("/auth/sign-in-link", data={"email": member.email})
    [expired] = sign_in_links(tmp_path / "outbox", member.email)
    assert client.post(expired, data={}).status_code == 302  # a dead link: refused
    assert client.get("/account/").status_code == 302

    app.config["SIGN_IN_LINK_MAX_AGE"] = 900
    client.post("/auth/sign-in-link", data={"email": member.email})
    fresh = sign_in_links(tmp_path / "outbox", member.email)[-1]
    from onemile.auth.services import set_password

    with app.test_request_context():
        set_password(db.session.get(Member, member.id), "granite lantern orchard 7")
        db.session.commit()
    assert client.post(fresh, data={}).status_code == 302  # dead with the old password
    assert client.get("/account/").status_code == 302


def test_sign_in_links_are_rate_limited_per_typed_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member()
    for target in (member.email, "nobody@example.org"):
        statuses = [
            app.test_client().post("/auth/sign-in-link", data={"email": target}, environ_base=address(i)).status_code
            for i in range(4)
        ]
        assert statuses == [303, 303, 303, 429], target


def test_an_unknown_address_costs_the_same_password_check(app, factory):
    """Login hashes a dummy password with the members' own KDF and cost when the address is
    unknown, so the answer takes as long as for a wrong password."""
    from onemile.auth.services.reads import _dummy_hash

    member = factory.member()
    with app.app_context():
        stored = db.session.scalar(select(Member.password_hash).where(Member.id == member.id))
        dummy = _dummy_hash(app.config["PASSWORD_HASH_METHOD"])
    assert dummy.split("$")[0] == stored.split("$")[0]


def test_other_signed_tokens_are_not_sign_in_links(app, client, factory):
    """A password-reset or verification token (signed with the same key, another salt) is
    not a sign-in link."""
    from onemile.auth.services import reset_token, verification_token

    member = factory.member()
    with app.test_request_context():
        row = db.session.get(Member, member.id)
        tokens = [reset_token(row), verification_token(row)]
    for token in tokens:
        assert client.post(f"/auth/sign-in/{token}", data={}).status_code == 302
        assert client.get("/account/").status_code == 302


# --- Whatever an attacker sends -------------------------------------------------------------

PROPERTY = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
ODD_IDS = [":", "::", "1::", "1:x:", "99999999999999999999:a:b", "٣:a:b", "²:a:b", "1:a:b:c", "9" * 5000 + ":a:b"]
id_like = st.one_of(
    any_text,
    st.builds(lambda a, b, c: f"{a}:{b}:{c}", st.integers(-10, 10**15).map(str), any_text, any_text),
    st.sampled_from(ODD_IDS),
)


def test_odd_session_ids_open_nothing(app):
    for session_id in ODD_IDS:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
        assert client.get("/account/").status_code == 302, session_id


def test_forged_session_ids_and_sign_in_tokens_never_fail_nor_log_in(app, factory):
    member = factory.member()

    @PROPERTY
    @given(session_id=st.one_of(id_like, st.just(f"{member.id}::")), token=any_text.filter(lambda t: "/" not in t))
    def check(session_id, token):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
        assert client.get("/account/").status_code == 302
        # A remember-me cookie signed with the app's key (as if forged with it): the loader
        # still refuses any id that names no open session.
        if len(session_id) < 1000:  # browsers drop cookies past 4 KB
            with app.test_request_context():
                remember = encode_cookie(session_id)
            forged = app.test_client()
            forged.set_cookie("remember_token", remember)
            assert forged.get("/account/").status_code == 302
        if token:
            assert client.post(f"/auth/sign-in/{token}", data={}).status_code in (302, 404)
        asked = client.post("/auth/sign-in-link", data={"email": token})
        assert asked.status_code in (303, 422)

    check()


def test_a_burst_of_parallel_guesses_gets_no_more_answers_than_the_limit(make_app):
    """Thirty guesses sent at once, from thirty addresses (X-Forwarded-For behind a trusted
    proxy), to a real threaded server: the account limit is counted before the password is
    checked, so no more than its 10 are answered however the requests interleave."""
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request

    from werkzeug.serving import make_server

    app = make_app(RATELIMIT_ENABLED=True, TRUSTED_PROXIES=1, SERVER_NAME=None)
    member = Factory(app).member()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    start, statuses = threading.Barrier(30), []

    def guess(i: int) -> None:
        body = urllib.parse.urlencode({"email": member.email, "password": f"guess {i}"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/auth/login", data=body,
            headers={"X-Forwarded-For": address(i)["REMOTE_ADDR"]},
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            error.close()

    try:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
    assert len(statuses) == 30
    assert statuses.count(422) <= 10, sorted(statuses)
    assert statuses.count(429) >= 20


def test_spellings_of_one_address_share_its_limit(make_app):
    """Case, spaces around, a NUL inside or a second `email` field do not make a new account
    for the limiter: whatever finds the member counts against the member's limit."""
    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member(email="target@example.org")
    spellings = ["TARGET@example.org", " target@EXAMPLE.ORG ", "Target@Example.Org\t", "tar\x00get@example.org"]
    statuses = []
    for i in range(12):
        data = MultiDict([("email", spellings[i % len(spellings)]), ("password", f"guess {i}")])
        if i % 3 == 0:
            data.add("email", f"other{i}@example.org")
        statuses.append(english(app.test_client()).post(
            "/auth/login", data=data, environ_base=address(i)).status_code)
    assert statuses == [422] * 10 + [429] * 2
    right = app.test_client().post("/auth/login", data={"email": member.email, "password": PASSWORD},
                                   environ_base=address(20))
    assert right.status_code == 429

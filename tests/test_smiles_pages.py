"""Smiles pages and flows, on both backends: the history page (balance, table of transfers,
empty state, invitation link), referral links through /join/<code> and the sign-up form,
configurable bonuses, a referrer paid once per new member and never for themself, and
`flask smiles verify` before and after the ledger is tampered with.

The ledger's own rules (transfers, idempotency, overdrafts, races) are tested in
test_smiles.py; here everything goes through pages, sign-up and the CLI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SIGNUP as BASE_SIGNUP
from conftest import Factory, verification_link
from helpers import assert_see_other, english, html, logged_in
from sqlalchemy import func, select, text

from onemile.auth.services import mark_verified
from onemile.extensions import db
from onemile.listings.services import delete_listing
from onemile.models import Account, Member, Transfer
from onemile.smiles.services import (
    balance_of,
    grant_referral_bonus,
    grant_signup_bonus,
    member_account,
)

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SIGNUP = {**BASE_SIGNUP, "email": "newcomer@example.org", "first_name": "Nina", "last_name": "Newcomer"}


def balance(app, member_id: int) -> int:
    with app.app_context():
        return balance_of(member_id)


def transfers(app, reason: str) -> list[tuple[int, int, int]]:
    """(from member, to member, amount) of every transfer with this reason (None: issuer)."""
    with app.app_context():
        rows = db.session.execute(select(Transfer).where(Transfer.reason == reason).order_by(Transfer.id)).scalars()
        accounts = {a.id: a.member_id for a in db.session.scalars(select(Account))}
        return [(accounts[t.from_account_id], accounts[t.to_account_id], t.amount) for t in rows]


def referral_code(app, member_id: int) -> str:
    with app.app_context():
        return db.session.get(Member, member_id).referral_code


def newcomer(app) -> Member | None:
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.email == SIGNUP["email"]))
        if member is not None:
            db.session.expunge(member)
        return member


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment)).strip()


def rows_of(page: str) -> list[list[str]]:
    """The history's cards as [what it was, its listing or project ("" for none), amount]."""
    rows = []
    for card in re.findall(r'<li class="card smiles-line">(.*?)</li>', page, re.DOTALL):
        what = re.search(r'<p class="smiles-what">(.*?)</p>', card, re.DOTALL).group(1)
        listing = re.search(r'<p class="smiles-listing">(.*?)</p>', card, re.DOTALL)
        amount = re.search(r'<strong class="amount[^"]*">(.*?)</strong>', card, re.DOTALL).group(1)
        rows.append([_text(what), _text(listing.group(1)) if listing else "", _text(amount)])
    return rows


@pytest.fixture
def ladder_service(app, factory, anne, bruno):
    """Anne asked for a ladder, Bruno lent it; Anne marked it done, which pays him 1 smile."""
    listing_id = factory.listing(anne, kind="request", category="diy", title="Lend me a ladder")
    conversation_id = factory.conversation(bruno, listing_id, "I have one.")
    factory.completion(anne, conversation_id)
    return listing_id, conversation_id


# --- History page ---------------------------------------------------------------------------------


def test_history_shows_balance_and_transfers(app, anne, bruno, ladder_service):
    page = html(logged_in(app, bruno, "en").get("/smiles/"))
    assert "<h1>My smiles</h1>" in page
    assert "You have 2 smiles." in page
    assert "My smiles, newest first</h2>" in page and "<table" not in page  # cards: a 360 px phone
    service, bonus = rows_of(page)
    assert service == ["Service for Anne M.", "Listing: Lend me a ladder", "+1 smile"]
    assert bonus == ["Sign-up bonus from 1Mile", "", "+1 smile"]
    assert re.search(r'<time datetime="[^"]+Z">[^<]+</time>', page)  # a formatted date

    anne_page = html(logged_in(app, anne, "en").get("/smiles/"))
    assert "You have 0 smiles." in anne_page
    assert rows_of(anne_page)[0] == ["Service by Bruno D.", "Listing: Lend me a ladder", "−1 smile"]


def test_a_service_links_to_its_conversation_which_both_members_can_open(app, anne, bruno, ladder_service):
    # The listing is done: its page is its author's alone, the conversation shows it to both.
    _, conversation_id = ladder_service
    for member in (anne, bruno):
        client = logged_in(app, member, "en")
        page = html(client.get("/smiles/"))
        link = f'<a href="/conversations/{conversation_id}">Lend me a ladder</a>'
        assert link in page
        shown = client.get(f"/conversations/{conversation_id}")
        assert shown.status_code == 200 and "Lend me a ladder" in html(shown)


def test_a_deleted_listing_is_no_longer_linked(app, factory, anne, bruno, ladder_service):
    listing_id, conversation_id = ladder_service
    factory.act(lambda a: delete_listing(a, listing_id), anne)
    page = html(logged_in(app, bruno, "en").get("/smiles/"))
    assert rows_of(page)[0] == ["Service for Anne M.", "", "+1 smile"]
    assert f"/listings/{listing_id}" not in page and f"/conversations/{conversation_id}" not in page


def test_listing_titles_are_escaped_in_the_history(app, factory, anne, bruno):
    listing_id = factory.listing(anne, kind="request", category="diy", title=XSS)
    conversation_id = factory.conversation(bruno, listing_id, "hi")
    factory.completion(anne, conversation_id)
    page = html(logged_in(app, bruno, "en").get("/smiles/"))
    assert XSS not in page and ESCAPED in page


def test_empty_history(make_app):
    app = make_app(SIGNUP_BONUS=0)
    member = Factory(app).member(language="en")
    page = html(logged_in(app, member, "en").get("/smiles/"))
    assert "You have 0 smiles." in page
    assert "No smiles moved yet." in page
    assert "<table" not in page


def test_members_only_ever_see_their_own_history(app, factory, ladder_service):
    carol = factory.member(language="en", first_name="Carol")
    page = html(logged_in(app, carol, "en").get("/smiles/"))
    assert "Lend me a ladder" not in page and "Service" not in page
    assert rows_of(page) == [["Sign-up bonus from 1Mile", "", "+1 smile"]]
    assert "You have 1 smile." in page


def test_history_needs_a_member(client):
    response = client.get("/smiles/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_history_shows_my_invitation_link(app, anne):
    page = html(logged_in(app, anne, "en").get("/smiles/"))
    link = f"http://localhost/join/{referral_code(app, anne.id)}"
    assert '<label for="referral-link">My invitation link</label>' in page
    assert re.search(rf'<input id="referral-link" type="url" value="{re.escape(link)}" readonly', page)
    assert "you receive 1 smile (once per new member)" in page


def test_no_bonus_promised_when_referrals_pay_nothing(make_app):
    app = make_app(REFERRAL_BONUS=0)
    page = html(logged_in(app, Factory(app).member(language="en"), "en").get("/smiles/"))
    assert 'id="referral-link"' in page
    assert "you receive" not in page


# --- Referral links ----------------------------------------------------------------------------


def sign_up_through(client, path: str):
    """Follow an invitation link, then fill in the sign-up form."""
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/signup")
    return client.post("/auth/signup", data=SIGNUP)


@pytest.mark.parametrize(("signup_bonus", "referral_bonus"), [(1, 1), (3, 2)])
def test_signing_up_through_a_referral_link_pays_both(make_app, signup_bonus, referral_bonus):
    app = make_app(SIGNUP_BONUS=signup_bonus, REFERRAL_BONUS=referral_bonus)
    referrer = Factory(app).member(language="en")
    client = english(app.test_client())
    response = sign_up_through(client, f"/join/{referral_code(app, referrer.id)}")
    assert_see_other(response)
    nina = newcomer(app)
    assert nina.referred_by_id == referrer.id
    with client.session_transaction() as session:
        assert "referral_code" not in session  # used once
    # The sign-up bonus at once; the referral bonus waits for the e-mail to be confirmed.
    assert balance(app, nina.id) == signup_bonus
    assert balance(app, referrer.id) == signup_bonus
    assert transfers(app, "referral_bonus") == []

    link = verification_link(Path(app.config["MAIL_OUTBOX"]), SIGNUP["email"])
    assert client.get(link).status_code == 302
    assert balance(app, referrer.id) == signup_bonus + referral_bonus
    assert balance(app, nina.id) == signup_bonus
    assert transfers(app, "referral_bonus") == [(None, referrer.id, referral_bonus)]
    # The link works once: opening it again pays nothing more.
    client.get(link)
    assert transfers(app, "referral_bonus") == [(None, referrer.id, referral_bonus)]

    page = html(logged_in(app, referrer, "en").get("/smiles/"))
    amount = f"+{referral_bonus} smile" + ("s" if referral_bonus > 1 else "")
    assert ["Referral bonus from 1Mile: someone joined through your link", "", amount] in rows_of(page)


def test_a_bonus_of_zero_pays_nothing(make_app):
    app = make_app(SIGNUP_BONUS=0, REFERRAL_BONUS=0)
    factory = Factory(app)
    referrer = factory.member(language="en")
    sign_up_through(english(app.test_client()), f"/join/{referral_code(app, referrer.id)}")
    nina = newcomer(app)
    assert nina.referred_by_id == referrer.id
    factory.act(mark_verified, nina)
    assert balance(app, referrer.id) == 0 and balance(app, nina.id) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 0


def test_a_new_member_pays_the_referrer_only_once(app, factory):
    referrer = factory.member(language="en")
    sign_up_through(english(app.test_client()), f"/join/{referral_code(app, referrer.id)}")
    nina = newcomer(app)
    for _ in range(2):
        factory.act(mark_verified, nina)
        factory.act(grant_signup_bonus, nina)
        factory.act(grant_referral_bonus, nina)
    # The same link again, by someone already signed up: the address is taken (the answer
    # does not say so; the owner is told by e-mail), nothing paid.
    again = sign_up_through(english(app.test_client()), f"/join/{referral_code(app, referrer.id)}")
    assert_see_other(again)
    assert transfers(app, "referral_bonus") == [(None, referrer.id, 1)]
    assert transfers(app, "signup_bonus").count((None, nina.id, 1)) == 1
    assert balance(app, referrer.id) == 2 and balance(app, nina.id) == 1


def test_a_member_cannot_refer_themself(app, factory):
    member = factory.member(language="en")
    client = logged_in(app, member, "en")
    response = client.get(f"/join/{referral_code(app, member.id)}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/map")
    with client.session_transaction() as session:
        assert "referral_code" not in session

    # Even a member pointing at themself in the database earns nothing.
    with app.test_request_context():
        db.session.get(Member, member.id).referred_by_id = member.id
        db.session.commit()
    factory.act(grant_referral_bonus, member)
    assert transfers(app, "referral_bonus") == []
    assert balance(app, member.id) == 1


@pytest.mark.parametrize("code", ["unknown-code", "x" * 40, "%3Cscript%3E"])
def test_an_unknown_code_goes_to_sign_up_without_a_referral(app, factory, code):
    factory.member(language="en")
    client = english(app.test_client())
    response = client.get(f"/join/{code}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/signup")
    with client.session_transaction() as session:
        assert "referral_code" not in session
    assert client.post("/auth/signup", data=SIGNUP).status_code == 303
    assert newcomer(app).referred_by_id is None
    assert transfers(app, "referral_bonus") == []


def test_a_visitor_sees_the_same_answer_for_known_and_unknown_codes(app, factory):
    member = factory.member(language="en")
    known = app.test_client().get(f"/join/{referral_code(app, member.id)}")
    unknown = app.test_client().get("/join/nobody-has-it")
    assert (known.status_code, known.headers["Location"], known.get_data()) == (
        unknown.status_code, unknown.headers["Location"], unknown.get_data()
    )


# --- flask smiles verify ----------------------------------------------------------------------------


def test_verify_holds_after_bonuses_and_services_and_fails_on_a_corrupted_balance(app, factory, anne, bruno, ladder_service):
    sign_up_through(english(app.test_client()), f"/join/{referral_code(app, anne.id)}")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["smiles", "verify"])
    assert result.exit_code == 0, result.output
    assert "The ledger holds" in result.output

    with app.app_context():
        account_id = member_account(bruno.id).id
        db.session.execute(text("UPDATE account SET balance = balance + 1 WHERE id = :id"), {"id": account_id})
        db.session.commit()
    result = runner.invoke(args=["smiles", "verify"])
    assert result.exit_code != 0
    assert f"account {account_id}: balance 3 but entries sum to 2" in result.output
    assert "balances sum to 1, not 0" in result.output


def test_the_header_balance_refreshes_as_a_fragment(client, auth, factory):
    """After a payment the page asks for the balance again (HX-Trigger: smiles-changed)."""
    auth.login(factory.member())
    fragment = client.get("/smiles/balance", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    html = fragment.get_data(as_text=True)
    assert 'id="balance"' in html and "<html" not in html and "1" in html
    page = client.get("/smiles/balance")
    assert page.status_code == 302 and page.headers["Location"].endswith("/smiles/")

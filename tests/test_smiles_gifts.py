"""Thank-you gifts and the solidarity pot through their pages, on both backends: a gift with
its note in both histories, given once per form, within the credit limit, never to oneself,
across a block, or to or from a suspended member; gifts to the pot."""

from __future__ import annotations

import re

import pytest
from helpers import html, logged_in
from sqlalchemy import func, select

from onemile.errors import NotFoundError, RuleError
from onemile.extensions import db
from onemile.models import Member, Transfer
from onemile.moderation.services import suspend
from onemile.smiles import gifts
from onemile.smiles.services import balance_of, pot_balance, verify

XSS = "<script>alert(1)</script>"


def _key(page: str, field: str = "gift-key") -> str:
    return re.search(rf'id="{field}" name="key" type="hidden" value="([^"]+)"', page).group(1)


def _balances(app, *refs) -> list[int]:
    with app.app_context():
        return [balance_of(ref.id) for ref in refs]


def _gifts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "gift"))


def test_a_gift_with_its_note_shows_in_both_histories_and_is_given_once(app, anne, bruno):
    client = logged_in(app, anne, "en")
    form = client.get(f"/smiles/give/{bruno.id}")
    assert form.status_code == 200 and "Thank Bruno D. with smiles" in html(form)
    key = _key(html(form))
    data = {"amount": "2", "note": f"Merci pour l'échelle {XSS}", "key": key}
    # A double click sends the same form twice: one gift.
    for _ in range(2):
        assert client.post(f"/smiles/give/{bruno.id}", data=data).status_code == 303
    assert _balances(app, anne, bruno) == [-1, 3]
    assert _gifts(app) == 1
    mine = html(client.get("/smiles/"))
    assert "Thank-you gift to Bruno D." in mine and "Thank you! Bruno D. received 2 smiles." in mine
    theirs = html(logged_in(app, bruno, "en").get("/smiles/"))
    assert "Thank-you gift from Anne M." in theirs
    for page in (mine, theirs):
        assert "Merci pour l'échelle &lt;script&gt;" in page or "Merci pour l&#39;échelle &lt;script&gt;" in page
        assert XSS not in page
    with app.app_context():
        assert verify() == []


def test_a_gift_stays_within_the_credit_limit(app, anne, bruno):
    client = logged_in(app, anne, "en")
    key = _key(html(client.get(f"/smiles/give/{bruno.id}")))
    refused = client.post(f"/smiles/give/{bruno.id}", data={"amount": "7", "note": "tout", "key": key})
    assert refused.status_code == 422
    assert "below your credit limit of −5 smiles" in html(refused)
    assert 'value="7"' in html(refused) and "tout</textarea>" in html(refused)  # what was typed stays
    assert _balances(app, anne, bruno) == [1, 1] and _gifts(app) == 0
    # Down to the limit exactly is fine.
    assert client.post(f"/smiles/give/{bruno.id}", data={"amount": "6", "key": key}).status_code == 303
    assert _balances(app, anne, bruno) == [-5, 7]


@pytest.mark.parametrize(
    "amount, note, message",
    [("0", "", "at least one"), ("deux", "", "whole number"), ("21", "", "At most 20"), ("1", "x" * 201, "200 characters")],
)
def test_bad_gifts_are_refused_on_the_form(app, anne, bruno, amount, note, message):
    client = logged_in(app, anne, "en")
    key = _key(html(client.get(f"/smiles/give/{bruno.id}")))
    response = client.post(f"/smiles/give/{bruno.id}", data={"amount": amount, "note": note, "key": key})
    assert response.status_code == 422 and message in html(response)
    assert _gifts(app) == 0


def test_no_gift_to_oneself_or_without_a_form_key(app, anne, bruno):
    client = logged_in(app, anne, "en")
    key = _key(html(client.get(f"/smiles/give/{anne.id}")))
    to_self = client.post(f"/smiles/give/{anne.id}", data={"amount": "1", "key": key})
    assert to_self.status_code == 422 and "You cannot give smiles to yourself." in html(to_self)
    no_key = client.post(f"/smiles/give/{bruno.id}", data={"amount": "1", "key": ""})
    assert no_key.status_code == 422 and "expired" in html(no_key)
    assert _gifts(app) == 0


def test_no_gift_across_a_block_either_way(app, factory, anne, bruno):
    factory.block(bruno, anne)
    for giver, recipient in ((anne, bruno), (bruno, anne)):
        client = logged_in(app, giver, "en")
        assert client.get(f"/smiles/give/{recipient.id}").status_code == 404
        assert client.post(f"/smiles/give/{recipient.id}", data={"amount": "1", "key": "k" * 22}).status_code == 404
    assert _gifts(app) == 0


def test_no_gift_to_or_from_a_suspended_member(app, factory, anne, bruno):
    factory.act(suspend, bruno)
    client = logged_in(app, anne, "en")
    assert client.get(f"/smiles/give/{bruno.id}").status_code == 404
    assert client.post(f"/smiles/give/{bruno.id}", data={"amount": "1", "key": "k" * 22}).status_code == 404
    # A suspended member cannot log in; the service refuses them all the same.
    with app.test_request_context(), pytest.raises(RuleError, match="suspend"):
        gifts.give(db.session.get(Member, bruno.id), anne.id, 1, None, "k" * 22)
    with app.test_request_context(), pytest.raises(NotFoundError):
        gifts.give(db.session.get(Member, anne.id), 999_999, 1, None, "k" * 22)
    assert _gifts(app) == 0


def test_gifts_need_a_verified_member(app, factory, bruno, client):
    assert client.get(f"/smiles/give/{bruno.id}").status_code == 302  # a visitor: log in first
    newcomer = factory.member(verified=False, first_name="Nina")
    response = logged_in(app, newcomer, "en").post(f"/smiles/give/{bruno.id}", data={"amount": "1", "key": "k" * 22})
    assert response.status_code in (302, 303, 403) and _gifts(app) == 0


def test_giving_to_the_solidarity_pot(app, anne):
    client = logged_in(app, anne, "en")
    page = html(client.get("/smiles/"))
    assert "The pot holds 0 smiles." in page
    assert "You can go down to −5 smiles" in page
    key = _key(page, "pot-key")
    for _ in range(2):
        response = client.post("/smiles/pot", data={"amount": "3", "key": key})
        assert response.status_code == 303
    page = html(client.get("/smiles/"))
    assert "The pot holds 3 smiles." in page and "Gift to the solidarity pot" in page
    assert "Your balance is −2 smiles." in page
    refused = client.post("/smiles/pot", data={"amount": "4", "key": _key(page, "pot-key")})
    assert refused.status_code == 422 and "below your credit limit" in html(refused)
    with app.app_context():
        assert pot_balance() == 3 and balance_of(anne.id) == -2
        assert verify() == []

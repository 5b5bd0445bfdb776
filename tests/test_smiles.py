"""The smiles ledger: double entry, idempotency, no overdraft, atomic confirmations, and
what holds under concurrency (threads with their own connections, on both backends)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Factory
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import IntegrityError

from onemile.conversations import services as conversations
from onemile.errors import RuleError
from onemile.extensions import db
from onemile.models import Account, Completion, LedgerEntry, Listing, Member, Transfer
from onemile.smiles import services as smiles


def _member(member_id):
    return db.session.get(Member, member_id)


def _totals():
    """(sum of member balances, minted by the issuer, number of transfers)."""
    members = db.session.scalar(select(func.coalesce(func.sum(Account.balance), 0)).where(Account.kind == "member"))
    issuer = db.session.scalar(select(Account.balance).where(Account.kind == "issuer"))
    return members, -issuer, db.session.scalar(select(func.count()).select_from(Transfer))


def test_sign_up_mints_the_bonus_through_the_ledger(app, factory):
    anne = factory.member()
    with app.app_context():
        assert smiles.balance_of(anne.id) == 1
        transfer = db.session.scalar(select(Transfer))
        assert transfer.reason == "signup_bonus" and transfer.idempotency_key == f"signup_bonus:{anne.id}"
        assert sorted(entry.amount for entry in transfer.entries) == [-1, 1]
        assert smiles.verify() == []


def test_a_transfer_moves_both_balances_and_writes_two_entries(app, factory):
    anne, bruno = factory.member(), factory.member()
    with app.test_request_context():
        record = smiles.transfer(smiles.member_account(anne.id), smiles.member_account(bruno.id), 1, "service", "k1")
        db.session.commit()
        assert (smiles.balance_of(anne.id), smiles.balance_of(bruno.id)) == (0, 2)
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.transfer_id == record.id)).all()
        assert sorted((e.account_id, e.amount) for e in entries) == sorted(
            [(record.from_account_id, -1), (record.to_account_id, 1)]
        )
        assert smiles.verify() == []


def test_replaying_a_key_pays_once_and_a_changed_replay_is_refused(app, factory):
    anne, bruno = factory.member(), factory.member()
    with app.test_request_context():
        payer, payee = smiles.member_account(anne.id), smiles.member_account(bruno.id)
        first = smiles.transfer(payer, payee, 1, "service", "same-key")
        db.session.commit()
        again = smiles.transfer(payer, payee, 1, "service", "same-key")
        assert again.id == first.id
        with pytest.raises(smiles.ConflictingReplay):
            smiles.transfer(payee, payer, 1, "service", "same-key")
        db.session.commit()
        assert smiles.balance_of(bruno.id) == 2
        assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service")) == 1


def test_no_member_goes_below_the_credit_limit(app, factory):
    anne, bruno = factory.member(), factory.member()
    with app.test_request_context():
        payer, payee = smiles.member_account(anne.id), smiles.member_account(bruno.id)
        assert payer.credit_limit == app.config["SMILES_CREDIT_LIMIT"] == 5
        # One smile of her own, then five on credit.
        smiles.transfer(payer, payee, 6, "gift", "a")
        db.session.commit()
        assert smiles.balance_of(anne.id) == -5
        before = _totals()
        with pytest.raises(smiles.InsufficientSmiles, match="−5"):
            smiles.transfer(payer, payee, 1, "gift", "b")
        db.session.commit()
        assert _totals() == before
        assert smiles.balance_of(anne.id) == -5
        assert smiles.verify() == []
        # The database itself refuses a balance past the limit, whatever the code does.
        _refused_by_the_database(payer, -6)


def test_the_pot_and_projects_never_go_below_zero(app, factory):
    anne = factory.member()
    with app.test_request_context():
        pot = smiles.pot_account()
        assert pot.credit_limit == 0 and smiles.pot_account().id == pot.id  # one pot
        with pytest.raises(smiles.InsufficientSmiles):
            smiles.transfer(pot, smiles.member_account(anne.id), 1, "service", "from-empty-pot")
        db.session.commit()
        _refused_by_the_database(pot, -1)


def _refused_by_the_database(account, balance):
    with pytest.raises(IntegrityError):
        db.session.execute(update(Account).where(Account.id == account.id).values(balance=balance))
        db.session.flush()
    db.session.rollback()


def test_the_issuer_mints_bonuses_and_nothing_else(app, factory):
    anne = factory.member()
    with app.test_request_context():
        with pytest.raises(ValueError, match="mints bonuses"):
            smiles.transfer(smiles.issuer_account(), smiles.member_account(anne.id), 1, "gift", "minted-gift")
        with pytest.raises(ValueError, match="mints bonuses"):
            smiles.transfer(smiles.member_account(anne.id), smiles.pot_account(), 1, "signup_bonus", "fake-bonus")


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "1", None])
def test_amounts_must_be_whole_and_positive(app, factory, amount):
    anne, bruno = factory.member(), factory.member()
    with app.test_request_context():
        with pytest.raises(RuleError):
            smiles.transfer(smiles.member_account(anne.id), smiles.member_account(bruno.id), amount, "service", "x")
        assert smiles.verify() == []


def test_verify_finds_a_tampered_balance(app, factory):
    anne = factory.member()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["smiles", "verify"]).exit_code == 0
    with app.app_context():
        db.session.execute(text("UPDATE account SET balance = balance + 1 WHERE member_id = :id"), {"id": anne.id})
        db.session.commit()
    result = runner.invoke(args=["smiles", "verify"])
    assert result.exit_code == 1
    assert "entries sum to" in result.output


@pytest.mark.parametrize(
    "tamper, expected",
    [
        ("UPDATE account SET balance = -6, credit_limit = 5 WHERE member_id = :id", "below its limit"),
        ("UPDATE transfer SET reason = 'gift' WHERE reason = 'signup_bonus'", "paid by a issuer account"),
    ],
)
def test_verify_finds_a_broken_rule(app, factory, tamper, expected):
    anne = factory.member()
    with app.app_context():
        # Drop the database's own guard to see that the command catches what slipped past.
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE account DROP CONSTRAINT ck_account_within_limit"))
        else:
            db.session.execute(text("PRAGMA ignore_check_constraints = 1"))
        db.session.execute(text(tamper), {"id": anne.id})
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["smiles", "verify"])
    assert result.exit_code == 1
    assert expected in result.output


def _pending_offer(app, factory, helper, beneficiary, title="Je répare les vélos"):
    """An offer by `helper`, answered by `beneficiary`, marked done: pending confirmation."""
    listing_id = factory.listing(helper, kind="offer", offer_type="service", title=title)
    return factory.completion(helper, factory.conversation(beneficiary, listing_id, "Bonjour !"))


def _confirm_in_thread(app, member_id, completion_id, barrier=None):
    """Confirm with a connection of its own, as a separate request would."""
    with app.test_request_context():
        if barrier is not None:
            barrier.wait(timeout=10)
        try:
            status = conversations.confirm(_member(member_id), completion_id).status
            db.session.commit()
            return status
        except RuleError as error:
            return type(error).__name__
        finally:
            db.session.remove()


def test_the_same_confirmation_twice_at_once_pays_once(app, factory):
    helper, beneficiary = factory.member(), factory.member()
    completion_id = _pending_offer(app, factory, helper, beneficiary)
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _confirm_in_thread(app, beneficiary.id, completion_id, barrier), range(2)))
    assert results == ["confirmed", "confirmed"]
    with app.app_context():
        assert (smiles.balance_of(helper.id), smiles.balance_of(beneficiary.id)) == (2, 0)
        assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service")) == 1
        assert smiles.verify() == []


def test_a_failure_in_the_middle_leaves_nothing_half_done(app, factory):
    helper, beneficiary = factory.member(), factory.member()
    completion_id = _pending_offer(app, factory, helper, beneficiary)

    def fail_on_listing_update(conn, cursor, statement, parameters, context, executemany):
        # The transfer is written by now; closing the listing is the last step.
        if statement.lstrip().upper().startswith("UPDATE LISTING"):
            raise RuntimeError("injected failure after the transfer")

    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", fail_on_listing_update)
        try:
            with pytest.raises(RuntimeError, match="injected"):
                conversations.confirm(_member(beneficiary.id), completion_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", fail_on_listing_update)
        db.session.rollback()  # what the end of the request does
    with app.app_context():
        assert db.session.get(Completion, completion_id).status == "pending"
        assert db.session.get(Completion, completion_id).listing.status == "open"
        assert (smiles.balance_of(helper.id), smiles.balance_of(beneficiary.id)) == (1, 1)
        assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service")) == 0
        assert smiles.verify() == []
    # And it can still be confirmed afterwards, exactly once.
    assert _confirm_in_thread(app, beneficiary.id, completion_id) == "confirmed"


def _fill_pot(app, factory, amount):
    """Members give `amount` smiles to the solidarity pot, 6 at most each."""
    with app.test_request_context():
        given = 0
        while given < amount:
            donor = factory.member(first_name="Donor")
            part = min(6, amount - given)
            account = smiles.member_account(donor.id)
            account.credit_limit = 6  # whatever the app's limit, the donors can give
            smiles.transfer(account, smiles.pot_account(), part, "pot_gift", f"fill:{donor.id}")
            given += part
        db.session.commit()


def test_many_concurrent_confirmations_against_the_limit_and_the_pot(app, factory):
    """4 beneficiaries (1 smile, credit 5: 6 services each) owe 10 services each to 10
    different helpers; the pot holds 10. Every confirmation is sent twice at once."""
    beneficiaries = [factory.member(first_name=f"B{i}") for i in range(4)]
    helpers = [factory.member(first_name=f"H{j}") for j in range(10)]
    _fill_pot(app, factory, 10)
    pending = [
        (beneficiary.id, _pending_offer(app, factory, helper, beneficiary, title=f"Service {i}-{j}"))
        for i, beneficiary in enumerate(beneficiaries)
        for j, helper in enumerate(helpers)
    ]
    with app.app_context():
        minted_before = _totals()[1]
    barrier = threading.Barrier(10)
    calls = [item for item in pending for _ in range(2)]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda item: _confirm_in_thread(app, item[0], item[1], barrier), calls))
    # Never refused for a balance.
    assert set(results) == {"confirmed"}
    with app.app_context():
        paid_by = dict(
            db.session.execute(select(Completion.paid_by, func.count()).group_by(Completion.paid_by)).all()
        )
        assert paid_by == {"beneficiary": 24, "pot": 10, "nobody": 6}
        for beneficiary in beneficiaries:
            assert smiles.balance_of(beneficiary.id) == -5
        assert smiles.pot_balance() == 0
        assert sum(smiles.balance_of(helper.id) for helper in helpers) == 10 * 1 + 24 + 10
        service = db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service"))
        assert service == 34  # each paid at most once
        assert _totals()[1] == minted_before  # nothing minted
        done = db.session.scalar(select(func.count()).select_from(Listing).where(Listing.status == "done"))
        assert done == 40
        assert smiles.verify() == []


def test_the_pot_pays_once_per_pair_even_at_once(make_app):
    app = make_app(SIGNUP_BONUS=0, SMILES_CREDIT_LIMIT=0)
    factory = Factory(app)
    helper, beneficiary = factory.member(), factory.member()
    _fill_pot(app, factory, 5)
    completions = [_pending_offer(app, factory, helper, beneficiary, title=f"Service {i}") for i in range(6)]
    barrier = threading.Barrier(6)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda cid: _confirm_in_thread(app, beneficiary.id, cid, barrier), completions))
    assert results == ["confirmed"] * 6
    with app.app_context():
        paid_by = sorted(db.session.scalars(select(Completion.paid_by)))
        assert paid_by == ["nobody"] * 5 + ["pot"]
        assert smiles.balance_of(helper.id) == 1 and smiles.pot_balance() == 4
        assert smiles.verify() == []


def test_two_colluding_accounts_gain_only_what_they_took_from_each_other(app, factory):
    """Gifts back and forth, invented services both ways, everything on credit: together
    the pair ends with what it started with, plus at most the pot's one smile for the pair."""
    anne, bruno = factory.member(), factory.member()
    _fill_pot(app, factory, 6)
    with app.test_request_context():
        start = smiles.balance_of(anne.id) + smiles.balance_of(bruno.id)
        a, b = smiles.member_account(anne.id), smiles.member_account(bruno.id)
        smiles.transfer(a, b, 6, "gift", "collude-1")  # Anne to her limit
        smiles.transfer(b, a, 12, "gift", "collude-2")  # Bruno down to his
        db.session.commit()
        assert (smiles.balance_of(anne.id), smiles.balance_of(bruno.id)) == (7, -5)
    # Bruno (at his limit) "confirms" ten invented services by Anne.
    completions = [_pending_offer(app, factory, anne, bruno, title=f"Fake {i}") for i in range(10)]
    for completion_id in completions:
        assert _confirm_in_thread(app, bruno.id, completion_id) == "confirmed"
    with app.app_context():
        end = smiles.balance_of(anne.id) + smiles.balance_of(bruno.id)
        assert end - start == 1  # the pot paid the pair once, nothing else appeared
        assert smiles.pot_balance() == 5
        assert smiles.verify() == []

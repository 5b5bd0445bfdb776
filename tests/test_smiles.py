"""The smiles ledger: double entry, idempotency, no overdraft, atomic confirmations, and
what holds under concurrency (threads with their own connections, on both backends)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
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


def test_no_member_goes_below_zero(app, factory):
    anne, bruno = factory.member(), factory.member()
    with app.test_request_context():
        payer, payee = smiles.member_account(anne.id), smiles.member_account(bruno.id)
        smiles.transfer(payer, payee, 1, "service", "a")
        db.session.commit()
        before = _totals()
        with pytest.raises(smiles.InsufficientSmiles):
            smiles.transfer(payer, payee, 1, "service", "b")
        db.session.commit()
        assert _totals() == before
        assert smiles.balance_of(anne.id) == 0
        # The database itself refuses a negative member balance, whatever the code does.
        with pytest.raises(IntegrityError):
            db.session.execute(update(Account).where(Account.id == payer.id).values(balance=-1))
            db.session.flush()
        db.session.rollback()


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


def test_fifty_concurrent_confirmations_keep_the_books(app, factory):
    members = [factory.member(first_name=f"M{i}") for i in range(10)]
    pending = []  # (beneficiary id, completion id)
    for i in range(50):
        # Five beneficiaries with one smile each owe ten services each: most must be refused.
        helper, beneficiary = members[5 + (i * 3) % 5], members[i % 5]
        pending.append((beneficiary.id, _pending_offer(app, factory, helper, beneficiary, title=f"Service {i}")))
    with app.app_context():
        minted_before = _totals()[1]
    # Each confirmation is sent twice (a double click); 10 threads start each round together.
    barrier = threading.Barrier(10)
    calls = [item for item in pending for _ in range(2)]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda item: _confirm_in_thread(app, item[0], item[1], barrier), calls))
    # Members start with one smile: some beneficiaries run out, and are told so.
    assert set(results) == {"confirmed", "InsufficientSmiles"}
    with app.app_context():
        members_total, minted, _ = _totals()
        assert members_total == minted == minted_before  # nothing appeared or vanished
        assert db.session.scalar(select(func.min(Account.balance)).where(Account.kind == "member")) >= 0
        confirmed = db.session.scalar(select(func.count()).select_from(Completion).where(Completion.status == "confirmed"))
        paid = db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "service"))
        assert confirmed == paid == 5  # one per beneficiary (one smile each), each paid once
        done = db.session.scalar(select(func.count()).select_from(Listing).where(Listing.status == "done"))
        assert done == confirmed
        assert smiles.verify() == []

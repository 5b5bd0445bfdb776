"""The smiles ledger: accounts, transfers and their guarantees.

Every transfer moves a positive amount between two accounts in one transaction: a transfer
row with its reason and a unique idempotency key, two ledger entries that sum to zero, and
both cached balances. Mutual credit: a member's balance may go down to minus their credit
limit and never below; the solidarity pot and project accounts never below zero. The debit
is a conditional UPDATE that the database applies atomically (and a CHECK constraint backs
it). Replaying a key returns the first transfer instead of paying twice, even when two
requests race: the unique index on the key decides.

Smiles are created only by the issuer, for the sign-up and referral bonuses; everything
else moves existing smiles (or credit, which another account holds as smiles), so the
balances always sum to zero and two accounts trading between themselves only ever hold
what they took from each other. The one exception is the solidarity pot, which members
fill with their own smiles: it pays the helper of a member at their limit, at most once
per pair of members (ever, in either direction), so a pair cannot drain it by inventing
services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import aliased

from ..errors import RuleError
from ..extensions import db
from ..models import (
    Account,
    AccountKind,
    Completion,
    CompletionStatus,
    LedgerEntry,
    Listing,
    Member,
    Project,
    Transfer,
    TransferReason,
)
from ..models.ledger import MINTED_REASONS, TRANSFER_REASONS
from ..unit_of_work import insert_once


class InsufficientSmiles(RuleError):
    """The payer would go below its floor (a member's credit limit, zero for the others)."""


class ConflictingReplay(RuleError):
    """An idempotency key was reused for a different transfer."""


def member_account(member_id: int) -> Account:
    """The member's account, opened on first use (once, even when two requests open it)."""
    account, _opened = insert_once(
        lambda: db.session.scalar(select(Account).where(Account.member_id == member_id)),
        lambda: Account(
            kind=AccountKind.MEMBER, member_id=member_id, balance=0, credit_limit=current_app.config["SMILES_CREDIT_LIMIT"]
        ),
    )
    return account


def pot_account() -> Account:
    """The solidarity pot, opened on first use (once: a partial unique index on the kind)."""
    account, _opened = insert_once(
        lambda: db.session.scalar(select(Account).where(Account.kind == AccountKind.POT)),
        lambda: Account(kind=AccountKind.POT, balance=0),
    )
    return account


def pot_balance() -> int:
    """How many smiles the solidarity pot holds."""
    return db.session.scalar(select(Account.balance).where(Account.kind == AccountKind.POT)) or 0


def credit_limit_of(member_id: int) -> int:
    """How far below zero the member's balance may go (a positive number: 5 means −5)."""
    limit = db.session.scalar(select(Account.credit_limit).where(Account.member_id == member_id))
    return current_app.config["SMILES_CREDIT_LIMIT"] if limit is None else limit


def standing(member_id: int) -> tuple[int, int]:
    """(balance, credit limit) of a member, in one read: what paying would leave them."""
    row = db.session.execute(
        select(Account.balance, Account.credit_limit).where(Account.member_id == member_id)
    ).first()
    return (row.balance, row.credit_limit) if row else (0, current_app.config["SMILES_CREDIT_LIMIT"])


def issuer_account() -> Account:
    """The account that mints bonuses (its balance is minus everything minted)."""
    account = db.session.scalar(select(Account).where(Account.kind == AccountKind.ISSUER).order_by(Account.id))
    if account is None:
        account = Account(kind=AccountKind.ISSUER, balance=0)
        db.session.add(account)
        db.session.flush()
    return account


def balance_of(member_id: int) -> int:
    """How many smiles a member holds."""
    return db.session.scalar(select(Account.balance).where(Account.member_id == member_id)) or 0


def _same(transfer: Transfer, from_id: int, to_id: int, amount: int, reason: str) -> bool:
    return (transfer.from_account_id, transfer.to_account_id, transfer.amount, transfer.reason) == (
        from_id, to_id, amount, reason
    )


def transfer(
    from_account: Account,
    to_account: Account,
    amount: int,
    reason: str,
    key: str,
    listing_id: int | None = None,
) -> Transfer:
    """Move `amount` smiles; idempotent on `key`. Runs in the caller's transaction (the
    caller commits), inside a savepoint so that a refused transfer leaves nothing behind.

    Raises InsufficientSmiles when the payer would go below its floor (minus its credit
    limit); the issuer has none.
    """
    return transfer_once(from_account, to_account, amount, reason, key, listing_id)[0]


def transfer_once(
    from_account: Account,
    to_account: Account,
    amount: int,
    reason: str,
    key: str,
    listing_id: int | None = None,
    note: str | None = None,
) -> tuple[Transfer, bool]:
    """`transfer`, and whether this call moved the smiles (False: a replay of `key`)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RuleError(_("An amount of smiles must be a whole number above zero."))
    if from_account.id == to_account.id:
        raise RuleError(_("Smiles cannot be sent to the same account."))
    try:
        record, paid = _move(from_account, to_account, amount, reason, key, listing_id, note)
    except _Short:
        raise _insufficient(from_account) from None
    if not paid:
        return _replayed(record, from_account.id, to_account.id, amount, reason), False
    return record, True


class _Short(Exception):
    """The payer's floor refused the debit (not a RuleError: a caller may try another payer
    without the request being marked refused)."""


def _move(
    from_account: Account, to_account: Account, amount: int, reason: str, key: str,
    listing_id: int | None, note: str | None,
) -> tuple[Transfer, bool]:
    """Write the transfer in a savepoint, or find the one already written under `key`
    (returned unchecked, with False). Raises _Short, leaving nothing, past the payer's floor."""
    if reason not in TRANSFER_REASONS:
        raise ValueError(f"unknown transfer reason {reason!r}")
    if (from_account.kind == AccountKind.ISSUER) != (reason in MINTED_REASONS):
        raise ValueError(f"the issuer mints bonuses and nothing else, not {reason!r}")

    def pay() -> Transfer:
        record = Transfer(
            from_account_id=from_account.id,
            to_account_id=to_account.id,
            amount=amount,
            reason=reason,
            idempotency_key=key,
            listing_id=listing_id,
            note=note,
        )
        record.entries = [
            LedgerEntry(account_id=from_account.id, amount=-amount),
            LedgerEntry(account_id=to_account.id, amount=amount),
        ]
        # The key first: a request replaying it waits here for the first one and then
        # replays it. Debiting first, it would find the balance already spent by the first
        # one and refuse a payment that was in fact made.
        db.session.add(record)
        db.session.flush()
        # Lock the two accounts in id order so that crossing transfers cannot deadlock.
        for account_id in sorted((from_account.id, to_account.id)):
            if account_id == from_account.id:
                debited = db.session.execute(
                    update(Account)
                    .where(Account.id == account_id)
                    .where(or_(Account.kind == AccountKind.ISSUER, Account.balance - amount >= -Account.credit_limit))
                    .values(balance=Account.balance - amount)
                )
                if debited.rowcount != 1:
                    raise _Short
            else:
                db.session.execute(
                    update(Account).where(Account.id == account_id).values(balance=Account.balance + amount)
                )
        return record

    record, paid = insert_once(
        lambda: db.session.scalar(select(Transfer).where(Transfer.idempotency_key == key)), pay
    )
    if paid:
        # The cached balances changed in SQL: reload them.
        db.session.expire(from_account, ["balance"])
        db.session.expire(to_account, ["balance"])
    return record, paid


def _insufficient(payer: Account) -> InsufficientSmiles:
    if payer.kind != AccountKind.MEMBER:
        return InsufficientSmiles(_("There are not enough smiles in this account."))
    if payer.credit_limit == 0:
        return InsufficientSmiles(_("You have no smile left to give. Help someone to earn one!"))
    return InsufficientSmiles(
        _("That would take you below your credit limit of −%(limit)d smiles.", limit=payer.credit_limit)
    )


def _replayed(existing: Transfer, from_id: int, to_id: int, amount: int, reason: str) -> Transfer:
    if not _same(existing, from_id, to_id, amount, reason):
        raise ConflictingReplay(_("This operation was already recorded differently."))
    return existing


def mint(member_id: int, amount: int, reason: str, key: str) -> Transfer | None:
    """Pay a bonus from the issuer (nothing when the configured amount is 0)."""
    if amount <= 0:
        return None
    return transfer(issuer_account(), member_account(member_id), amount, reason, key)


def pay_service(
    beneficiary_id: int, helper_id: int, amount: int, key: str, listing_id: int | None = None
) -> str:
    """Pay the helper for a confirmed service, never refusing: who paid, as a word.

    "beneficiary": from the beneficiary's account, down to their credit limit. "pot": the
    beneficiary is at the limit, so the solidarity pot pays, at most once per pair of
    members (its key names the pair: the unique index decides even between two confirmations
    at once). "nobody": the pot is empty or already paid for this pair, so the service is
    confirmed with thanks and no smile moves. Runs in the caller's transaction.
    """
    helper = member_account(helper_id)
    try:
        _move(member_account(beneficiary_id), helper, amount, TransferReason.SERVICE, key, listing_id, None)
        return "beneficiary"
    except _Short:
        pass
    low, high = sorted((beneficiary_id, helper_id))
    try:
        _record, paid = _move(pot_account(), helper, amount, TransferReason.SERVICE, f"solidarity:{low}:{high}", listing_id, None)
    except _Short:
        return "nobody"
    # Not paid: the pot already paid for this pair (another service, maybe a moment ago).
    return "pot" if paid else "nobody"


def grant_signup_bonus(member: Member) -> None:
    """The sign-up bonus. Runs in the sign-up transaction.

    It stays at sign-up: an unverified member cannot spend it (every way to pay goes through
    the verification gate), and it pays nobody else.
    """
    member_account(member.id)
    mint(member.id, current_app.config["SIGNUP_BONUS"], "signup_bonus", f"signup_bonus:{member.id}")


def grant_referral_bonus(member: Member) -> None:
    """The referral bonus for whoever invited the member, once per new member and never to
    themself. Paid when the new member verifies their address, not at sign-up, so that
    made-up addresses earn nothing."""
    if member.referred_by_id and member.referred_by_id != member.id:
        referrer = db.session.get(Member, member.referred_by_id)
        if referrer is not None and not referrer.is_deleted:
            mint(member.referred_by_id, current_app.config["REFERRAL_BONUS"], "referral_bonus",
                 f"referral_bonus:{member.id}")


def referrer_for_code(code: str | None) -> Member | None:
    """The member whose referral link this is."""
    if not code or len(code) > 16:
        return None
    return db.session.scalar(select(Member).where(Member.referral_code == code))


@dataclass(frozen=True)
class HistoryLine:
    """One transfer as a member sees it: what it was, and with whom (never the member)."""

    created_at: datetime
    amount: int  # positive received, negative given
    reason: str
    # The other side: "member", "project", "pot" (the solidarity pot) or "issuer" (1Mile).
    counterpart: str
    other_party: str | None  # the other member's name as shown, or the project's title
    other_member_id: int | None
    project_id: int | None
    listing_id: int | None
    listing_title: str | None  # None: no listing, or it was deleted
    # For a service: the conversation it was agreed in. Its two members can always open
    # it, whereas the listing page of a done listing is its author's alone.
    conversation_id: int | None = None
    note: str | None = None  # a gift's note


def history(member_id: int, limit: int = 100) -> list[HistoryLine]:
    """The member's transfers, newest first, with the other side and what each was for."""
    account = db.session.scalar(select(Account).where(Account.member_id == member_id))
    if account is None:
        return []
    other_account = case(
        (Transfer.from_account_id == account.id, Transfer.to_account_id), else_=Transfer.from_account_id
    )
    other = aliased(Account)
    other_member = aliased(Member)
    rows = db.session.execute(
        select(Transfer, LedgerEntry.amount, other.kind, other_member, Project.id, Project.title, Listing.title,
               Completion.conversation_id)
        .join(LedgerEntry, (LedgerEntry.transfer_id == Transfer.id) & (LedgerEntry.account_id == account.id))
        .join(other, other.id == other_account)
        .outerjoin(other_member, other_member.id == other.member_id)
        .outerjoin(Project, Project.id == other.project_id)
        .outerjoin(Listing, Listing.id == Transfer.listing_id)
        # At most one confirmed completion per listing (a partial unique index): one row.
        .outerjoin(
            Completion,
            (Transfer.reason == TransferReason.SERVICE)
            & (Completion.listing_id == Transfer.listing_id)
            & (Completion.status == CompletionStatus.CONFIRMED),
        )
        .order_by(Transfer.id.desc())
        .limit(limit)
    ).all()
    lines = []
    for record, amount, kind, member, project_id, project_title, listing_title, conversation_id in rows:
        lines.append(
            HistoryLine(
                created_at=record.created_at,
                amount=amount,
                reason=record.reason,
                counterpart=kind,
                other_party=member.display_name if member is not None else project_title,
                other_member_id=member.id if member is not None else None,
                project_id=project_id,
                listing_id=record.listing_id,
                listing_title=listing_title,
                conversation_id=conversation_id,
                note=record.note,
            )
        )
    return lines


def verify() -> list[str]:
    """Every inconsistency in the ledger, as sentences; an empty list means it holds."""
    problems: list[str] = []
    sums = dict(
        db.session.execute(select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.account_id)).all()
    )
    for account in db.session.scalars(select(Account).order_by(Account.id)):
        derived = int(sums.get(account.id) or 0)
        if derived != account.balance:
            problems.append(f"account {account.id}: balance {account.balance} but entries sum to {derived}")
        if account.kind != AccountKind.ISSUER and account.balance < -account.credit_limit:
            problems.append(
                f"account {account.id}: balance {account.balance} below its limit of -{account.credit_limit}"
            )
        if account.kind != AccountKind.MEMBER and account.credit_limit != 0:
            problems.append(f"account {account.id}: a {account.kind} account with credit ({account.credit_limit})")
    for kind in (AccountKind.ISSUER, AccountKind.POT):
        count = db.session.scalar(select(func.count()).select_from(Account).where(Account.kind == kind))
        if count > 1:
            problems.append(f"{count} {kind} accounts, not one")
    # The issuer mints the bonuses and nothing else: no other smile is ever created.
    issuer = aliased(Account)
    minted_wrong = db.session.execute(
        select(Transfer.id, Transfer.reason, issuer.kind)
        .join(issuer, issuer.id == Transfer.from_account_id)
        .where((issuer.kind == AccountKind.ISSUER) != Transfer.reason.in_(MINTED_REASONS))
        .order_by(Transfer.id)
    ).all()
    for transfer_id, reason, payer_kind in minted_wrong:
        problems.append(f"transfer {transfer_id}: reason {reason} paid by a {payer_kind} account")
    unbalanced = db.session.execute(
        select(LedgerEntry.transfer_id, func.sum(LedgerEntry.amount), func.count())
        .group_by(LedgerEntry.transfer_id)
        .having((func.sum(LedgerEntry.amount) != 0) | (func.count() != 2))
    ).all()
    for transfer_id, total, count in unbalanced:
        problems.append(f"transfer {transfer_id}: {count} entries summing to {total}")
    bare = db.session.scalars(
        select(Transfer.id).where(~select(LedgerEntry.id).where(LedgerEntry.transfer_id == Transfer.id).exists())
    ).all()
    problems.extend(f"transfer {transfer_id}: no entries" for transfer_id in bare)
    mismatched = db.session.execute(
        select(Transfer.id)
        .join(LedgerEntry, LedgerEntry.transfer_id == Transfer.id)
        .where(
            ((LedgerEntry.amount < 0) & ((LedgerEntry.account_id != Transfer.from_account_id) | (LedgerEntry.amount != -Transfer.amount)))
            | ((LedgerEntry.amount > 0) & ((LedgerEntry.account_id != Transfer.to_account_id) | (LedgerEntry.amount != Transfer.amount)))
        )
    ).scalars().all()
    problems.extend(f"transfer {transfer_id}: entries do not match the transfer" for transfer_id in sorted(set(mismatched)))
    total = db.session.scalar(select(func.coalesce(func.sum(Account.balance), 0)))
    if total != 0:
        problems.append(f"balances sum to {total}, not 0: smiles appeared or vanished")
    return problems

"""Smiles: a double-entry ledger. Every transfer writes two entries that sum to zero."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._states import states
from ._time import utcnow

# pot: the solidarity pot. gift: a thank-you gift between members, with a note; pot_gift: a
# gift to the solidarity pot.
AccountKind = states("AccountKind", "member", "issuer", "project", "pot")
ACCOUNT_KINDS = tuple(AccountKind)


TransferReason = states("TransferReason", "signup_bonus", "referral_bonus", "service", "project_support", "gift",
                        "pot_gift")
TRANSFER_REASONS = tuple(TransferReason)
# Only the issuer pays these, and the issuer pays nothing else.
MINTED_REASONS = (TransferReason.SIGNUP_BONUS, TransferReason.REFERRAL_BONUS)


class Account(db.Model):
    """Where smiles are held.

    Mutual credit: a member account may go down to minus its `credit_limit` (set from
    SMILES_CREDIT_LIMIT when it is opened), never below; project accounts and the solidarity
    pot have no credit (limit 0); only the issuer has no floor: it mints the bonuses, so its
    balance is minus everything minted. `balance` is kept in the same transaction as the
    entries, so that the database itself refuses going past the floor under concurrency;
    `flask smiles verify` recomputes it from them.
    """

    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("kind = 'issuer' OR balance >= -credit_limit", name="ck_account_within_limit"),
        CheckConstraint("credit_limit >= 0", name="ck_account_limit_positive"),
        # One solidarity pot: opened once even when two first gifts race.
        Index("ux_account_pot", "kind", unique=True, sqlite_where=text("kind = 'pot'"),
              postgresql_where=text("kind = 'pot'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), unique=True)
    # For kind "project": the project whose smiles these are (passed on to its volunteers).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)
    # How far below zero the balance may go (5: down to -5); 0 for all but member accounts.
    credit_limit: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(db.Model):
    """One movement of smiles between two accounts, with its reason and idempotency key."""

    __tablename__ = "transfer"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_transfer_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    to_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id", ondelete="SET NULL"))
    # For a gift: the giver's short note, shown in both histories.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transfer", order_by="LedgerEntry.id")


class LedgerEntry(db.Model):
    """One leg of a transfer: negative on the paying account, positive on the receiving one."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int]

    transfer: Mapped[Transfer] = relationship(back_populates="entries")

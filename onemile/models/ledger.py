"""Smiles: a double-entry ledger. Every transfer writes two entries that sum to zero."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._states import states
from ._time import utcnow

AccountKind = states("AccountKind", "member", "issuer", "project")
ACCOUNT_KINDS = tuple(AccountKind)


TransferReason = states("TransferReason", "signup_bonus", "referral_bonus", "service", "project_support")
TRANSFER_REASONS = tuple(TransferReason)


class Account(db.Model):
    """Where smiles are held. Only the issuer may go below zero: it mints bonuses.

    `balance` is kept in the same transaction as the entries, so that the database itself
    refuses an overdraft under concurrency; `flask smiles verify` recomputes it from them.
    """

    __tablename__ = "account"
    __table_args__ = (CheckConstraint("kind = 'issuer' OR balance >= 0", name="ck_account_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), unique=True)
    # For kind "project": the project whose smiles these are (passed on to its volunteers).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), unique=True)
    balance: Mapped[int] = mapped_column(default=0)
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

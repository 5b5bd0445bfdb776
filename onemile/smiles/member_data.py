"""The member's smiles in their data download. An account deletion keeps the ledger whole:
the member's account and both legs of every transfer stay; only the notes the member wrote
on their gifts go (their words, not the books)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import update

from ..account.signals import connect_receivers, export_time
from ..extensions import db
from ..models import Account, Member, Transfer
from .services import balance_of, history

# More than anyone's lifetime of transfers: the download holds the whole history.
EXPORT_HISTORY_LIMIT = 100_000


def export(member: Member, export: dict) -> None:
    """The member's balance and whole history."""
    export["smiles"] = {
        "balance": balance_of(member.id),
        "history": [
            {**asdict(line), "created_at": export_time(line.created_at)}
            for line in history(member.id, limit=EXPORT_HISTORY_LIMIT)
        ],
    }


def forget(member: Member, after_commit: list) -> None:
    """Blank the notes of the gifts the member gave."""
    db.session.execute(
        update(Transfer)
        .where(Transfer.from_account_id.in_(db.select(Account.id).where(Account.member_id == member.id)),
               Transfer.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )


def connect() -> None:
    """Answer the account's signals."""
    connect_receivers(export, forget)

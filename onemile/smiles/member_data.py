"""The member's smiles in their data download. An account deletion keeps the ledger whole:
the member's account and both legs of every transfer stay (nothing to forget here)."""

from __future__ import annotations

from dataclasses import asdict

from ..account.signals import export_time, member_exported
from ..models import Member
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


def connect() -> None:
    """Answer the account's signal."""
    member_exported.connect(export, weak=False)

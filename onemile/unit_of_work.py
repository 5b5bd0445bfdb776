"""The unit of work's one answer to a unique rule: a row written once, whatever the race.

A double click, a reload of a form, the outbox sending again, two tabs, two workers: the
same insert can arrive twice at once. Both requests see "no row yet", both insert, and the
unique index lets one through. The loser must not fail (a 500) nor leave its transaction
unusable: its insert runs inside a savepoint, so only the savepoint is rolled back, and the
request goes on with the row that won. Whether that row is a replay (answer as the first
request did) or a conflict (say so, 409) is the caller's decision: it knows what the row
means. Every insert guarded by a unique rule goes through `insert_once`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from .extensions import db

Row = TypeVar("Row")


def _begin_outer_transaction() -> None:
    # Python's sqlite3 driver opens its transaction lazily, before the first write. A
    # SAVEPOINT taken before any write would itself be the outermost transaction, and its
    # RELEASE would commit: a later rollback of the request would keep the row. Open the
    # real transaction first (PostgreSQL's driver always has one open).
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")


@contextmanager
def savepoint():
    """A savepoint inside the request's transaction, on both backends: an error inside
    rolls back what was written inside, and only that."""
    _begin_outer_transaction()
    with db.session.begin_nested():
        yield


def insert_once(find: Callable[[], Row | None], create: Callable[[], Row]) -> tuple[Row, bool]:
    """The row `find` returns, else the one `create` makes, written in a savepoint.

    `find` looks the row up by its unique key; `create` builds it (and may write what goes
    with it, or raise a domain error, which rolls all of it back). Returns `(row, created)`:
    `created` is False when the row was already there, or when another request inserted it
    between our look and our insert (the unique index refused ours): then only the
    savepoint is rolled back, and the row that won is returned. An IntegrityError that no
    such row explains (another rule) is raised as is.
    """
    existing = find()
    if existing is not None:
        return existing, False
    try:
        with savepoint():
            row = create()
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing, False
    return row, True

"""The unit of work: one commit at the edge of each request and command, effects after it.

Services (actions) only add and flush. The edge, set up once by `init_app`, commits when a
request or a `flask` command succeeded and rolls back otherwise, so a refusal half-way
through a change leaves nothing. What leaves the process (live fan-out to Redis, a wake-up
of the mail worker) is queued with `after_commit` and runs only once that commit succeeded.

The unit of work's one answer to a unique rule: a row written once, whatever the race.

A double click, a reload of a form, the outbox sending again, two tabs, two workers: the
same insert can arrive twice at once. Both requests see "no row yet", both insert, and the
unique index lets one through. The loser must not fail (a 500) nor leave its transaction
unusable: its insert runs inside a savepoint, so only the savepoint is rolled back, and the
request goes on with the row that won. Whether that row is a replay (answer as the first
request did) or a conflict (say so, 409) is the caller's decision: it knows what the row
means. Every insert guarded by a unique rule goes through `insert_once`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

import click
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from .extensions import db

Row = TypeVar("Row")


def _begin_outer_transaction() -> None:
    # Python's sqlite3 driver opens its transaction lazily, before the first write. A
    # SAVEPOINT taken before any write would itself be the outermost transaction, and its
    # RELEASE would commit: a later rollback of the request would keep the row. Open the
    # real transaction first (PostgreSQL's driver always has one open). IMMEDIATE: a savepoint
    # is taken to write, and a transaction that read first then writes after another
    # connection's commit fails at once ("database is locked") instead of waiting its turn.
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")


@contextmanager
def savepoint():
    """A savepoint inside the request's transaction, on both backends: an error inside
    rolls back what was written inside, and only that."""
    _begin_outer_transaction()
    with db.session.begin_nested():
        yield


def atomic(action: Callable[..., Row]) -> Callable[..., Row]:
    """Run a service in a savepoint: when it refuses (any exception) half-way through its
    writes, nothing of it stays, in the database or in the session, so that a caller which
    answers the refusal and reads on (is it already done?) sees the state from before."""

    @functools.wraps(action)
    def run(*args, **kwargs):
        with savepoint():
            return action(*args, **kwargs)

    return run


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


# --- The edge: one commit per request and per command ---------------------------------------

_AFTER_COMMIT = "onemile_after_commit"
_SAVEPOINT_MARKS = "onemile_after_commit_savepoints"


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once the current transaction has committed, never if it rolls back.

    For what leaves the process (live fan-out, a wake-up, a push): before the commit
    another process would find nothing in the database, and a rolled-back change must send
    nothing. Callbacks run in the order queued; one that fails is logged and the others
    still run (the commit has happened, the request must not turn into an error).
    """
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def savepoint_released(session) -> bool:
    """True in an `after_commit` listener when what committed is a savepoint: SQLAlchemy
    sends `after_commit` for the RELEASE of a savepoint too, while the transaction goes on
    (and may still roll back). Effects wait for the outermost commit."""
    return session.in_nested_transaction()


@event.listens_for(db.session, "after_commit")
def _run_after_commit(session) -> None:
    if savepoint_released(session):
        return
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:  # the change is committed: an effect must not undo the answer
            current_app.logger.exception("an after-commit effect failed")


@event.listens_for(db.session, "after_transaction_create")
def _mark_savepoint(session, transaction) -> None:
    # What a savepoint queues goes with it: remember where its effects begin.
    if transaction.nested:
        session.info.setdefault(_SAVEPOINT_MARKS, {})[transaction] = len(session.info.get(_AFTER_COMMIT, []))


@event.listens_for(db.session, "after_soft_rollback")
def _drop_savepoint_effects(session, previous_transaction) -> None:
    # A savepoint rolled back (the race insert_once lost): its rows are gone, so are its
    # effects; what the transaction queued before it stays.
    mark = session.info.get(_SAVEPOINT_MARKS, {}).pop(previous_transaction, None)
    if mark is not None and _AFTER_COMMIT in session.info:
        del session.info[_AFTER_COMMIT][mark:]


@event.listens_for(db.session, "after_transaction_end")
def _drop_after_rollback(session, transaction) -> None:
    # The outermost transaction decides for everything: after a commit the queue is
    # already empty, after a rollback nothing queued runs.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
        session.info.pop(_SAVEPOINT_MARKS, None)


def refused() -> None:
    """A domain rule refused an action of this request (every RuleError says so as it is
    made): the request keeps nothing, whatever its answer. A service may refuse half-way
    through its writes, and the page that answers the refusal is often a success (a flash
    and a redirect, an "already done" fragment), which alone would commit that half."""
    if has_app_context():
        g.onemile_refused = True


def _settle(succeeded: bool) -> None:
    """The end of one unit of work: commit what it wrote, or roll all of it back."""
    if succeeded:
        db.session.commit()
    else:
        db.session.rollback()


@contextmanager
def job_step():
    """One step of a job (the mail worker's claim of a row, then its outcome) as its own unit
    of work: it commits when the block ends, rolls back and re-raises when it raises.

    A job outside any request commits step by step where a later step must not undo an
    earlier one (a claim is committed before the message leaves, so two workers never both
    send it). A `return` inside the block ends the step normally: it commits.
    """
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    _settle(True)


def _dispatch_in_one_unit(app: Flask) -> None:
    # Wrapping dispatch_request (the view) rather than after_request: a commit that fails
    # raises inside Flask's handling of the view, so the usual error handlers answer (an
    # IntegrityError, outage's 503 for a lost database) instead of a half-sent response.
    dispatch = app.dispatch_request

    @functools.wraps(dispatch)
    def dispatch_request():
        g.pop("onemile_refused", None)
        response = app.make_response(dispatch())
        # A view that refused (a form answered 422, a 409, a rule's refusal answered with a
        # redirect) must not keep half its work; an exception goes to its handler untouched
        # and the request's end rolls back.
        _settle(response.status_code < 400 and not g.pop("onemile_refused", False))
        return response

    app.dispatch_request = dispatch_request


def _commands_in_one_unit(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _commands_in_one_unit(command)
        elif command.callback is not None and not getattr(command.callback, "_one_unit", False):
            command.callback = _in_one_unit(command.callback)


def _in_one_unit(callback):
    @functools.wraps(callback)
    def command(*args, **kwargs):
        try:
            result = callback(*args, **kwargs)
        except BaseException:
            if has_app_context():
                db.session.rollback()
            raise
        # A command that caught a refusal and went on decides for itself (it raises
        # ClickException to fail): its end commits.
        _settle(True)
        return result

    command._one_unit = True
    return command


def init_app(app: Flask) -> None:
    """Make every request and every `flask` command of the app one unit of work: it commits
    once at its end when it succeeded (a response below 400, a command that returned) and
    rolls back otherwise. Call it last in the factory, once every command is registered.
    Services only add and flush; jobs (the mail worker) commit step by step (`job_step`)."""
    _dispatch_in_one_unit(app)
    _commands_in_one_unit(app.cli)

"""One unit of work per request: one commit at the edge when the view succeeded, nothing kept
when it refused or failed, and effects queued with `after_commit` run only after that commit."""

from __future__ import annotations

import threading

import pytest
from flask import redirect
from sqlalchemy import event

from onemile import unit_of_work
from onemile.errors import RuleError
from onemile.extensions import db
from onemile.models import Member


@pytest.fixture
def edge(app, factory):
    """A member, and routes that rename them then answer with the status the URL names (or
    raise), queueing an effect after the commit; the COMMITs of the request thread counted."""
    member = factory.member(first_name="Camille")
    effects: list[str] = []
    commits: list[int] = []

    def rename(name: str) -> None:
        db.session.get(Member, member.id).first_name = name
        db.session.flush()
        unit_of_work.after_commit(lambda: effects.append(f"{name} after {len(commits)} commit(s)"))

    @app.post("/test/rename/<name>/<int:status>")
    def rename_and_answer(name: str, status: int):
        rename(name)
        return "done", status

    @app.post("/test/rename/<name>/fail")
    def rename_and_fail(name: str):
        rename(name)
        raise RuntimeError("the view failed after writing")

    @app.post("/test/rename/<name>/refused")
    def rename_then_refuse(name: str):
        # A rule refuses after the service wrote; the page answers with a flash and a
        # redirect, a success status: the half-done rename must not be committed.
        try:
            rename(name)
            raise RuleError("refused half-way")
        except RuleError:
            return redirect("/", 303)

    with app.app_context():
        engine = db.engine
    here = threading.get_ident()

    def count_commit(connection) -> None:
        if threading.get_ident() == here:
            commits.append(1)

    event.listen(engine, "commit", count_commit)
    yield member, effects, commits
    event.remove(engine, "commit", count_commit)


def _first_name(app, member) -> str:
    with app.app_context():
        return db.session.get(Member, member.id).first_name


@pytest.mark.parametrize("status", [200, 204, 303])
def test_a_successful_view_commits_once_and_then_runs_its_effects(app, client, edge, status):
    member, effects, commits = edge
    assert client.post(f"/test/rename/Dominique/{status}").status_code == status
    assert _first_name(app, member) == "Dominique"
    assert len(commits) == 1
    assert effects == ["Dominique after 1 commit(s)"]


@pytest.mark.parametrize("status", [404, 409, 422])
def test_a_view_that_refuses_keeps_nothing_and_sends_nothing(app, client, edge, status):
    member, effects, commits = edge
    assert client.post(f"/test/rename/Dominique/{status}").status_code == status
    assert _first_name(app, member) == "Camille"
    assert commits == [] and effects == []


def test_a_refusal_answered_with_a_redirect_keeps_nothing(app, client, edge):
    member, effects, commits = edge
    assert client.post("/test/rename/Dominique/refused").status_code == 303
    assert _first_name(app, member) == "Camille"
    assert commits == [] and effects == []


def test_a_view_that_raises_keeps_nothing_and_sends_nothing(app, client, edge):
    member, effects, commits = edge
    with pytest.raises(RuntimeError):
        client.post("/test/rename/Dominique/fail")
    assert _first_name(app, member) == "Camille"
    assert commits == [] and effects == []
    # The next request starts clean: its own effect only, after its own commit.
    assert client.post("/test/rename/Alex/200").status_code == 200
    assert effects == ["Alex after 1 commit(s)"]


def test_an_effect_queued_in_a_savepoint_goes_with_it(app, edge):
    _, effects, _ = edge
    with app.test_request_context():
        unit_of_work.after_commit(lambda: effects.append("before"))
        with pytest.raises(RuntimeError), unit_of_work.savepoint():
            unit_of_work.after_commit(lambda: effects.append("rolled back"))
            raise RuntimeError
        with unit_of_work.savepoint():
            unit_of_work.after_commit(lambda: effects.append("released"))
        db.session.commit()
    assert effects == ["before", "released"]


def test_effects_wait_for_the_outermost_commit_not_a_savepoint_s_release(app, edge):
    """SQLAlchemy sends `after_commit` when a savepoint is released too: the transaction goes
    on (and may still roll back), so nothing may leave yet."""
    _, effects, _ = edge
    with app.test_request_context():
        unit_of_work.after_commit(lambda: effects.append("before"))
        with unit_of_work.savepoint():
            unit_of_work.after_commit(lambda: effects.append("inside"))
        assert effects == []
        db.session.commit()
    assert effects == ["before", "inside"]

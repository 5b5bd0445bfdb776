"""No N+1: each main page and fragment runs a small, fixed number of SQL queries, whatever
the number of listings, conversations or notifications it shows."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from onemile.extensions import db

# The map page runs the header's two, the markers, and SpatiaLite's expanding nearest search
# (a few growing circles): a fixed bound, and above all no growth with the number of items.
BOUND = 18


@contextmanager
def counted(app):
    """Count the SQL statements the app runs while the block executes."""
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _world(factory, listings: int):
    """A member with `listings` listings of others around them, each answered once."""
    from onemile.conversations import services as conversations
    from onemile.models import Member

    viewer = factory.member(first_name="Vera")
    others = [factory.member(first_name=f"Auteur{i}") for i in range(3)]
    ids = [factory.listing(others[i % 3], title=f"Annonce {i}") for i in range(listings)]
    with factory.app.test_request_context():
        for listing_id in ids:
            conversations.answer(db.session.get(Member, viewer.id), listing_id, "Bonjour !")
    return viewer, ids


PAGES = [
    "/map",
    "/map?south=47.6&west=7.2&north=47.9&east=7.5",
    "/map/markers",
    "/map/nearest",
    "/listings/",
    "/listings/mine",
    "/miles/",
    "/notifications/",
    "/smiles/",
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_main_pages_run_a_fixed_small_number_of_queries(make_app, htmx):
    from conftest import AuthActions, Factory

    counts = {}
    for size in (2, 9):
        app = make_app()
        factory = Factory(app)
        viewer, ids = _world(factory, size)
        client = app.test_client()
        AuthActions(client).login(viewer)
        pages = PAGES + [f"/listings/{ids[0]}"]
        for path in pages:
            key = path.replace(str(ids[0]), "<id>")
            with counted(app) as statements:
                response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code == 200, path
            counts.setdefault(key, []).append(len(statements))
    for path, (few, many) in counts.items():
        assert many <= BOUND, f"{path}: {many} queries"
        assert many == few, f"{path}: {few} queries for 2 items but {many} for 9 (N+1)"

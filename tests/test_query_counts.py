"""No N+1: each main page and fragment runs a small, fixed number of SQL queries, whatever
the number of listings, conversations or notifications it shows."""

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from bench.measure import SPATIAL_MARKERS
from onemile.extensions import db
from onemile.models import utcnow

# The map page runs the header's two, the markers, and SpatiaLite's expanding nearest search
# (a few growing circles): a fixed bound, and above all no growth with the number of items.
BOUND = 18
HOT_FRAGMENTS = ("/listings/", "/map/markers", "/map/nearest")
HOT_FRAGMENT_OVERHEAD = 2  # statements besides the spatial search itself


@contextmanager
def counted(app):
    """Count the SQL statements the app runs for this thread while the block executes (the
    e-mail delivery thread's statements, which may land in the same moment, are not the
    page's: counting them made the counts depend on timing)."""
    statements = []
    with app.app_context():
        engine = db.engine
    this_thread = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == this_thread:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _world(factory, listings: int):
    """A member with `listings` listings of others around them, each answered once."""
    viewer = factory.member(first_name="Vera")
    others = [factory.member(first_name=f"Auteur{i}") for i in range(3)]
    ids = [factory.listing(others[i % 3], title=f"Annonce {i}") for i in range(listings)]
    for listing_id in ids:
        factory.conversation(viewer, listing_id, "Bonjour !")
    return viewer, ids


def _projects_and_mags(factory, viewer, count: int) -> dict[str, str]:
    """`count` approved projects (each with a task, a pledge and a volunteer) and `count`
    mags (each with a published article, a photo and a comment) around the viewer's mile;
    returns the paths of one of each."""
    from onemile.geo import LatLon
    from onemile.models import (
        Article,
        ArticlePhoto,
        Comment,
        Mag,
        Member,
        Pledge,
        Project,
        ProjectTask,
        Volunteer,
    )

    with factory.app.app_context():
        centre = db.session.get(Member, viewer.id).primary_mile.center_latlon
        owners = [factory.member(first_name=f"Porteur{i}") for i in range(3)]
        for i in range(count):
            here = LatLon(centre.lat + 0.001 * (i + 1), centre.lon)
            owner_id = owners[i % 3].id
            project = Project(owner_id=owner_id, title=f"Projet {i}", summary="Un jardin", description="Pour tous",
                              point=here.wkt(), money_target=500, status="approved")
            task = ProjectTask(title="Bêcher", skill="Jardinage")
            project.tasks.append(task)
            project.pledges.append(Pledge(member_id=viewer.id, amount_cents=1000, message="Courage"))
            db.session.add(project)
            db.session.flush()
            db.session.add(Volunteer(task_id=task.id, member_id=viewer.id, message="Je sais bêcher", status="accepted"))
            mag = Mag(owner_id=owner_id, title=f"Mag {i}", about="Le quartier", kind="association", point=here.wkt())
            article = Article(title=f"Article {i}", body="Du **texte**", status="published", published_at=utcnow())
            article.photos.append(ArticlePhoto(image=f"{i:032x}_720x480", alt="Une photo"))
            article.comments.append(Comment(author_id=viewer.id, body="Bravo"))
            mag.articles.append(article)
            db.session.add(mag)
        db.session.commit()
        return {"/projects/<id>": f"/projects/{project.id}", "/mags/<id>": f"/mags/{mag.id}",
                "/mags/<id>/articles/<id>": f"/mags/{mag.id}/articles/{article.id}"}


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
    "/projects/",
    "/projects/mine",
    "/mags/",
    "/account/",
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_main_pages_run_a_fixed_small_number_of_queries(make_app, htmx):
    from conftest import AuthActions, Factory

    counts, overhead = {}, {}
    for size in (2, 9):
        app = make_app()
        factory = Factory(app)
        viewer, ids = _world(factory, size)
        detail_pages = {"/listings/<id>": f"/listings/{ids[0]}", **_projects_and_mags(factory, viewer, size)}
        client = app.test_client()
        AuthActions(client).login(viewer)
        pages = [(path, path) for path in PAGES] + list(detail_pages.items())
        for key, path in pages:
            with counted(app) as statements:
                response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
            assert response.status_code == 200, path
            counts.setdefault(key, []).append(len(statements))
            if key in HOT_FRAGMENTS:
                overhead.setdefault(key, []).append(
                    len([sql for sql in statements if not any(mark in sql for mark in SPATIAL_MARKERS)]))
    for path, (few, many) in counts.items():
        assert many <= BOUND, f"{path}: {many} queries"
        assert many == few, f"{path}: {few} queries for 2 items but {many} for 9 (N+1)"
    if htmx:
        # The fragments htmx asks for most run their own spatial search (one statement, one
        # per layer, or SpatiaLite's growing circles) and little else: the member with their
        # miles in one statement and the found listings with their authors in another.
        assert all(max(found) <= HOT_FRAGMENT_OVERHEAD for found in overhead.values()), overhead


@pytest.mark.parametrize("blocks", [False, True], ids=["no-block", "a-block"])
def test_hot_fragments_run_their_own_three_statements(app, factory, auth, backend, blocks):
    # What htmx asks for most (issue 17): the member (with miles, login session and whether
    # a block stands between them and anyone), the search, the listings found with their
    # photos; nothing for the header the fragment does not draw. Only SpatiaLite's nearest
    # search may take a few growing circles.
    viewer, _ids = _world(factory, 4)
    if blocks:
        factory.block(viewer, factory.member(first_name="Bloque"))
    auth.login(viewer)
    client = auth.client
    for path in ("/listings/", "/map/nearest"):
        with counted(app) as statements:
            response = client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "Annonce 0" in response.get_data(as_text=True), path
        search = [sql for sql in statements if any(mark in sql for mark in SPATIAL_MARKERS)]
        assert len(statements) - len(search) == 2, (path, statements)
        if path == "/listings/" or backend == "postgis":
            assert len(search) == 1, (path, statements)
        # A member nobody blocked and who blocked nobody lists what a visitor does: the
        # search leaves out the block subqueries (models.protection.list_viewer_id).
        assert all(("block" in sql) == blocks for sql in search), (path, search)


def test_the_listings_of_a_page_are_read_by_one_statement_text_whatever_their_number(app, factory, backend):
    # On PostgreSQL, psycopg prepares a statement it has run five times with the same text:
    # one array parameter keeps the text of "these listings with their photos" the same for
    # 5 or 20 ids, where an IN list changed it with the count and was planned on every page.
    from onemile.listings.photos import listings_with_photos

    author = factory.member()
    ids = [factory.listing(author, title=f"Annonce {i}") for i in range(3)]
    texts = []
    with app.app_context():
        for count in (1, 3):
            with counted(app) as statements:
                found = listings_with_photos(ids[:count])
            assert sorted(found) == sorted(ids[:count])
            assert all(listing.title.startswith("Annonce") for listing in found.values())
            texts.append(statements[-1])
    if backend == "postgis":
        assert texts[0] == texts[1]

"""The one trust rule (onemile.models.protection), table-driven.

For every protected model and every kind of viewer, on both backends:
- the Python predicate gives the expected answer (the table below, what each page did
  before the rule was written once);
- its SQL twin, run through a real query, selects exactly the rows the predicate accepts;
- the same for the list/map pair (`can_list` / `listed_for`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Article, Comment, Listing, Mag, Member, Project, utcnow
from onemile.models.protection import can_list, can_see, listed_for, visible_to

# Viewers: "visitor" (nobody signed in), "other" (a member with no tie to the owner), "owner",
# "blocker" (blocked the owner), "blocked" (the owner blocked them), "moderator".
VIEWERS = ("visitor", "other", "owner", "blocker", "blocked", "moderator")

# What each viewer may open, per model: names of the objects of the world built below.
PAGES = {
    Listing: {
        "visitor": {"open"}, "other": {"open"}, "owner": {"open", "closed"}, "blocker": set(), "blocked": set(),
        "moderator": {"open", "closed", "hidden", "of_suspended"},
    },
    Project: {
        "visitor": {"approved", "completed"}, "other": {"approved", "completed"},
        "owner": {"approved", "completed", "pending"}, "blocker": set(), "blocked": set(),
        "moderator": {"approved", "completed", "pending", "hidden", "of_suspended"},
    },
    Mag: {
        "visitor": {"mag"}, "other": {"mag"}, "owner": {"mag"}, "blocker": set(), "blocked": set(),
        "moderator": {"mag", "hidden", "of_suspended"},
    },
    Article: {
        "visitor": {"published"}, "other": {"published"}, "owner": {"published", "draft"},
        "blocker": set(), "blocked": set(),
        # A draft is its owner's alone, moderators included.
        "moderator": {"published", "hidden", "of_suspended", "in_hidden_mag"},
    },
    Comment: {
        "visitor": {"comment"}, "other": {"comment"}, "owner": {"comment"}, "blocker": set(), "blocked": set(),
        "moderator": {"comment", "hidden", "of_suspended"},
    },
}

# What each viewer finds in lists and on the map: only the public state, no moderator privilege.
LISTED = {
    Listing: {"open"},
    Project: {"approved"},
    Mag: {"mag"},
    Article: {"published"},
    Comment: {"comment"},
}


@pytest.fixture
def world(app, factory):
    """One owner with an object in each state, a suspended owner, and the six viewers."""
    from onemile.listings.services import close_listing
    from onemile.moderation.services import suspend
    from onemile.projects.services import close_project

    owner = factory.member(first_name="Owen")
    sam = factory.member(first_name="Sam")
    people = {
        "other": factory.member(first_name="Olga"),
        "owner": owner,
        "blocker": factory.member(first_name="Bea"),
        "blocked": factory.member(first_name="Ben"),
        "moderator": factory.moderator(),
    }
    factory.block(people["blocker"], owner)
    factory.block(owner, people["blocked"])
    modo = people["moderator"]

    objects: dict[type, dict[str, int]] = {}
    closed = factory.listing(owner, title="Closed")
    factory.act(lambda m: close_listing(m, closed), owner)
    objects[Listing] = {
        "open": factory.listing(owner), "closed": closed, "hidden": factory.listing(owner, title="Hidden"),
        "of_suspended": factory.listing(sam),
    }
    completed = factory.project(owner, title="Completed", approved_by=modo)
    factory.act(lambda m: close_project(m, completed, "completed"), owner)
    objects[Project] = {
        "approved": factory.project(owner, approved_by=modo), "completed": completed,
        "pending": factory.project(owner, title="Pending"),
        "hidden": factory.project(owner, title="Hidden", approved_by=modo),
        "of_suspended": factory.project(sam, approved_by=modo),
    }
    mag = factory.mag(owner)
    sams_mag = factory.mag(sam)
    hidden_mag = factory.mag(owner, title="Hidden")
    objects[Mag] = {"mag": mag, "hidden": hidden_mag, "of_suspended": sams_mag}
    article = factory.article(owner, mag)
    objects[Article] = {
        "published": article, "draft": factory.article(owner, mag, title="Draft", published=False),
        "hidden": factory.article(owner, mag, title="Hidden"), "of_suspended": factory.article(sam, sams_mag),
        # An article goes with its mag.
        "in_hidden_mag": factory.article(owner, hidden_mag),
    }
    objects[Comment] = {
        "comment": factory.comment(owner, mag, article), "hidden": factory.comment(owner, mag, article),
        "of_suspended": factory.comment(sam, mag, article),
    }
    with app.app_context():
        for model, named in objects.items():
            db.session.get(model, named["hidden"]).hidden_at = utcnow()
        suspend(db.session.get(Member, sam.id))
        db.session.commit()
    return people, objects


def _viewer(people, name):
    return None if name == "visitor" else db.session.get(Member, people[name].id)


@pytest.mark.parametrize("model", list(PAGES), ids=lambda model: model.__name__)
def test_predicate_and_sql_twin_agree(app, world, model):
    people, objects = world
    names = {object_id: name for name, object_id in objects[model].items()}
    with app.test_request_context():
        now = utcnow()
        rows = db.session.scalars(select(model).where(model.id.in_(names))).all()
        for viewer_name in VIEWERS:
            viewer = _viewer(people, viewer_name)
            viewer_id = viewer.id if viewer is not None else None

            by_predicate = {names[row.id] for row in rows if can_see(viewer, row, now)}
            by_sql = {
                names[i]
                for i in db.session.scalars(select(model.id).where(model.id.in_(names), visible_to(viewer, model, now)))
            }
            assert by_predicate == PAGES[model][viewer_name], (viewer_name, "page")
            assert by_sql == by_predicate, (viewer_name, "page SQL")

            listed = {names[row.id] for row in rows if can_list(viewer_id, row, now)}
            listed_sql = {
                names[i]
                for i in db.session.scalars(select(model.id).where(model.id.in_(names), listed_for(viewer_id, model, now)))
            }
            expected = set() if viewer_name in ("blocker", "blocked") else LISTED[model]
            assert listed == expected, (viewer_name, "list")
            assert listed_sql == listed, (viewer_name, "list SQL")


def test_owner_sees_own_draft_but_not_when_hidden(app, factory):
    """The owner's privilege covers the unpublished state, never a moderator's hiding."""
    owner = factory.member()
    mag = factory.mag(owner)
    draft = factory.article(owner, mag, published=False)
    with app.test_request_context():
        viewer = db.session.get(Member, owner.id)
        article = db.session.get(Article, draft)
        assert can_see(viewer, article)
        article.hidden_at = utcnow()
        db.session.flush()
        assert not can_see(viewer, article)
        assert db.session.scalar(select(Article.id).where(Article.id == draft, visible_to(viewer, Article))) is None

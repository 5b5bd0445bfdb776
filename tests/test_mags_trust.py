"""Trust and safety (issue #6) over mags, articles and comments: e-mail verification, blocks,
suspension, reports and moderation, the account download and the account deletion."""

from __future__ import annotations

import json
import re

import pytest
from helpers import assert_see_other, count, logged_in
from sqlalchemy import func, select
from test_mags import create_article, create_mag, files_in, jpeg, send, upload

from onemile.auth.gate import EmailNotVerified
from onemile.extensions import db
from onemile.images import SIZES
from onemile.models import Article, ArticlePhoto, Comment, Mag, MagFollow, Member, Notification

MARKERS = "/map/markers?south=47.70&west=7.25&north=47.80&east=7.40"


def page(client, path: str):
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def markers(client) -> str:
    return client.get(MARKERS, headers={"HX-Request": "true"}).get_data(as_text=True)


@pytest.fixture
def scene(app, factory, anne, bruno):
    """Anne's mag with a published article; Bruno's mag with a published article, which
    Anne commented."""
    carla = factory.member(language="en", first_name="Carla")
    a, b = logged_in(app, anne), logged_in(app, bruno)
    anne_mag = create_mag(a, title="Anne's bakery mag")
    anne_article = create_article(a, anne_mag, title="Anne's pretzels", body="Anne's pretzel recipe")
    bruno_mag = create_mag(b, title="Bruno's garden mag", latitude="47.7400", longitude="7.3310")
    bruno_article = create_article(b, bruno_mag, title="Bruno's tomatoes", body="Bruno grows tomatoes")
    posted = a.post(f"/mags/{bruno_mag}/articles/{bruno_article}/comments", data={"body": "Anne says well done"})
    assert_see_other(posted)
    with app.app_context():
        comment = db.session.scalar(select(Comment.id))
    return {
        "carla": carla, "a": a, "b": b, "c": logged_in(app, carla),
        "anne_mag": anne_mag, "anne_article": anne_article, "bruno_mag": bruno_mag,
        "bruno_article": bruno_article, "comment": comment,
    }


def anne_is_seen_by(client, s, *, member: bool = True) -> dict[str, bool]:
    """What of Anne's content this client sees, place by place."""
    anne_mag, anne_article = s["anne_mag"], s["anne_article"]
    seen = {
        "mag page": page(client, f"/mags/{anne_mag}")[0] == 200,
        "article page": page(client, f"/mags/{anne_mag}/articles/{anne_article}")[0] == 200,
        "map": f"mags-{anne_mag}" in markers(client),
    }
    if member:
        listed = page(client, "/mags/")[1]
        seen["list"] = "Anne&#39;s bakery mag" in listed or "Anne's bakery mag" in listed
        seen["comment"] = "Anne says well done" in page(client, f"/mags/{s['bruno_mag']}/articles/{s['bruno_article']}")[1]
    return seen


# --- verification ---------------------------------------------------------------------


def test_an_unverified_member_reads_mags_but_cannot_write(app, factory, scene):
    newcomer = factory.member(language="en", verified=False)
    client = logged_in(app, newcomer)
    mag, article = scene["bruno_mag"], scene["bruno_article"]
    for path in ("/mags/", f"/mags/{mag}", f"/mags/{mag}/articles/{article}"):
        assert client.get(path).status_code == 200, path
    refused = client.get("/mags/new")
    assert refused.status_code == 403 and "Confirm your e-mail address" in refused.get_data(as_text=True)
    before = (count(app, Mag), count(app, Article), count(app, Comment))
    assert send(client, "/mags/new", {"title": "Mine", "kind": "shop", "about": "x", "latitude": "47.74",
                                      "longitude": "7.33", "cover_alt": ""}).status_code == 403
    assert client.post(f"/mags/{mag}/articles/{article}/comments", data={"body": "Hello"}).status_code == 403
    assert (count(app, Mag), count(app, Article), count(app, Comment)) == before

    # The services refuse too, whatever route calls them.
    from onemile.geo import LatLon
    from onemile.mags import services

    with app.test_request_context():
        member = db.session.get(Member, newcomer.id)
        with pytest.raises(EmailNotVerified):
            services.create_mag(member, services.MagData("t", "a", "shop", LatLon(47.74, 7.33)))
        with pytest.raises(EmailNotVerified):
            services.add_comment(member, mag, article, "Hello")
        # A member whose address is no longer verified (changed since) cannot publish either.
        bruno = db.session.get(Member, db.session.get(Mag, mag).owner_id)
        bruno.email_verified_at = None
        db.session.commit()
        with pytest.raises(EmailNotVerified):
            services.create_article(bruno, mag, services.ArticleData("t", "b", True))
        with pytest.raises(EmailNotVerified):
            services.update_article(bruno, article, services.ArticleData("t", "b", True))
    assert (count(app, Mag), count(app, Article), count(app, Comment)) == before


# --- blocks ---------------------------------------------------------------------------


@pytest.mark.parametrize("who_blocks", ["anne", "bruno"])
def test_a_block_hides_mags_articles_and_comments_both_ways(app, scene, anne, bruno, who_blocks):
    a, b, c = scene["a"], scene["b"], scene["c"]
    everything = {"mag page": True, "article page": True, "map": True, "list": True, "comment": True}
    assert anne_is_seen_by(b, scene) == everything
    blocker, blocked = (a, bruno) if who_blocks == "anne" else (b, anne)
    assert blocker.post(f"/account/blocks/{blocked.id}").status_code == 303

    nothing = dict.fromkeys(everything, False)
    assert anne_is_seen_by(b, scene) == nothing
    # Nor does Anne see Bruno's mag, article, marker any more.
    assert page(a, f"/mags/{scene['bruno_mag']}")[0] == 404
    assert page(a, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[0] == 404
    assert f"mags-{scene['bruno_mag']}" not in markers(a)
    # Neither comments the other's articles, nor follows the other's mag.
    before = count(app, Comment)
    assert a.post(f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}/comments",
                  data={"body": "Still here"}).status_code == 404
    assert b.post(f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}/comments",
                  data={"body": "Me too"}).status_code == 404
    assert b.post(f"/mags/{scene['anne_mag']}/follow").status_code == 404
    assert count(app, Comment) == before and count(app, MagFollow) == 0
    # Others still see everything.
    assert anne_is_seen_by(c, scene) == everything

    assert blocker.post(f"/account/blocks/{blocked.id}/delete").status_code == 303
    assert anne_is_seen_by(b, scene) == everything


def test_a_follower_blocked_since_hears_of_no_new_article(app, scene, anne, bruno):
    a, b = scene["a"], scene["b"]
    assert b.post(f"/mags/{scene['anne_mag']}/follow").status_code == 303
    assert a.post(f"/account/blocks/{bruno.id}").status_code == 303
    create_article(a, scene["anne_mag"], title="After the block")
    with app.app_context():
        told = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.member_id == bruno.id, Notification.kind == "new_article"))
    assert told == 0
    # He may still stop following (and learns nothing more).
    assert b.post(f"/mags/{scene['anne_mag']}/unfollow").status_code == 303
    assert count(app, MagFollow) == 0
    assert b.post(f"/mags/{scene['anne_mag']}/unfollow").status_code == 404


# --- suspension -----------------------------------------------------------------------


def test_a_suspended_members_mags_and_comments_disappear_until_reinstated(app, factory, scene, anne):
    from onemile.moderation.services import reinstate, suspend

    moderator = factory.moderator(language="en", first_name="Mona")
    m, c, visitor = logged_in(app, moderator), scene["c"], app.test_client()
    everything = {"mag page": True, "article page": True, "map": True, "list": True, "comment": True}
    assert anne_is_seen_by(c, scene) == everything

    with app.app_context():
        suspend(db.session.get(Member, anne.id))
        db.session.commit()
    assert anne_is_seen_by(c, scene) == dict.fromkeys(everything, False)
    assert anne_is_seen_by(visitor, scene, member=False) == {"mag page": False, "article page": False, "map": False}
    shown = page(visitor, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[1]
    assert 'id="comments-title">0 ' in shown  # her comment is not even counted
    # Moderators still open her pages, to judge them.
    assert page(m, f"/mags/{scene['anne_mag']}")[0] == 200
    assert page(m, f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}")[0] == 200

    with app.app_context():
        reinstate(db.session.get(Member, anne.id))
        db.session.commit()
    assert anne_is_seen_by(c, scene) == everything


# --- reports and moderation -----------------------------------------------------------


def test_report_links_are_offered_to_other_members_only(scene):
    a, c = scene["a"], scene["c"]
    mag_page = page(c, f"/mags/{scene['anne_mag']}")[1]
    assert f"/report/mag/{scene['anne_mag']}" in mag_page
    article_page = page(c, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[1]
    assert f"/report/article/{scene['bruno_article']}" in article_page
    assert f"/report/comment/{scene['comment']}" in article_page
    # Not on one's own mag, article or comment.
    assert "/report/mag/" not in page(a, f"/mags/{scene['anne_mag']}")[1]
    own = page(a, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[1]
    assert f"/report/comment/{scene['comment']}" not in own
    assert "/report/article/" not in page(a, f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}")[1]


@pytest.mark.parametrize("target", ["mag", "article", "comment"])
def test_reported_content_hidden_by_a_moderator_disappears_and_comes_back(app, factory, scene, target):
    moderator = factory.moderator(language="en", first_name="Mona")
    m, c, a = logged_in(app, moderator), scene["c"], scene["a"]
    target_id = {"mag": scene["anne_mag"], "article": scene["anne_article"], "comment": scene["comment"]}[target]
    form = c.get(f"/report/{target}/{target_id}")
    assert form.status_code == 200
    assert c.post(f"/report/{target}/{target_id}", data={"reason": "spam", "details": "Ads"}).status_code == 303
    queue = page(m, "/moderation/")[1]
    assert {"mag": "Anne&#39;s bakery mag", "article": "Anne&#39;s pretzels", "comment": "Anne says well done"}[target] in queue

    assert m.post(f"/moderation/{target}/{target_id}", data={"action": "hide", "reason": "spam"}).status_code == 303
    seen = anne_is_seen_by(c, scene)
    if target == "mag":
        assert seen == {"mag page": False, "article page": False, "map": False, "list": False, "comment": True}
    elif target == "article":
        assert seen == {"mag page": True, "article page": False, "map": True, "list": True, "comment": True}
        assert "Anne&#39;s pretzels" not in page(c, f"/mags/{scene['anne_mag']}")[1]
    else:
        assert seen == {"mag page": True, "article page": True, "map": True, "list": True, "comment": False}
    # Hidden from its author too, as a hidden ad is; not from moderators.
    if target != "comment":
        assert page(a, f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}")[0] == 404
        assert page(m, f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}")[0] == 200
    else:
        assert "Anne says well done" in page(m, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[1]
    if target == "mag":
        # Its owner finds it in her list, marked, to edit or delete; moderators are told.
        mine = page(a, "/mags/")[1]
        assert "Hidden by moderation" in mine and f'href="/mags/{target_id}/edit"' in mine
        assert "only moderators see this mag" in page(m, f"/mags/{target_id}")[1]
    elif target == "article":
        assert "only moderators see this article" in page(m, f"/mags/{scene['anne_mag']}/articles/{target_id}")[1]
    # Nobody reports what they cannot see any more.
    assert c.get(f"/report/{target}/{target_id}").status_code == 404

    assert m.post(f"/moderation/{target}/{target_id}", data={"action": "unhide", "reason": ""}).status_code == 303
    assert all(anne_is_seen_by(c, scene).values())


def test_nobody_reports_their_own_mag_nor_a_draft(app, scene):
    a, c = scene["a"], scene["c"]
    assert a.get(f"/report/mag/{scene['anne_mag']}").status_code == 404
    draft = create_article(a, scene["anne_mag"], title="Secret draft", status="draft")
    assert c.get(f"/report/article/{draft}").status_code == 404


# --- my data --------------------------------------------------------------------------


def test_the_download_holds_my_mags_articles_photos_comments_and_follows(app, scene):
    a = scene["a"]
    photo_article = create_article(a, scene["anne_mag"], title="With a photo", status="draft",
                                   photos=[(upload(jpeg()), "The counter")])
    assert a.post(f"/mags/{scene['bruno_mag']}/follow").status_code == 303
    data = json.loads(a.get("/account/export").get_data(as_text=True))
    [mag] = data["mags"]
    assert mag["title"] == "Anne's bakery mag" and mag["kind"] == "shop"
    articles = {article["title"]: article for article in mag["articles"]}
    assert set(articles) == {"Anne's pretzels", "With a photo"}
    assert articles["With a photo"]["status"] == "draft"
    [photo] = articles["With a photo"]["photos"]
    assert photo["alt"] == "The counter" and re.match(r"http://localhost/images/", photo["url"]), photo
    with a.get(photo["url"].replace("http://localhost", "")) as served:
        assert served.status_code == 200
    assert articles["With a photo"]["id"] == photo_article
    [comment] = data["mag_comments"]
    assert comment["body"] == "Anne says well done" and comment["article_title"] == "Bruno's tomatoes"
    assert [follow["mag_title"] for follow in data["mag_follows"]] == ["Bruno's garden mag"]
    # Bruno's own words are his: not in Anne's download.
    assert "Bruno grows tomatoes" not in json.dumps(data)


def test_deleting_my_account_removes_my_mags_their_pictures_my_comments_and_follows(app, scene, anne, bruno):
    a, b = scene["a"], scene["b"]
    create_article(a, scene["anne_mag"], title="With a photo", photos=[(upload(jpeg()), "The counter")])
    assert a.post(f"/mags/{scene['anne_mag']}/follow").status_code == 303  # her own: refused, nothing
    assert a.post(f"/mags/{scene['bruno_mag']}/follow").status_code == 303
    assert b.post(f"/mags/{scene['anne_mag']}/follow").status_code == 303
    assert b.post(f"/mags/{scene['anne_mag']}/articles/{scene['anne_article']}/comments",
                  data={"body": "Bruno likes it"}).status_code == 303
    with app.app_context():
        annes_pictures = list(db.session.scalars(select(ArticlePhoto.image)))
    assert annes_pictures and len(files_in(app)) == len(SIZES)  # one photo, every size

    response = a.post("/account/delete", data={"password": anne.password, "confirm": "y"})
    assert_see_other(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mag).where(Mag.owner_id == anne.id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.author_id == anne.id)) == 0
        assert count(app, MagFollow) == 0  # hers, and Bruno's of her deleted mag
        assert count(app, ArticlePhoto) == 0
        # Bruno's mag and article stay; his comment went with Anne's article.
        assert db.session.scalar(select(func.count()).select_from(Mag)) == 1
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert files_in(app) == []
    assert page(b, f"/mags/{scene['anne_mag']}")[0] == 404
    assert page(b, f"/mags/{scene['bruno_mag']}/articles/{scene['bruno_article']}")[0] == 200

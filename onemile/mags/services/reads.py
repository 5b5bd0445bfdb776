"""Reading mags, articles and comments: through the trust rule, never writing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ...config import MILE_METRES
from ...errors import NotFoundError
from ...extensions import db
from ...geo import LatLon, dialect_of, distance_m, in_box, latlon_columns, within_metres
from ...images import image_url
from ...map.services import Box, Marker, public_marker, register_layer
from ...models import Article, ArticleStatus, Comment, Mag, MagFollow, Member
from ...models.protection import can_see, listed_for, visible_to
from ..labels import MAG_KIND_LABELS

TITLE_MAX = 120
ABOUT_MAX = 5000
BODY_MAX = 20000
COMMENT_MAX = 2000
ALT_MAX = 200
LIST_LIMIT = 50
LATEST_ARTICLES = 20


@dataclass(frozen=True)
class MagData:
    """What the mag form collected."""

    title: str
    about: str
    kind: str
    point: LatLon
    cover_alt: str = ""
    public_place: bool = False  # the author says the point is a public place: shown exactly


@dataclass(frozen=True)
class NewPhoto:
    """An uploaded file (a werkzeug FileStorage) and the text that describes it."""

    file: object
    alt: str


@dataclass(frozen=True)
class ArticleData:
    """What the article form collected."""

    title: str
    body: str
    publish: bool
    photos: tuple[NewPhoto, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class NearbyMag:
    """A mag around a point, with its distance in metres."""

    mag: Mag
    distance_m: float


# --- who sees what ----------------------------------------------------------------------


# The one trust rule decides (models.protection): can_see / visible_to on pages,
# listed_for in lists and on the map (moderators too: hidden content reaches them through
# reports, not through the map).


def _viewer_id(viewer: Member | None) -> int | None:
    return viewer.id if viewer is not None else None


# --- reading ---------------------------------------------------------------------------


def get_mag(mag_id: int) -> Mag:
    """Any mag, whoever may see it; NotFoundError when there is none."""
    mag = db.session.get(Mag, mag_id)
    if mag is None:
        raise NotFoundError("mag")
    return mag


def visible_mag(viewer: Member | None, mag_id: int) -> Mag:
    """A mag the viewer may see (mags are public pages, see models.protection); NotFoundError
    otherwise, as for a mag that does not exist."""
    mag = get_mag(mag_id)
    if not can_see(viewer, mag):
        raise NotFoundError("mag")
    return mag


def own_mag(member: Member, mag_id: int) -> Mag:
    """The member's mag with this id; NotFoundError for anyone else's."""
    mag = db.session.get(Mag, mag_id)
    if mag is None or mag.owner_id != member.id:
        raise NotFoundError("mag")
    return mag


def readable_article(viewer: Member | None, mag_id: int, article_id: int) -> Article:
    """A published article of this mag, or a draft for its owner only. A draft's URL,
    guessed or shared, answers exactly like an article that does not exist; so does an
    article hidden by a moderator, or in a mag the viewer may not see."""
    article = db.session.scalar(
        select(Article).where(Article.id == article_id, Article.mag_id == mag_id).options(joinedload(Article.mag))
    )
    if article is None or not can_see(viewer, article):
        raise NotFoundError("article")
    return article


def own_article(member: Member, article_id: int) -> Article:
    """An article of one of the member's mags; NotFoundError otherwise."""
    article = db.session.scalar(
        select(Article).join(Mag).where(Article.id == article_id, Mag.owner_id == member.id)
    )
    if article is None:
        raise NotFoundError("article")
    return article


def mag_articles(mag: Mag, viewer: Member | None) -> list[Article]:
    """The mag's articles, newest first: published ones, plus drafts for the owner; those
    a moderator hid for moderators only."""
    stmt = (
        select(Article)
        .where(Article.mag_id == mag.id, visible_to(viewer, Article))
        .options(selectinload(Article.photos))
    )
    return list(db.session.scalars(stmt.order_by(func.coalesce(Article.published_at, Article.created_at).desc())))


def my_mags(member: Member) -> list[Mag]:
    """The member's own mags, newest first."""
    return list(db.session.scalars(select(Mag).where(Mag.owner_id == member.id).order_by(Mag.id.desc())))


def mags_near(center: LatLon, viewer_id: int | None, metres: float = MILE_METRES) -> list[NearbyMag]:
    """Mags the viewer sees within `metres` of center (a mile by default), nearest first."""
    session = db.session
    dialect = dialect_of(session)
    distance = distance_m(dialect, Mag.point, center).label("distance_m")
    stmt = (
        select(Mag, distance)
        .where(within_metres(dialect, Mag.point, Mag.id, center, metres), listed_for(viewer_id, Mag))
        .order_by(distance)
        .limit(LIST_LIMIT)
    )
    return [NearbyMag(mag, dist) for mag, dist in session.execute(stmt)]


def mags_in_box(box: Box, viewer_id: int | None) -> list[Mag]:
    """Mags the viewer sees in the visible area of the map, newest first."""
    session = db.session
    stmt = (
        select(Mag)
        .where(in_box(dialect_of(session), Mag.point, Mag.id, box.south, box.west, box.north, box.east),
               listed_for(viewer_id, Mag))
        .order_by(Mag.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(session.scalars(stmt))


def latest_articles(mag_ids: Iterable[int], limit: int = LATEST_ARTICLES) -> list[Article]:
    """The newest published articles of these mags (drafts never), with their mag and photos."""
    ids = list(mag_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Article)
            .where(Article.mag_id.in_(ids), Article.status == ArticleStatus.PUBLISHED, Article.hidden_at.is_(None))
            .options(joinedload(Article.mag), selectinload(Article.photos))
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit)
        )
    )


def visible_comments(article: Article, viewer: Member | None) -> list[Comment]:
    """The article's comments the viewer sees, oldest first, with their authors."""
    stmt = select(Comment).where(Comment.article_id == article.id, visible_to(viewer, Comment))
    return list(db.session.scalars(stmt.options(joinedload(Comment.author)).order_by(Comment.id)))


def comment_count(article_id: int, viewer_id: int | None = None) -> int:
    """How many comments of an article the viewer would see."""
    return db.session.scalar(
        select(func.count()).select_from(Comment).where(Comment.article_id == article_id, listed_for(viewer_id, Comment))
    )


def is_following(member_id: int | None, mag_id: int) -> bool:
    """True when the member follows the mag."""
    if member_id is None:
        return False
    return db.session.scalar(
        select(MagFollow.id).where(MagFollow.mag_id == mag_id, MagFollow.member_id == member_id)
    ) is not None


def follower_count(mag_id: int) -> int:
    """How many members follow the mag."""
    return db.session.scalar(select(func.count()).select_from(MagFollow).where(MagFollow.mag_id == mag_id))


def can_delete_comment(member_id: int | None, comment: Comment, mag: Mag) -> bool:
    """Whether to show the delete button (delete_comment decides again)."""
    return member_id is not None and member_id in (comment.author_id, mag.owner_id)


# --- my data (account download and deletion) ------------------------------------------


def _time(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _picture(name: str | None) -> str | None:
    return image_url(name, "large", external=True) if name else None


def export_of(member: Member) -> dict:
    """The member's mags (with every article, drafts too, and its photos' addresses), the
    comments they wrote and the mags they follow, for the account download. Comments of
    others under the member's articles are not included: their words are theirs."""
    mags = db.session.scalars(
        select(Mag).where(Mag.owner_id == member.id).order_by(Mag.id)
        .options(selectinload(Mag.articles).selectinload(Article.photos))
    ).all()
    comments = db.session.execute(
        select(Comment, Article.title, Article.mag_id).join(Article, Article.id == Comment.article_id)
        .where(Comment.author_id == member.id).order_by(Comment.id)
    ).all()
    follows = db.session.execute(
        select(MagFollow, Mag.title).join(Mag, Mag.id == MagFollow.mag_id)
        .where(MagFollow.member_id == member.id).order_by(MagFollow.id)
    ).all()
    return {
        "mags": [
            {
                "id": mag.id, "title": mag.title, "about": mag.about, "kind": mag.kind,
                "latitude": mag.latlon.lat, "longitude": mag.latlon.lon,
                "cover_picture": _picture(mag.cover_image), "cover_alt": mag.cover_alt,
                "created_at": _time(mag.created_at), "updated_at": _time(mag.updated_at),
                "articles": [
                    {
                        "id": article.id, "title": article.title, "body": article.body, "status": article.status,
                        "created_at": _time(article.created_at), "published_at": _time(article.published_at),
                        "photos": [{"url": _picture(photo.image), "alt": photo.alt} for photo in article.photos],
                    }
                    for article in sorted(mag.articles, key=lambda article: article.id)
                ],
            }
            for mag in mags
        ],
        "mag_comments": [
            {"id": comment.id, "mag_id": mag_id, "article_id": comment.article_id, "article_title": title,
             "body": comment.body, "created_at": _time(comment.created_at)}
            for comment, title, mag_id in comments
        ],
        "mag_follows": [
            {"mag_id": follow.mag_id, "mag_title": title, "since": _time(follow.created_at)}
            for follow, title in follows
        ],
    }


# --- the map ---------------------------------------------------------------------------


def mag_markers(box: Box, viewer_id: int | None, cap: int) -> list[Marker]:
    """The `mags` layer: mags in the box, up to cap + 1, newest first. Mag pages are
    public, so visitors follow the marker to the page itself."""
    session = db.session
    lat, lon = latlon_columns(Mag.point)
    stmt = (
        select(Mag.id, Mag.title, Mag.kind, Mag.owner_id, lat, lon)
        .where(in_box(dialect_of(session), Mag.point, Mag.id, box.south, box.west, box.north, box.east),
               listed_for(viewer_id, Mag))
        .order_by(Mag.id.desc())
        .limit(cap + 1)
    )
    return [
        public_marker(row, "mags", str(MAG_KIND_LABELS[row.kind]), "mags.show", "mag_id", viewer_id)
        for row in session.execute(stmt)
    ]


register_layer("mags", mag_markers)

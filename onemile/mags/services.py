"""Mag rules and queries: create and edit mags, write and publish articles with photos,
comment, follow, list what is around, and the `mags` map layer.

Authorization lives here: every write takes the acting member and refuses (NotFoundError,
a 404 that does not tell whether the thing exists) what is not theirs. Writing (a mag, an
article, a comment) needs a verified e-mail address (auth.gate.require_verified).

Trust and safety (issue #6) apply to mags as to ads. What a member sees of mags, articles
and comments excludes: what a moderator hid (`hidden_at`), what a suspended member wrote
(checked at query time, so reinstating brings it all back), and, for a member, what comes
from someone they blocked or who blocked them. Moderators see hidden pages, to judge them. Pictures are stored
before the database rows that name them; if anything then fails, the pictures are removed
and the transaction rolled back, so a refused save leaves neither rows nor files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload, selectinload

from ..auth.gate import require_verified
from ..config import MILE_METRES
from ..errors import NotFoundError, RuleError
from ..extensions import db
from ..geo import LatLon, dialect_of, distance_m, in_box, latlon_columns, within_metres
from ..images import ImageError, discard_images, image_url, store_image
from ..map.services import Box, Marker, register_layer
from ..models import Article, ArticlePhoto, Comment, Mag, MagFollow, Member, utcnow
from ..models.block import blocked_either_way
from ..models.mag import MAG_KINDS, MAX_PHOTOS_PER_ARTICLE
from ..models.protection import can_see, listed_for, visible_to
from ..notifications.services import notify, withdraw
from ..privacy import place_point
from ..unit_of_work import after_commit, insert_once
from .labels import MAG_KIND_LABELS

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
            .where(Article.mag_id.in_(ids), Article.status == "published", Article.hidden_at.is_(None))
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


# --- mags ------------------------------------------------------------------------------


def _clean_text(value: str, maximum: int, message: str, field_name: str, *, one_line: bool = False) -> str:
    cleaned = " ".join(value.split()) if one_line else value.strip()
    if not cleaned or len(cleaned) > maximum:
        raise RuleError(message, field_name)
    return cleaned


def _checked_mag(data: MagData, has_cover: bool) -> MagData:
    title = _clean_text(data.title, TITLE_MAX, _("Give a title of 1 to %(n)d characters.", n=TITLE_MAX), "title",
                        one_line=True)
    about = _clean_text(data.about, ABOUT_MAX, _("Say what the mag is about in 1 to %(n)s characters.", n=format_decimal(ABOUT_MAX)),
                        "about")
    if data.kind not in MAG_KINDS:
        raise RuleError(_("Choose what kind of mag it is."), "kind")
    cover_alt = " ".join(data.cover_alt.split())
    if len(cover_alt) > ALT_MAX:
        raise RuleError(_("Describe the picture in %(n)d characters at most.", n=ALT_MAX), "cover_alt")
    if has_cover and not cover_alt:
        raise RuleError(_("Describe the cover picture for people who cannot see it."), "cover_alt")
    return MagData(title, about, data.kind, data.point, cover_alt, data.public_place)


def _store(upload, field_name: str) -> str:
    """Store one picture; its refusal is reported on the form field that carried it."""
    try:
        return store_image(upload)
    except ImageError as error:
        error.field = field_name
        raise


def create_mag(owner: Member, data: MagData, cover=None) -> Mag:
    """Create a mag at the chosen point, with an optional cover picture."""
    require_verified(owner)
    data = _checked_mag(data, cover is not None)
    stored = [_store(cover, "cover")] if cover is not None else []
    mag = Mag(
        owner_id=owner.id, title=data.title, about=data.about, kind=data.kind, point=data.point.wkt(),
        cover_image=stored[0] if stored else None, cover_alt=data.cover_alt if stored else None,
    )
    db.session.add(mag)
    # Pictures stored for a save that does not commit are removed by themselves (images).
    db.session.flush()  # the id keys the approximate point
    _place(mag, owner, data)
    db.session.flush()
    return mag


def _place(mag: Mag, owner: Member, data: MagData) -> None:
    """The chosen point, or an approximate one when it may be the owner's home."""
    mag.point = place_point(owner, data.point, data.public_place, f"mag:{mag.id}")[0].wkt()


def update_mag(owner: Member, mag_id: int, data: MagData, cover=None, remove_cover: bool = False) -> Mag:
    """Edit one of the member's mags; a new cover replaces the old one, which is deleted."""
    mag = own_mag(owner, mag_id)
    require_verified(owner)
    keeps_cover = mag.cover_image is not None and not remove_cover
    data = _checked_mag(data, cover is not None or keeps_cover)
    stored = [_store(cover, "cover")] if cover is not None else []
    old_cover = mag.cover_image if (stored or remove_cover) else None
    mag.title, mag.about, mag.kind = data.title, data.about, data.kind
    _place(mag, owner, data)
    if stored:
        mag.cover_image = stored[0]
    elif remove_cover:
        mag.cover_image = None
    mag.cover_alt = data.cover_alt if mag.cover_image else None
    db.session.flush()
    after_commit(lambda: discard_images([old_cover]))
    return mag


def _pictures_of_mag(mag_id: int) -> list[str]:
    photos = db.session.scalars(select(ArticlePhoto.image).join(Article).where(Article.mag_id == mag_id))
    return list(photos)


def delete_mag(owner: Member, mag_id: int) -> None:
    """Delete a mag with its articles, photos, comments and followers."""
    mag = own_mag(owner, mag_id)
    pictures = [mag.cover_image, *_pictures_of_mag(mag.id)]
    db.session.delete(mag)
    db.session.flush()
    after_commit(lambda: discard_images(pictures))


# --- articles --------------------------------------------------------------------------


def _checked_article(data: ArticleData, existing_photos: int) -> ArticleData:
    title = _clean_text(data.title, TITLE_MAX, _("Give a title of 1 to %(n)d characters.", n=TITLE_MAX), "title",
                        one_line=True)
    body = _clean_text(data.body, BODY_MAX, _("Write a text of 1 to %(n)s characters.", n=format_decimal(BODY_MAX)), "body")
    if existing_photos + len(data.photos) > MAX_PHOTOS_PER_ARTICLE:
        raise RuleError(
            _("An article has %(n)d photos at most: remove some first.", n=MAX_PHOTOS_PER_ARTICLE), "photos"
        )
    photos = []
    for photo in data.photos:
        alt = " ".join(photo.alt.split())
        if not alt:
            raise RuleError(_("Describe each photo for people who cannot see it."), "photos")
        if len(alt) > ALT_MAX:
            raise RuleError(_("Describe the picture in %(n)d characters at most.", n=ALT_MAX), "photos")
        photos.append(NewPhoto(photo.file, alt))
    return ArticleData(title, body, data.publish, tuple(photos))


def _add_photos(article: Article, photos: tuple[NewPhoto, ...], stored: list[str]) -> None:
    """Store each photo (appending its name to `stored` at once, so a later refusal can
    remove it) and attach it to the article."""
    position = max((photo.position for photo in article.photos), default=-1)
    for photo in photos:
        stored.append(_store(photo.file, "photos"))
        position += 1
        article.photos.append(ArticlePhoto(image=stored[-1], alt=photo.alt, position=position))


def _set_status(article: Article, publish: bool) -> bool:
    """Publish or unpublish; True when this is the article's first publication.

    Taken back to draft, the article also leaves its followers' notifications: their
    sentence would show a title (perhaps rewritten since) that is no longer public.
    """
    first = publish and article.published_at is None
    if not publish and article.is_published:
        withdraw("new_article", article.id)
    article.status = "published" if publish else "draft"
    if first:
        article.published_at = utcnow()
    return first


def _tell_followers(article: Article, mag: Mag) -> None:
    # A follower who blocked the owner, or whom the owner blocked, hears nothing more.
    follower_ids = db.session.scalars(
        select(MagFollow.member_id).where(
            MagFollow.mag_id == mag.id, MagFollow.member_id != mag.owner_id,
            MagFollow.member_id.notin_(blocked_either_way(mag.owner_id)),
        )
    )
    for follower_id in follower_ids:
        notify(follower_id, "new_article", actor_id=mag.owner_id, target_id=article.id)


def _save_article(article: Article, mag: Mag, data: ArticleData) -> Article:
    stored: list[str] = []
    # Pictures stored for a save that does not commit are removed by themselves (images).
    _add_photos(article, data.photos, stored)
    first_publication = _set_status(article, data.publish)
    db.session.flush()
    if first_publication:
        _tell_followers(article, mag)
    return article


def create_article(owner: Member, mag_id: int, data: ArticleData) -> Article:
    """Write an article in one of the member's mags, as a draft or published at once.
    Followers hear about it when it is first published."""
    mag = own_mag(owner, mag_id)
    require_verified(owner)
    data = _checked_article(data, 0)
    article = Article(mag=mag, title=data.title, body=data.body, status="draft")
    db.session.add(article)
    return _save_article(article, mag, data)


def update_article(owner: Member, article_id: int, data: ArticleData) -> Article:
    """Edit an article, add photos, publish it or take it back to draft."""
    article = own_article(owner, article_id)
    require_verified(owner)
    data = _checked_article(data, len(article.photos))
    article.title, article.body = data.title, data.body
    return _save_article(article, article.mag, data)


def delete_article(owner: Member, article_id: int) -> Mag:
    """Delete an article with its photos and comments; return its mag."""
    article = own_article(owner, article_id)
    mag = article.mag
    pictures = [photo.image for photo in article.photos]
    db.session.delete(article)
    db.session.flush()
    after_commit(lambda: discard_images(pictures))
    return mag


def remove_photo(owner: Member, photo_id: int) -> Article:
    """Remove one photo from an article of the member's; return the article."""
    photo = db.session.scalar(
        select(ArticlePhoto).join(Article).join(Mag).where(ArticlePhoto.id == photo_id, Mag.owner_id == owner.id)
    )
    if photo is None:
        raise NotFoundError("photo")
    article, picture = photo.article, photo.image
    db.session.delete(photo)
    db.session.flush()
    after_commit(lambda: discard_images([picture]))
    return article


# --- comments --------------------------------------------------------------------------


def add_comment(member: Member, mag_id: int, article_id: int, body: str) -> Comment:
    """Comment a published article (a draft is not there for anyone but its owner, and
    takes no comments; nor is the article of a member who blocked the commenter, or whom
    the commenter blocked)."""
    require_verified(member)
    article = readable_article(member, mag_id, article_id)
    if not article.is_published:
        raise RuleError(_("Publish the article before it can receive comments."), "body")
    text = _clean_text(body, COMMENT_MAX, _("Write a comment of 1 to %(n)s characters.", n=format_decimal(COMMENT_MAX)), "body")
    comment = Comment(article_id=article.id, author_id=member.id, body=text)
    db.session.add(comment)
    db.session.flush()
    return comment


def delete_comment(member: Member, comment_id: int) -> Article:
    """Delete a comment: its author may, and so may the owner of the mag it is under."""
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id).options(joinedload(Comment.article).joinedload(Article.mag))
    )
    if comment is None or member.id not in (comment.author_id, comment.article.mag.owner_id):
        raise NotFoundError("comment")
    article = comment.article
    db.session.delete(comment)
    db.session.flush()
    return article


def can_delete_comment(member_id: int | None, comment: Comment, mag: Mag) -> bool:
    """Whether to show the delete button (delete_comment decides again)."""
    return member_id is not None and member_id in (comment.author_id, mag.owner_id)


# --- following -------------------------------------------------------------------------


def follow(member: Member, mag_id: int) -> Mag:
    """Follow a mag to be told about its new articles (following twice changes nothing)."""
    mag = visible_mag(member, mag_id)
    if mag.owner_id == member.id:
        raise RuleError(_("This is your own mag."))
    # A double click that won the race a moment ago: the member follows, as asked.
    insert_once(
        lambda: db.session.scalar(
            select(MagFollow).where(MagFollow.mag_id == mag.id, MagFollow.member_id == member.id)
        ),
        lambda: MagFollow(mag_id=mag.id, member_id=member.id),
    )
    db.session.flush()
    return mag


def unfollow(member: Member, mag_id: int) -> Mag:
    """Stop following a mag. Always possible for a follower, even when the mag is hidden
    from them since; anyone else learns nothing about a mag they may not see."""
    removed = db.session.execute(
        MagFollow.__table__.delete().where(MagFollow.mag_id == mag_id, MagFollow.member_id == member.id)
    ).rowcount
    if not removed:
        return visible_mag(member, mag_id)
    db.session.flush()
    return get_mag(mag_id)


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


def forget_member(member: Member) -> list[str]:
    """For an account deletion (the caller commits): delete the member's mags with their
    articles, photos, the comments under them and their followers; the comments the member
    wrote elsewhere; the mags they followed. Returns the pictures to discard once committed.

    Comments are deleted, not kept as "Former member": a comment is the member's own public
    words and nobody else's record depends on it (unlike a conversation's messages, which
    the other side keeps), so erasure wins.
    """
    mags = db.session.scalars(select(Mag).where(Mag.owner_id == member.id)).all()
    pictures = [name for mag in mags for name in (mag.cover_image, *_pictures_of_mag(mag.id)) if name]
    for mag in mags:
        db.session.delete(mag)
    db.session.execute(delete(Comment).where(Comment.author_id == member.id))
    db.session.execute(delete(MagFollow).where(MagFollow.member_id == member.id))
    return pictures


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
        Marker(
            id=row.id,
            layer="mags",
            title=row.title,
            label=str(MAG_KIND_LABELS[row.kind]),
            lat=round(row.lat, 6),
            lon=round(row.lon, 6),
            endpoint="mags.show",
            url_args={"mag_id": row.id},
            is_own=viewer_id is not None and row.owner_id == viewer_id,
            public=True,
        )
        for row in session.execute(stmt)
    ]


register_layer("mags", mag_markers)

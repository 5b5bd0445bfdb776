"""Mag actions: create and edit mags and articles, comment, follow. They add and flush; the edge commits."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from ...alerts import services as alerts
from ...auth.gate import require_verified
from ...errors import NotFoundError, RuleError
from ...extensions import db
from ...images import ImageError, discard_images, store_image
from ...models import Article, ArticlePhoto, ArticleStatus, Comment, Mag, MagFollow, Member, utcnow
from ...models.block import blocked_either_way
from ...models.mag import MAG_KINDS, MAX_PHOTOS_PER_ARTICLE
from ...notifications.services import notify, withdraw
from ...privacy import place_point
from ...unit_of_work import after_commit, insert_once
from .reads import (
    ABOUT_MAX,
    ALT_MAX,
    BODY_MAX,
    COMMENT_MAX,
    TITLE_MAX,
    ArticleData,
    MagData,
    NewPhoto,
    get_mag,
    own_article,
    own_mag,
    readable_article,
    visible_mag,
)

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
    alerts.mag_published(mag)
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
    article.status = ArticleStatus.PUBLISHED if publish else ArticleStatus.DRAFT
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
    article = Article(mag=mag, title=data.title, body=data.body, status=ArticleStatus.DRAFT)
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

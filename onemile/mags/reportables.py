"""Mags, articles and comments members can report (see moderation.services.register_reportable).

A member reports what they can see; a moderator may hide it (gone for everyone but
moderators, like a hidden ad) or act on its author. Unhiding brings it back.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..errors import NotFoundError
from ..models import Article, Comment, Mag, Member
from ..models.protection import can_see
from ..moderation.services import Described, register_hideable
from . import services


def _article_readable(viewer: Member, article: Article) -> bool:
    try:
        services.readable_article(viewer, article.mag_id, article.id)
    except NotFoundError:
        return False
    return True


def _article_url(article: Article, anchor: str | None = None) -> str:
    return url_for("mags.article", mag_id=article.mag_id, article_id=article.id, _anchor=anchor)


register_hideable(
    "mag",
    Mag,
    label=_l("Mag"),
    visible_to=can_see,
    describe=lambda mag: Described(mag.title, mag.about, mag.owner_id, url_for("mags.show", mag_id=mag.id)),
)

register_hideable(
    "article",
    Article,
    label=_l("Article"),
    visible_to=_article_readable,
    describe=lambda article: Described(article.title, article.body, article.mag.owner_id, _article_url(article)),
)

register_hideable(
    "comment",
    Comment,
    label=_l("Article comment"),
    visible_to=lambda viewer, comment: (
        _article_readable(viewer, comment.article) and can_see(viewer, comment)
    ),
    describe=lambda comment: Described(
        comment.article.title, comment.body, comment.author_id, _article_url(comment.article, f"comment-{comment.id}")
    ),
)

"""Mags, articles and comments members can report (see moderation.services.register_reportable).

A member reports what they can see; a moderator may hide it (gone for everyone but
moderators, like a hidden ad) or act on its author. Unhiding brings it back.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..errors import NotFoundError
from ..extensions import db
from ..models import Article, Comment, Mag, Member
from ..models.protection import can_see
from ..moderation.services import Described, hide_content, register_reportable, unhide_content
from . import services


def _is_hidden(content) -> bool:
    return content.hidden_at is not None


def _article_readable(viewer: Member, article: Article) -> bool:
    try:
        services.readable_article(viewer, article.mag_id, article.id)
    except NotFoundError:
        return False
    return True


def _article_url(article: Article, anchor: str | None = None) -> str:
    return url_for("mags.article", mag_id=article.mag_id, article_id=article.id, _anchor=anchor)


register_reportable(
    "mag",
    label=_l("Mag"),
    fetch=lambda mag_id: db.session.get(Mag, mag_id),
    visible_to=can_see,
    describe=lambda mag: Described(mag.title, mag.about, mag.owner_id, url_for("mags.show", mag_id=mag.id)),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=_is_hidden,
)

register_reportable(
    "article",
    label=_l("Article"),
    fetch=lambda article_id: db.session.get(Article, article_id),
    visible_to=_article_readable,
    describe=lambda article: Described(article.title, article.body, article.mag.owner_id, _article_url(article)),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=_is_hidden,
)

register_reportable(
    "comment",
    label=_l("Article comment"),
    fetch=lambda comment_id: db.session.get(Comment, comment_id),
    visible_to=lambda viewer, comment: (
        _article_readable(viewer, comment.article) and can_see(viewer, comment)
    ),
    describe=lambda comment: Described(
        comment.article.title, comment.body, comment.author_id, _article_url(comment.article, f"comment-{comment.id}")
    ),
    hide=hide_content,
    unhide=unhide_content,
    is_hidden=_is_hidden,
)

"""What mags tell their followers. Registered with the notifications hub by mags.setup."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Article, Mag
from ..notifications.kinds import register_kind, register_target_type


def _load(ids: list[int]) -> dict[int, Article]:
    """The articles and their mags (the sentence names both), one query."""
    found = db.session.scalars(select(Article).where(Article.id.in_(ids)).options(joinedload(Article.mag)))
    return {article.id: article for article in found}


def _of_mags(mag_ids: list[int]) -> list[int]:
    """The articles the database deletes with these mags."""
    return list(db.session.scalars(select(Article.id).where(Article.mag_id.in_(mag_ids))))


def _link(_notification, article: Article):
    return "mags.article", {"mag_id": article.mag_id, "article_id": article.id}


def _new_article_email(_notification, article: Article, _who: str) -> tuple[str, str]:
    return (
        _("New in %(mag)s: %(title)s", mag=article.mag.title, title=article.title),
        _("%(mag)s, a mag you follow, published “%(title)s”.", mag=article.mag.title, title=article.title),
    )


def register() -> None:
    """Register the article target type and the new_article kind."""
    register_target_type("article", Article, _load, deleted_with={Mag: _of_mags})
    register_kind(
        "new_article", sentence="mags/notifications/new_article.html", target="article",
        link=_link, email=_new_article_email,
    )

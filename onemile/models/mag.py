"""Mags: small local web magazines on the map, their articles, photos, comments and followers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from geoalchemy2 import Geometry
from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..geo import LatLon, point_latlon
from ._states import states
from ._time import utcnow
from .organisation import ActedBy
from .protection import Protected

if TYPE_CHECKING:
    from .member import Member


MagKind = states("MagKind", "shop", "business", "association", "event", "person")
MAG_KINDS = tuple(MagKind)


ArticleStatus = states("ArticleStatus", "draft", "published")
ARTICLE_STATUSES = tuple(ArticleStatus)
MAX_PHOTOS_PER_ARTICLE = 10


class Mag(ActedBy, Protected, db.Model):
    """A member's or an organisation's magazine, placed at a point the owner chose to make public."""

    __tablename__ = "mag"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    about: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    point = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # A stored picture name from onemile.images (never a path, never the upload).
    cover_image: Mapped[str | None] = mapped_column(String(64))
    cover_alt: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when a moderator hides the mag: gone for everyone but moderators, articles included.
    hidden_at: Mapped[datetime | None]

    owner: Mapped[Member] = relationship(foreign_keys=[owner_id])
    articles: Mapped[list[Article]] = relationship(
        back_populates="mag", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Article.id.desc()",
    )

    @property
    def latlon(self) -> LatLon:
        """The mag's public point."""
        return point_latlon(self.point)


class Article(ActedBy, Protected, db.Model):
    """An article of a mag: a draft only its owner sees, or published for everyone."""

    __tablename__ = "article"
    __table_args__ = (Index("ix_article_mag_status", "mag_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mag_id: Mapped[int] = mapped_column(ForeignKey("mag.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    # Markdown as the author typed it; rendered and sanitised when shown.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ArticleStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set the first time it is published: followers are told once, and it dates the article.
    published_at: Mapped[datetime | None]
    # Set when a moderator hides the article.
    hidden_at: Mapped[datetime | None]

    mag: Mapped[Mag] = relationship(back_populates="articles")
    photos: Mapped[list[ArticlePhoto]] = relationship(
        back_populates="article", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ArticlePhoto.position, ArticlePhoto.id",
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="article", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Comment.id",
    )

    @property
    def is_published(self) -> bool:
        """Readable by everyone."""
        return self.status == ArticleStatus.PUBLISHED

    # Trust rule (models.protection): the mag's owner owns the article; a draft is theirs
    # alone, moderators included.
    __moderators_see_unpublished__ = False
    __container__ = "mag"

    @classmethod
    def owner_id_clause(cls) -> ColumnElement[int]:
        """The owner of the article's mag (a correlated subquery: no join)."""
        return select(Mag.owner_id).where(Mag.id == cls.mag_id).scalar_subquery()

    @property
    def protection_owner_id(self) -> int:
        """The owner of the article's mag."""
        return self.mag.owner_id

    @classmethod
    def public_clause(cls, now: datetime) -> ColumnElement[bool]:
        """Published."""
        return cls.status == ArticleStatus.PUBLISHED

    def is_public_at(self, now: datetime) -> bool:
        """Python twin of `public_clause`."""
        return self.is_published


class ArticlePhoto(db.Model):
    """A photo of an article, with the text that describes it to people who cannot see it."""

    __tablename__ = "article_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), index=True)
    image: Mapped[str] = mapped_column(String(64))
    alt: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    article: Mapped[Article] = relationship(back_populates="photos")


class Comment(Protected, db.Model):
    """A reader's comment under a published article."""

    __owner_column__ = "author_id"

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a moderator hides the comment.
    hidden_at: Mapped[datetime | None]

    article: Mapped[Article] = relationship(back_populates="comments")
    author: Mapped[Member] = relationship()


class MagFollow(db.Model):
    """A member who wants to hear about a mag's new articles."""

    __tablename__ = "mag_follow"
    __table_args__ = (UniqueConstraint("mag_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mag_id: Mapped[int] = mapped_column(ForeignKey("mag.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

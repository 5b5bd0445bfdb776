"""The one trust rule: what a viewer may see of a hideable, owned object.

Every feature asks the same question (may this viewer see this ad, project, mag, article,
comment?) and gets the same answer from here, in two forms that always agree:

- `can_see(viewer, obj)`, a Python predicate for one object already loaded (a page);
- `visible_to(viewer, Model)`, its SQL twin, a plain condition on the model's own table
  for `.where()` (no join: the hot spatial queries keep their plan).

Lists and the map use a stricter pair, `can_list(viewer_id, obj)` and `listed_for(viewer_id,
Model)`: only what is public (never the owner's drafts), and no moderator privilege
(moderators meet hidden content through reports, not on the map).

The rule, in order:

1. Moderators see everything on pages (to judge reports), except states a model keeps to
   its owner alone (a mag article's draft).
2. For anyone else, an object a moderator hid is gone, for its owner too; so is the object
   of a suspended owner (read live, so reinstating brings it back; listings instead stamp
   the suspension on their own rows, see `Protected.__suspension_hides_rows__`); so is the
   object of a member the viewer blocked or who blocked the viewer. An object inside a
   protected container (an article in its mag) goes with its container.
3. What is left is seen when it is in its public state (an open ad, an approved project, a
   published article) or when the viewer owns it.

Model: Indico's `indico/core/db/sqlalchemy/protection.py` (a mixin declaring the protected
state, and one place that decides).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    and_,
    bindparam,
    or_,
    select,
    true,
)

from ..extensions import db
from ._time import utcnow
from .block import Block, blocked_either_way
from .member import Member


class Protected:
    """Mixin for hideable, owned models: the model has a nullable `hidden_at` column (set
    when a moderator hides it) and names its owner; the hooks below say which state is
    public. Columns stay on the models themselves (their migrations made them)."""

    # Attribute holding the owner's member id.
    __owner_column__: ClassVar[str] = "owner_id"
    # True when suspending a member stamps `hidden_at` on these rows already (listings):
    # the rule then need not look at the owner's suspension, and the hot queries keep
    # their shape.
    __suspension_hides_rows__: ClassVar[bool] = False
    # False when the non-public state is private to the owner, moderators included
    # (a draft); True when moderators review it (a project waiting for approval).
    __moderators_see_unpublished__: ClassVar[bool] = True
    # The relationship to a protected container whose rule applies to this object too (an
    # article goes with its mag: hidden mag, suspended or blocked owner); None for none.
    __container__: ClassVar[str | None] = None

    @classmethod
    def container_model(cls) -> type[Protected]:
        """The class of the container named by `__container__`."""
        return getattr(cls, cls.__container__).property.mapper.class_

    @classmethod
    def owner_id_clause(cls) -> ColumnElement[Any]:
        """SQL expression of the owner's member id."""
        return getattr(cls, cls.__owner_column__)

    @property
    def protection_owner_id(self) -> int:
        """The owner's member id."""
        return getattr(self, self.__owner_column__)

    @classmethod
    def public_clause(cls, now: datetime) -> ColumnElement[bool] | None:
        """SQL condition of the public state (seen on pages by everyone); None when the
        model has no other state."""
        return None

    def is_public_at(self, now: datetime) -> bool:
        """Python twin of `public_clause`."""
        return True

    @classmethod
    def listed_clause(cls, now: datetime) -> ColumnElement[bool] | None:
        """SQL condition of the state shown in lists and on the map (the public one unless
        the model narrows it)."""
        return cls.public_clause(now)

    def is_listed_at(self, now: datetime) -> bool:
        """Python twin of `listed_clause`."""
        return self.is_public_at(now)


def _member(viewer) -> Member | None:
    """The signed-in member behind `viewer` (None, an anonymous user or a member)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    return viewer


def list_viewer_id(viewer) -> int | None:
    """The viewer id to give `listed_for` (and the lists and map searches built on it) for
    `viewer` (a member, an anonymous user or None): a member's own when a block stands
    between them and anyone, either way, or when that was not loaded (Member.has_blocks);
    None when none does, for then nothing is withheld from them and they list what a visitor
    does, without the block subqueries in every arm of the hot searches."""
    member = _member(viewer)
    if member is None or member.has_blocks is False:
        return None
    return member.id


def blocked_between(member_id: int, other_id: int) -> bool:
    """True when either member blocked the other."""
    return db.session.scalar(
        select(Block.id).where(
            or_(
                (Block.blocker_id == member_id) & (Block.blocked_id == other_id),
                (Block.blocker_id == other_id) & (Block.blocked_id == member_id),
            )
        ).limit(1)
    ) is not None


# --- Python predicates ---------------------------------------------------------------------


def withheld_from(viewer_id: int | None, obj: Protected) -> bool:
    """Rule 2 without the moderators' privilege: hidden by a moderator, owner suspended, or a
    block either way between the viewer and the owner."""
    if obj.hidden_at is not None:
        return True
    if obj.__container__ is not None:
        return withheld_from(viewer_id, getattr(obj, obj.__container__))
    owner_id = obj.protection_owner_id
    if not obj.__suspension_hides_rows__:
        owner = db.session.get(Member, owner_id)
        if owner is None or owner.is_suspended:
            return True
    return viewer_id is not None and viewer_id != owner_id and blocked_between(viewer_id, owner_id)


def can_see(viewer, obj: Protected, now: datetime | None = None) -> bool:
    """Whether `viewer` (a member, an anonymous user or None) may open `obj`'s page."""
    member = _member(viewer)
    viewer_id = member.id if member is not None else None
    owns = viewer_id is not None and viewer_id == obj.protection_owner_id
    public = obj.is_public_at(now or utcnow())
    if member is not None and member.is_moderator:
        return public or owns or obj.__moderators_see_unpublished__
    return not withheld_from(viewer_id, obj) and (public or owns)


def can_list(viewer_id: int | None, obj: Protected, now: datetime | None = None) -> bool:
    """Whether `obj` appears in the lists and on the map of the member `viewer_id` (None:
    a visitor). Python twin of `listed_for`."""
    return obj.is_listed_at(now or utcnow()) and not withheld_from(viewer_id, obj)


def can_see_member(viewer, member: Member | None) -> bool:
    """Whether `viewer` may see `member` as a person (their profile, give them smiles):
    members only, never a member who left or is suspended, never across a block (either
    way). Moderators meet suspended members through the moderation pages, not here."""
    viewer_member = _member(viewer)
    if viewer_member is None or member is None or member.is_deleted or member.is_suspended:
        return False
    return viewer_member.id == member.id or not blocked_between(viewer_member.id, member.id)


# --- SQL twins -----------------------------------------------------------------------------


def _not_withheld(viewer_id: int | None, model: type[Protected]) -> ColumnElement[bool]:
    """SQL twin of `not withheld_from(viewer_id, …)`: embedded subqueries, no extra round
    trip and no join."""
    conditions = [model.hidden_at.is_(None)]
    if model.__container__ is not None:
        container = model.container_model()
        # The foreign key to the container (a many-to-one has exactly one local column).
        (key,) = getattr(model, model.__container__).property.local_columns
        return and_(*conditions, key.in_(select(container.id).where(_not_withheld(viewer_id, container))))
    owner = model.owner_id_clause()
    if not model.__suspension_hides_rows__:
        conditions.append(owner.notin_(select(Member.id).where(Member.suspended_at.is_not(None))))
    if viewer_id is not None:
        conditions.append(owner.notin_(blocked_either_way(viewer_id)))
    return and_(*conditions)


def visible_to(viewer, model: type[Protected], now: datetime | None = None) -> ColumnElement[bool]:
    """SQL twin of `can_see`: the rows of `model` whose page `viewer` may open."""
    member = _member(viewer)
    viewer_id = member.id if member is not None else None
    public = model.public_clause(now or utcnow())
    if public is not None and viewer_id is not None:
        public = or_(public, model.owner_id_clause() == viewer_id)
    if member is not None and member.is_moderator:
        return true() if public is None or model.__moderators_see_unpublished__ else public
    if public is None:
        return _not_withheld(viewer_id, model)
    return and_(_not_withheld(viewer_id, model), public)


def listed_for(viewer_id: int | BindParameter | None, model: type[Protected],
               now: datetime | BindParameter | None = None) -> ColumnElement[bool]:
    """SQL condition for lists and the map: the rows of `model` the member `viewer_id` (None:
    a visitor) finds there. Moderators get no privilege here. A statement built once per
    shape (geo.PointParameter) passes LISTED_VIEWER and LISTED_NOW, bound when it runs."""
    listed = model.listed_clause(utcnow() if now is None else now)
    withheld_free = _not_withheld(viewer_id, model)
    return withheld_free if listed is None else and_(listed, withheld_free)


# The viewer and the time of `listed_for`, bound when a statement built once runs: build it
# with `listed_for(LISTED_VIEWER if viewer_id is not None else None, Model, LISTED_NOW)`,
# run it with `listed_values(viewer_id)`.
LISTED_VIEWER = bindparam("listed_viewer_id", type_=Integer())
LISTED_NOW = bindparam("listed_now", type_=DateTime())


def listed_values(viewer_id: int | None) -> dict[str, object]:
    """The values of LISTED_VIEWER and LISTED_NOW for the member `viewer_id`, now."""
    return {"listed_viewer_id": viewer_id, "listed_now": utcnow()}

"""Typed SQLAlchemy models, one module per aggregate."""

from ._time import utcnow
from .listing import CATEGORIES, OFFER_TYPES, Listing, ListingPlacement
from .member import MEMBER_KINDS, Member
from .mile import MAX_MILES, Mile

__all__ = [
    "CATEGORIES",
    "MAX_MILES",
    "MEMBER_KINDS",
    "OFFER_TYPES",
    "Listing",
    "ListingPlacement",
    "Member",
    "Mile",
    "utcnow",
]

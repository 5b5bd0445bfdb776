"""Typed SQLAlchemy models, one module per aggregate."""

from ._time import utcnow

# Primary keys are 32-bit integers on both backends: larger numbers from URLs or queries
# must find nothing rather than make the driver raise.
MAX_DATABASE_ID = 2**31 - 1
from .conversation import Completion, Conversation, Message
from .ledger import Account, LedgerEntry, Transfer
from .listing import CATEGORIES, OFFER_TYPES, Listing, ListingPlacement
from .member import MEMBER_KINDS, Member
from .mile import MAX_MILES, Mile
from .moderation import MODERATION_ACTIONS, REPORT_REASONS, ModerationAction, Report
from .notification import Notification

__all__ = [
    "CATEGORIES",
    "MAX_DATABASE_ID",
    "MAX_MILES",
    "MEMBER_KINDS",
    "MODERATION_ACTIONS",
    "OFFER_TYPES",
    "REPORT_REASONS",
    "Account",
    "Completion",
    "Conversation",
    "LedgerEntry",
    "Listing",
    "ListingPlacement",
    "Member",
    "Message",
    "Mile",
    "ModerationAction",
    "Notification",
    "Report",
    "Transfer",
    "utcnow",
]

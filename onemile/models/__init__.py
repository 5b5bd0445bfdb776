"""Typed SQLAlchemy models, one module per aggregate."""

from ._time import utcnow

# Primary keys are 32-bit integers on both backends: larger numbers from URLs or queries
# must find nothing rather than make the driver raise.
MAX_DATABASE_ID = 2**31 - 1
from .block import Block, blocked_either_way
from .conversation import Completion, Conversation, Message
from .ledger import Account, LedgerEntry, Transfer
from .listing import CATEGORIES, LOCATION_MODES, OFFER_TYPES, Listing, ListingPlacement
from .login_session import LoginSession
from .mag import MAG_KINDS, Article, ArticlePhoto, Comment, Mag, MagFollow
from .member import MEMBER_KINDS, Member
from .mile import MAX_MILES, Mile
from .moderation import MODERATION_ACTIONS, REPORT_REASONS, ModerationAction, Report
from .notification import Notification
from .outgoing_mail import OUTGOING_MAIL_STATUSES, OutgoingMail
from .project import Pledge, Project, ProjectTask, ProjectUpdate, Volunteer

__all__ = [
    "CATEGORIES",
    "LOCATION_MODES",
    "MAG_KINDS",
    "MAX_DATABASE_ID",
    "MAX_MILES",
    "MEMBER_KINDS",
    "MODERATION_ACTIONS",
    "OFFER_TYPES",
    "OUTGOING_MAIL_STATUSES",
    "REPORT_REASONS",
    "Account",
    "Article",
    "ArticlePhoto",
    "Block",
    "Comment",
    "Completion",
    "Conversation",
    "LedgerEntry",
    "Listing",
    "ListingPlacement",
    "LoginSession",
    "Mag",
    "MagFollow",
    "Member",
    "Message",
    "Mile",
    "ModerationAction",
    "Notification",
    "OutgoingMail",
    "Pledge",
    "Project",
    "ProjectTask",
    "ProjectUpdate",
    "Report",
    "Transfer",
    "Volunteer",
    "blocked_either_way",
    "utcnow",
]

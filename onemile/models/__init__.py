"""Typed SQLAlchemy models, one module per aggregate."""

from ._time import utcnow

# Primary keys are 32-bit integers on both backends: larger numbers from URLs or queries
# must find nothing rather than make the driver raise.
MAX_DATABASE_ID = 2**31 - 1
from .alert import (
    ALERT_MODES,
    ALERT_SUBJECTS,
    DEFAULT_ALERT_MODES,
    DIGEST_FREQUENCIES,
    AdAlert,
    AlertPreference,
    Digest,
    ExpiryReminder,
)
from .block import Block, blocked_either_way
from .conversation import Completion, CompletionStatus, Conversation, Message
from .ledger import Account, AccountKind, LedgerEntry, Transfer, TransferReason
from .listing import (
    CATEGORIES,
    LOCATION_MODES,
    OFFER_TYPES,
    HiddenReason,
    Listing,
    ListingKind,
    ListingPlacement,
    ListingStatus,
    OfferType,
)
from .login_session import LoginSession
from .mag import MAG_KINDS, Article, ArticlePhoto, ArticleStatus, Comment, Mag, MagFollow, MagKind
from .member import MEMBER_KINDS, Member, MemberKind
from .mile import MAX_MILES, Mile
from .moderation import (
    MODERATION_ACTIONS,
    REPORT_REASONS,
    ModerationAction,
    ModerationVerb,
    Report,
    ReportStatus,
)
from .notification import Notification
from .outgoing_mail import OUTGOING_MAIL_STATUSES, OutgoingMail, OutgoingMailStatus
from .project import (
    Pledge,
    Project,
    ProjectStatus,
    ProjectTask,
    ProjectUpdate,
    Volunteer,
    VolunteerStatus,
)

__all__ = [
    "ALERT_MODES",
    "ALERT_SUBJECTS",
    "CATEGORIES",
    "DEFAULT_ALERT_MODES",
    "DIGEST_FREQUENCIES",
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
    "AccountKind",
    "AdAlert",
    "AlertPreference",
    "Article",
    "ArticlePhoto",
    "ArticleStatus",
    "Block",
    "Comment",
    "Completion",
    "CompletionStatus",
    "Conversation",
    "Digest",
    "ExpiryReminder",
    "HiddenReason",
    "LedgerEntry",
    "Listing",
    "ListingKind",
    "ListingPlacement",
    "ListingStatus",
    "LoginSession",
    "Mag",
    "MagFollow",
    "MagKind",
    "Member",
    "MemberKind",
    "Message",
    "Mile",
    "ModerationAction",
    "ModerationVerb",
    "Notification",
    "OfferType",
    "OutgoingMail",
    "OutgoingMailStatus",
    "Pledge",
    "Project",
    "ProjectStatus",
    "ProjectTask",
    "ProjectUpdate",
    "Report",
    "ReportStatus",
    "Transfer",
    "TransferReason",
    "Volunteer",
    "VolunteerStatus",
    "blocked_either_way",
    "utcnow",
]

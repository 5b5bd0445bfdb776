"""The one gate in front of acting on others: a verified e-mail address.

Its own small module (no imports from other features) so that every feature's services can
call it without an import cycle through the auth routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from ..errors import RuleError

if TYPE_CHECKING:
    from ..models import Member


class EmailNotVerified(RuleError):
    """The member has not opened the verification link yet: they may browse, not act."""


def require_verified(member: Member) -> None:
    """Refuse posting, answering, messaging and supporting until the address is verified."""
    if not member.is_verified:
        raise EmailNotVerified(
            _("Confirm your e-mail address first: open the link we sent you, or ask for a new one.")
        )

"""What moderation tells members: a warning. Registered with the notifications hub by
moderation.setup."""

from __future__ import annotations

from flask_babel import gettext as _

from ..notifications.kinds import register_kind


def _warning_email(notification, _target, _who: str) -> tuple[str, str]:
    return (
        _("A warning from the 1Mile moderators"),
        _(
            "The moderators reviewed reports about your activity on 1Mile and ask you to "
            "respect the community rules. Their message:\n\n%(reason)s",
            reason=notification.detail or "",
        ),
    )


def register() -> None:
    """Register the moderation_warning kind: about the account itself, so e-mailed even to
    members who turned notification e-mails off."""
    register_kind(
        "moderation_warning",
        sentence="moderation/notifications/moderation_warning.html",
        email=_warning_email,
        account_kind=True,
    )

"""Notification forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class MarkAllReadForm(FlaskForm):
    """No fields: the button's POST carries only the CSRF token."""


class EmailSettingsForm(FlaskForm):
    """Whether the member gets e-mails for the notifications that deserve one."""

    email_notifications = BooleanField(_l("Send me e-mails for first replies and confirmation requests"))

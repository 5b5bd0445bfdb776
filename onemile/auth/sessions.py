"""Login sessions kept on the server: opened at login, checked on every request, ended by
logging out (this device), from the account page (one device, or everywhere), or by a
password change.

The session cookie and the remember-me cookie both carry Flask-Login's id (Member.get_id):
`<member id>:<credential fingerprint>:<secret key>`. The key names one LoginSession row
(stored as its SHA-256 digest); deleting the row makes both cookies worthless, copies
included. Each device has its own row, so logging out on a phone ends that phone's session
only, and "log out everywhere" ends them all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from functools import lru_cache

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import Select, bindparam, delete, exists, or_, select
from sqlalchemy.orm import joinedload, with_expression

from .. import replicas
from ..extensions import db
from ..models import MAX_DATABASE_ID, Block, LoginSession, Member, utcnow
from .services.reads import normalise_email

# (pattern, label) in order: the first that matches the User-Agent names the browser / system.
_BROWSERS = (
    (r"Edg/", "Edge"), (r"OPR/|Opera", "Opera"), (r"SamsungBrowser", "Samsung Internet"),
    (r"Firefox/|FxiOS", "Firefox"), (r"Chrome/|CriOS|Chromium", "Chrome"), (r"Safari/", "Safari"),
)
_SYSTEMS = (
    (r"Android", "Android"), (r"iPhone", "iPhone"), (r"iPad", "iPad"), (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"), (r"CrOS", "ChromeOS"), (r"Linux", "Linux"),
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _first_match(user_agent: str, table) -> str | None:
    return next((label for pattern, label in table if re.search(pattern, user_agent)), None)


def device_label(user_agent: str | None) -> str:
    """A short, recognisable name for the device ("Firefox on Android"), or "" when the
    User-Agent says nothing we know. Only shown to the member, to tell devices apart."""
    user_agent = user_agent or ""
    browser, system = _first_match(user_agent, _BROWSERS), _first_match(user_agent, _SYSTEMS)
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or ""


def _lifetime() -> timedelta:
    """A session lives as long as a remember-me cookie: no cookie outlives its row."""
    duration = current_app.config.get("REMEMBER_COOKIE_DURATION", timedelta(days=365))
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def open_session(member: Member, user_agent: str | None) -> None:
    """Open a login session for `member` on this device and commit it; afterwards
    `member.get_id()` names it, so call this just before `flask_login.login_user`.

    Rows of this member that can no longer be used (expired, or from before a password
    change) are deleted on the way, so the table holds live sessions only.
    """
    fingerprint = member.credential_fingerprint
    db.session.execute(
        delete(LoginSession)
        .where(
            LoginSession.member_id == member.id,
            or_(
                LoginSession.created_at < utcnow() - _lifetime(),
                LoginSession.credential_fingerprint != fingerprint,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    key = secrets.token_urlsafe(24)
    row = LoginSession(
        member_id=member.id,
        key_digest=_digest(key),
        credential_fingerprint=fingerprint,
        device=device_label(user_agent)[:80],
    )
    db.session.add(row)
    db.session.flush()
    member.login_session_id, member.login_session_key = row.id, key


def member_for_session(session_id: str) -> Member | None:
    """The member a Flask-Login id names, when its login session is still open and the
    member may use the site; None otherwise (logged out, expired, password changed since,
    suspended). One query."""
    member_id, fingerprint, key = (session_id.split(":") + ["", ""])[:3]
    # ASCII digits only ("²".isdigit() is true, int() refuses it), and few of them.
    if not (member_id.isascii() and member_id.isdigit() and len(member_id) <= 10) or not key:
        return None
    if int(member_id) > MAX_DATABASE_ID:
        return None
    # From the primary even on a page a replica serves: a session ended a moment ago (log
    # out everywhere, a suspension) must not live on in a replica's lag.
    with replicas.on_primary():
        # The member's miles come in the same statement: nearly every page and fragment
        # needs them (the mile it shows, the primary one), and a second round trip per
        # request was a measurable part of a fragment's cost (issue 17).
        found = db.session.execute(
            _member_with_session(), {"member_id": int(member_id), "key_digest": _digest(key)}
        ).unique().first()
    if found is None:
        return None
    member, row_id, created_at = found
    if not hmac.compare_digest(member.credential_fingerprint, fingerprint):
        return None
    if created_at < utcnow() - _lifetime():
        return None
    if member.is_suspended or member.is_deleted:
        # A suspension ends every open session and remember-me cookie at once.
        return None
    member.login_session_id, member.login_session_key = row_id, key
    return member


@lru_cache(maxsize=1)
def _member_with_session() -> Select:
    """The member, their miles, whether a block stands between them and anyone
    (Member.has_blocks) and their login session (when still there), by member id and key
    digest: built once, for every request (geo.PointParameter says why)."""
    blocks = or_(
        exists().where(Block.blocker_id == Member.id),
        exists().where(Block.blocked_id == Member.id),
    )
    return (
        select(Member, LoginSession.id, LoginSession.created_at)
        .join(LoginSession, LoginSession.member_id == Member.id)
        .where(Member.id == bindparam("member_id"), LoginSession.key_digest == bindparam("key_digest"))
        .options(joinedload(Member.miles), with_expression(Member.has_blocks, blocks))
    )


def active_sessions(member: Member) -> list[LoginSession]:
    """The member's open login sessions, newest first (the devices on the account page)."""
    rows = db.session.scalars(
        select(LoginSession)
        .where(
            LoginSession.member_id == member.id,
            LoginSession.created_at >= utcnow() - _lifetime(),
        )
        .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
    )
    fingerprint = member.credential_fingerprint
    return [row for row in rows if hmac.compare_digest(row.credential_fingerprint, fingerprint)]


def end_session(member: Member, login_session_id: int | None) -> bool:
    """End one of the member's own login sessions (another member's id ends nothing).
    True when one was ended."""
    if login_session_id is None:
        return False
    ended = db.session.execute(
        delete(LoginSession)
        .where(LoginSession.id == login_session_id, LoginSession.member_id == member.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    return ended > 0


def end_all_sessions(member: Member) -> None:
    """End every login session of the member, on every device, this one included."""
    db.session.execute(
        delete(LoginSession)
        .where(LoginSession.member_id == member.id)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


# --- At the edge: the cookies of this request -------------------------------------------


def log_in(member: Member, remember: bool = False) -> None:
    """Log `member` in on this device: a new login session, then Flask-Login's cookies."""
    open_session(member, request.user_agent.string)
    login_user(member, remember=remember)


# The browser that signed up is marked (a digest of the address it typed, in the signed
# session cookie), and only that browser is logged in by the e-mailed link: a link opened
# anywhere else (forwarded, or sent to a victim to log them into the sender's account, or
# followed by a mail scanner) confirms the address and asks for the password.
_SIGNED_UP_KEY = "signed_up"


def _address_digest(email: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    return hmac.new(str(secret).encode(), normalise_email(email).encode(), hashlib.sha256).hexdigest()


def remember_signup(email: str) -> None:
    """Mark this browser as the one that signed up with `email` (same answer for any address)."""
    session[_SIGNED_UP_KEY] = _address_digest(email)


def signed_up_here(member: Member) -> bool:
    """Whether this browser signed up as `member` (the mark is used once)."""
    digest = session.pop(_SIGNED_UP_KEY, None)
    return isinstance(digest, str) and hmac.compare_digest(digest, _address_digest(member.email))


def log_out(member: Member) -> None:
    """Log out on this device: its login session ends on the server (copies of the cookies
    stop working too), then Flask-Login clears the cookies."""
    end_session(member, member.login_session_id)
    logout_user()

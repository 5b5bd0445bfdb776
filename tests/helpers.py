"""Small helpers the test files share: reading responses, logged-in clients, counting rows.

Fixtures stay in conftest.py; these are plain functions, imported with `from helpers import …`
(pytest puts this folder on the import path, as it does for conftest).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from onemile.extensions import db

# The hidden CSRF field of a rendered form (whatever the attribute order).
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def html(response) -> str:
    """The body of a test-client response as text."""
    return response.get_data(as_text=True)


def csrf_token_in(page: str) -> str:
    """The CSRF token of the first form in a page's HTML."""
    match = CSRF_INPUT.search(page)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def english(client):
    """Ask every page in English, so messages can be asserted whatever the French catalog holds."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def assert_see_other(response, path: str | None = None) -> None:
    """A redirect that answers a successful POST: 303 See Other (the browser GETs the next
    page, so a reload posts nothing again), to `path` when given (the Location's path, with
    its query and fragment when `path` has them)."""
    assert response.status_code == 303, (response.status_code, html(response)[:2000])
    if path is not None:
        location = urlsplit(response.headers["Location"])
        where = location.path + (f"?{location.query}" if "?" in path else "") + (
            f"#{location.fragment}" if "#" in path else "")
        assert where == path, (where, path)


def logged_in(app, ref, language: str | None = None):
    """A test client of its own, logged in as `ref` through the login form.

    `language="en"` asks every page in English (the Accept-Language header).
    """
    client = app.test_client()
    if language == "en":
        english(client)
    response = client.post("/auth/login", data={"email": ref.email, "password": ref.password})
    assert_see_other(response)
    return client


def count(app, model, *where) -> int:
    """Rows of `model` (matching `where`), read in a fresh session."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def mailed_link(outbox, email: str, path_prefix: str) -> str:
    """The path of the newest link starting with `path_prefix` e-mailed to `email`."""
    from email import message_from_bytes, policy

    found = []
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            found += re.findall(rf"https?://[^/\s]+({re.escape(path_prefix)}\S+)", message.get_content())
    assert found, f"no link to {path_prefix} e-mailed to {email}"
    return found[-1]


def no_quiet_hours(app, *refs) -> None:
    """Quiet hours off for these members, whatever the hour the test runs at: by default an
    alert in the evening or at night waits for the morning (onemile.alerts)."""
    from onemile.models import Member

    with app.app_context():
        db.session.execute(update(Member).where(Member.id.in_([r.id for r in refs])).values(quiet_start=0, quiet_end=0))
        db.session.commit()

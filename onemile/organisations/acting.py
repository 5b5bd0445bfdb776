"""Acting as an organisation: a manager switches to "acting as <org>" (kept in the session)
and the forms they use then write as the organisation, each row recording the person.

The session only holds the organisation's id: every request checks again, before the view
runs, that the signed-in member still manages it and that it is not suspended or deleted;
a removed manager loses access on their very next request (the key is dropped). Views ask
`current_actor` instead of `current_user` where they write on someone's behalf.
"""

from __future__ import annotations

from flask import g, has_request_context, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.local import LocalProxy

from ..errors import NotFoundError
from ..extensions import db
from ..models import Member
from ..models.organisation import ActedBy
from . import services

SESSION_KEY = "acting_as"


def _resolve() -> None:
    """Before each request: who the signed-in member acts as (g.acting_as, or None)."""
    g.acting_as = None
    organisation_id = session.get(SESSION_KEY)
    if organisation_id is None:
        return
    if not current_user.is_authenticated or not isinstance(organisation_id, int):
        session.pop(SESSION_KEY, None)
        return
    organisation = db.session.get(Member, organisation_id)
    if (
        organisation is None
        or not organisation.is_organisation
        or organisation.is_suspended
        or organisation.is_deleted
        or not services.is_manager(current_user.id, organisation.id)
    ):
        session.pop(SESSION_KEY, None)
        return
    g.acting_as = organisation


def acting_as() -> Member | None:
    """The organisation the signed-in member acts as on this request, or None."""
    return g.get("acting_as") if has_request_context() else None


def _actor():
    organisation = acting_as()
    return organisation if organisation is not None else current_user._get_current_object()


# Who writes: the organisation while a manager acts as it, else the signed-in member.
current_actor: Member = LocalProxy(_actor)  # type: ignore[assignment]


def switch(member: Member, organisation_id: int | None) -> Member | None:
    """Act as an organisation the member manages (None: as themselves again)."""
    if organisation_id is None:
        session.pop(SESSION_KEY, None)
        return None
    organisation = next((o for o in services.managed_by(member) if o.id == organisation_id), None)
    if organisation is None:
        raise NotFoundError("organisation")
    session[SESSION_KEY] = organisation.id
    return organisation


def _stamp_acted_by(session_, flush_context, instances) -> None:
    """Record who wrote an organisation's rows: the manager acting as it, or nobody (None)
    when the organisation's own account did. A person acting for themselves leaves the
    column alone (their rows never carry one; rows of others they touch keep theirs)."""
    if not has_request_context() or "acting_as" not in g or not current_user.is_authenticated:
        return
    if g.acting_as is not None:
        person_id = current_user.id
    elif current_user.is_organisation:
        person_id = None
    else:
        return
    for row in session_.new:
        if isinstance(row, ActedBy):
            row.acted_by_id = person_id
    for row in session_.dirty:
        if isinstance(row, ActedBy) and row.acted_by_id != person_id and session_.is_modified(row):
            row.acted_by_id = person_id


def init_app(app) -> None:
    """Resolve the acting organisation before every request; stamp rows on flush."""
    app.before_request(_resolve)
    if not event.contains(Session, "before_flush", _stamp_acted_by):
        event.listen(Session, "before_flush", _stamp_acted_by)

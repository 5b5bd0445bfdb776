"""The web glue every feature's routes share: see-other redirects, refusals shown on the form
they came from, and (re-exported from htmx.py) page-or-fragment.

A service refuses with a RuleError (errors.py) that names the field it is about; a route
turns it into a message on its form here, in one way, with the status the error carries
(422, or 409 for a conflict). A one-click button has no form to show it on: the refusal is
flashed instead (`flash_refusal`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, flash, g, redirect, request, url_for
from flask_login import current_user

from .errors import RuleError
from .htmx import page_or_fragment, vary_on_htmx, wants_fragment

__all__ = [
    "flash_refusal",
    "form_status",
    "header_value",
    "page_or_fragment",
    "refuse",
    "see_other",
    "see_other_to",
    "submitted",
    "vary_on_htmx",
    "wants_fragment",
]


def see_other(endpoint: str, **values) -> Response:
    """303 See Other to `url_for(endpoint, **values)`: after a POST the browser GETs the next
    page, so a reload does not post again. Varies on HX-Request like every htmx answer.
    Every redirect that answers a POST is one of these (302 stays for GET pages)."""
    return see_other_to(url_for(endpoint, **values))


def see_other_to(url: str) -> Response:
    """303 See Other to a URL already built and checked (a local `next` path, the referrer
    of this site)."""
    return vary_on_htmx(redirect(url, 303))


def refuse(form, error: RuleError, *, fallback: str | None = None, flash_general: bool = False) -> int:
    """Show a refusal on `form` and return the status to answer with.

    The message goes next to the field the error names when the form has it; else next to
    the `fallback` field (forms that show their errors there); else it is flashed
    (`flash_general`: the form it came from may not be shown again) or shown above the form.
    """
    target = _field(form, error.field) or _field(form, fallback)
    if target is not None:
        target.errors = [*target.errors, error.message]
    elif flash_general:
        flash(error.message, "error")
    else:
        form.form_errors = [*form.form_errors, error.message]
    return error.status_code


def _field(form, name: str | None):
    field = getattr(form, name, None) if name else None
    return field if field is not None and hasattr(field, "errors") else None


def submitted(form, action: Callable[[], Any], **refuse_options) -> Any:
    """On a valid POST, run `action` and return what it made; None when nothing was sent,
    the form is invalid, or a rule refused it (the refusal is then on the form, see `refuse`).

    `action` must return something true on success (the saved object, or True).
    """
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except RuleError as error:
        refuse(form, error, **refuse_options)
        return None


def form_status() -> int:
    """200 for a form shown, 422 for a form sent back with what was typed and its errors."""
    return 422 if request.method == "POST" else 200


def flash_refusal(action: Callable[[], Any], success: str | Callable[[Any], str] | None = None) -> bool:
    """Run a one-click action (a button, no form to show an error on) and flash how it went:
    the refusal, or `success` (a message, or one made from what the action returned).

    Returns True when the action was done, False when a rule refused it.
    """
    try:
        result = action()
    except RuleError as error:
        flash(error.message, "error")
        return False
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return True


def header_value(app: Flask, name: str, compute: Callable[[int], int]) -> None:
    """Offer templates `name()`: a number about the signed-in member for the header (the
    bell's unread count, the smiles balance), 0 for visitors.

    Lazy and cached per request: a template calls it only where it draws the header, so
    visitors and htmx fragments cost no query, and a whole page at most one.
    """
    key = f"_header_{name}"

    def value() -> int:
        if not current_user.is_authenticated:
            return 0
        if key not in g:
            setattr(g, key, compute(current_user.id))
        return getattr(g, key)

    app.context_processor(lambda: {name: value})

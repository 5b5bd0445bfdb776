"""The one helper that answers with a whole page or just the fragment htmx asked for."""

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of a page.

    Boosted navigations and history restores need the whole page.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def vary_on_htmx(response: Response) -> Response:
    """Mark a response that differs for htmx and plain requests (caches must not mix them)."""
    response.vary.add("HX-Request")
    return response


def page_or_fragment(template: str, block: str, status: int = 200, **context) -> Response:
    """Render `template` whole, or only its `block` for htmx; the page and the fragment
    come from the same template so they never drift apart."""
    if wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return vary_on_htmx(make_response(body, status))

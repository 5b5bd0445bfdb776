"""Article bodies: Markdown typed by members, shown as sanitised HTML.

Two locks, so that one slip does not open the door: markdown-it never passes raw HTML
through (``html=False`` escapes any tag typed as text, and its link validator drops
``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links), and nh3 (the Rust ammonia
sanitiser) then keeps only an allow-list of tags, attributes and URL schemes. No
``<script>``, no ``<style>``, no ``style=`` or ``on*=`` attribute, no image (photos are
uploaded and re-encoded, never hot-linked) can survive.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "a", "ul", "ol", "li", "blockquote",
    "code", "pre", "h2", "h3", "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "strikethrough"
).disable("image")
_HEADING = re.compile(r"<(/?)h1>")
_HEADING_END = re.compile(r"</h\d>")
_SPACES = re.compile(r"\s+")


def render_markdown(text: str) -> Markup:
    """Safe HTML for a member's Markdown. A level-1 heading becomes a level-2 one: the
    article title is the page's only h1."""
    rendered = _HEADING.sub(r"<\1h2>", _markdown.render(text or ""))
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )
    return Markup(cleaned)


def plain_excerpt(text: str, length: int = 200) -> str:
    """The article's first words as plain text, for Open Graph descriptions and lists."""
    # A heading runs into the next paragraph once tags are gone: keep a dash between them.
    rendered = _HEADING_END.sub(" – ", _markdown.render(text or ""))
    words = html.unescape(nh3.clean(rendered, tags=set()))
    words = _SPACES.sub(" ", words).strip()
    if len(words) <= length:
        return words
    return words[: length - 1].rsplit(" ", 1)[0].rstrip(",;:.") + "…"

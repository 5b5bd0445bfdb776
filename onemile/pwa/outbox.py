"""The offline outbox's one-time keys (static/js/outbox.js).

A reply or a new ad sent from the page carries `client_key`, made once per text. When the
connection drops after the server received it, the page sends it again later with the same
key: the services look the key up and answer with what was already posted instead of
posting twice (a unique index settles a race between the page and the service worker).
"""

from __future__ import annotations

import re

CLIENT_KEY = re.compile(r"[A-Za-z0-9-]{8,36}")


def clean_client_key(value: str | None) -> str | None:
    """A key as the page makes it (a UUID, or letters, digits and dashes, 8 to 36
    characters); anything else is ignored, and the post goes through without one."""
    value = (value or "").strip()
    return value if CLIENT_KEY.fullmatch(value) else None

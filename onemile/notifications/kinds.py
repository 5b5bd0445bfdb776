"""The registry of notification kinds and of the things notifications point at.

Features register their own (their `notifications.py`, imported by their `setup(app)`): the
hub records, lists, links and e-mails a notification through its kind and never names a
feature. A notification points at its object generically (`target_type` + `target_id`);
each target type loads its objects in bulk, one query per type, so the notifications page
costs a fixed number of queries whatever it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# (endpoint, values) for url_for / public_url: one description serves the page and the e-mail.
Link = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class TargetType:
    """Something a notification can point at.

    `load(ids)` returns {id: object} for the ids that still exist, in one query, with what
    the sentences and links read already loaded. `deleted_with` maps a model whose rows the
    database deletes along with targets (ON DELETE CASCADE) to a function giving, for ids of
    that model, the ids of targets going with them: their notifications go too.
    `export(target)` adds fields to the notification's line in the member's data export.
    """

    name: str
    model: type
    load: Callable[[list[int]], dict[int, Any]]
    deleted_with: dict[type, Callable[[list[int]], Iterable[int]]] = field(default_factory=dict)
    export: Callable[[Any], dict] | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of notification.

    `sentence` is the template of its line on the notifications page (it gets `n`, the
    notification, `target`, its object, and `name`, the actor's name, in the reader's
    language). `link(n, target)` says where the line leads. `email(n, target, who)` returns
    (subject, lead) in the recipient's language, called under their locale; a kind without
    it sends no e-mail. `email_link` is where the e-mail leads (default: `link`).
    `account_kind`: about the account itself, e-mailed even to members who turned e-mails off.
    `action`: the template of a one-tap button shown after the line (it gets `n` and
    `target`; a POST form with its CSRF token), e.g. renewing an ad about to expire.
    """

    name: str
    sentence: str
    target: str | None = None
    link: Callable[[Any, Any], Link] | None = None
    email: Callable[[Any, Any, str], tuple[str, str]] | None = None
    email_link: Callable[[Any, Any], Link] | None = None
    account_kind: bool = False
    action: str | None = None

    @property
    def emailed(self) -> bool:
        """Whether this kind sends an e-mail (to members who did not turn them off)."""
        return self.email is not None

    def link_for(self, notification, target) -> Link:
        """Where the notification's line leads; the notifications page by default."""
        return self.link(notification, target) if self.link else ("notifications.index", {})

    def email_link_for(self, notification, target) -> Link:
        """Where the notification's e-mail leads."""
        if self.email_link:
            return self.email_link(notification, target)
        return self.link_for(notification, target)


KINDS: dict[str, Kind] = {}
TARGET_TYPES: dict[str, TargetType] = {}


def register_target_type(
    name: str,
    model: type,
    load: Callable[[list[int]], dict[int, Any]],
    *,
    deleted_with: dict[type, Callable[[list[int]], Iterable[int]]] | None = None,
    export: Callable[[Any], dict] | None = None,
) -> TargetType:
    """Declare something notifications may point at (registering again replaces it: every
    app the tests build runs its features' setup)."""
    target_type = TargetType(name, model, load, deleted_with or {}, export)
    TARGET_TYPES[name] = target_type
    return target_type


def register_kind(
    name: str,
    *,
    sentence: str,
    target: str | None = None,
    link: Callable[[Any, Any], Link] | None = None,
    email: Callable[[Any, Any, str], tuple[str, str]] | None = None,
    email_link: Callable[[Any, Any], Link] | None = None,
    account_kind: bool = False,
    action: str | None = None,
) -> Kind:
    """Declare a notification kind (see Kind); registering again replaces it."""
    if target is not None and target not in TARGET_TYPES:
        raise ValueError(f"register the target type {target!r} before the kind {name!r}")
    kind = Kind(name, sentence, target, link, email, email_link, account_kind, action)
    KINDS[name] = kind
    return kind


def kind_of(name: str) -> Kind:
    """The registered kind called `name`; ValueError for an unknown one."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}") from None


def load_targets(notifications: list) -> None:
    """Give each notification its object (`n.target`), one query per target type; a
    notification whose object is gone gets `n.target = None` and `n.target_missing = True`."""
    wanted: dict[str, set[int]] = {}
    for n in notifications:
        if n.target_type is not None and n.target_id is not None:
            wanted.setdefault(n.target_type, set()).add(n.target_id)
    loaded = {
        name: TARGET_TYPES[name].load(sorted(ids)) if name in TARGET_TYPES else {} for name, ids in wanted.items()
    }
    for n in notifications:
        n.target = loaded.get(n.target_type, {}).get(n.target_id) if n.target_type else None
        n.target_missing = n.target_type is not None and n.target is None

"""The account's signals: each feature answers for its own part of a member's data.

A feature connects its receivers in its `setup(app)`; the account module only sends. Receivers
run in the order they were connected, which is the order of `onemile.FEATURES` (an account
deletion deletes listings before the miles they are placed in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSet
from datetime import datetime
from typing import Any

from blinker import NamedSignal

from ..images import discard_images


class _InsertionOrdered(MutableSet):
    """A set that iterates in insertion order: blinker calls receivers in the order of its
    set class, which is unordered by default."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items = dict.fromkeys(items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Any) -> None:
        self._items[item] = None

    def discard(self, item: Any) -> None:
        self._items.pop(item, None)

    def copy(self) -> _InsertionOrdered:
        return _InsertionOrdered(self._items)


class _OrderedSignal(NamedSignal):
    set_class = _InsertionOrdered


member_exported = _OrderedSignal("member-exported", doc="""Sent with (member, export=dict) for the
data download: each receiver adds its own keys to `export`.""")

member_forgotten = _OrderedSignal("member-forgotten", doc="""Sent with (member, after_commit=list)
inside the account deletion's transaction: each receiver deletes or anonymises its own part
(never commits) and may append callables to `after_commit`, run once committed (files).""")


def export_time(value: datetime | None) -> str | None:
    """A time as the data export writes it (UTC, ISO 8601, seconds)."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


# The receivers made by connect_services, kept so that connecting again (every app the tests
# build runs the features' setup) finds the same ones instead of adding more.
_SERVICE_RECEIVERS: dict[tuple, tuple[Callable, Callable]] = {}


def connect_services(export_part: Callable[[Any], dict], forget_part: Callable[[Any], list[str]]) -> None:
    """Answer both signals for a feature whose services already do the work:
    `export_part(member)` returns its keys of the download, `forget_part(member)` forgets the
    member (no commit) and returns the images to discard once the deletion is committed (a
    rollback must not lose the pictures of what is kept)."""
    key = (export_part, forget_part)
    if key not in _SERVICE_RECEIVERS:

        def export(member, export: dict) -> None:
            export.update(export_part(member))

        def forget(member, after_commit: list) -> None:
            images = forget_part(member)
            after_commit.append(lambda: discard_images(images))

        _SERVICE_RECEIVERS[key] = (export, forget)
    connect_receivers(*_SERVICE_RECEIVERS[key])


def connect_receivers(export: Callable[..., None], forget: Callable[..., None]) -> None:
    """Answer both signals: `export(member, export=dict)` adds the feature's keys to the
    download, `forget(member, after_commit=list)` deletes or anonymises its part."""
    member_exported.connect(export, weak=False)
    member_forgotten.connect(forget, weak=False)

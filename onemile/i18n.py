"""Translations looked up once per language instead of once per use.

Flask-Babel's `gettext` finds the request's catalogue through three lookups of `g` each
time (about 15 µs): the mile's list of twenty cards spent a millisecond translating the
same dozen labels again and again (issue 17). A catalogue does not change while the app
runs, so what a fixed text or a label map says in a language can be kept for that language:
the key is the reader's language at the moment of the call (so `force_locale`, used for
e-mails in the recipient's language, is honoured), never anything about a member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import wraps
from typing import TypeVar

from babel import support
from flask import Request
from flask_babel import get_locale
from markupsafe import Markup
from wtforms.i18n import messages_path

T = TypeVar("T")


def _language() -> str:
    return str(get_locale())


def per_language(function: Callable[..., T]) -> Callable[..., T]:
    """Memoise `function`, whose result depends only on its (hashable, few) arguments and
    the reader's language: catalogue texts, Babel's number formats."""
    results: dict[tuple, T] = {}

    @wraps(function)
    def cached(*args):
        key = (_language(), *args)
        try:
            return results[key]
        except KeyError:
            result = results[key] = function(*args)
            return result

    return cached


class TranslatedLabels(Mapping[str, Markup]):
    """A map of lazy labels (`lazy_gettext`) as templates read it: `labels[key]` in the
    reader's language, the whole map translated once per language.

    Values are Markup, as a lazy string is to Jinja (its `__html__`): the catalogue's text
    is written out as it is, exactly as before.
    """

    def __init__(self, labels: Mapping[str, object]):
        self._labels = dict(labels)
        self._translated = per_language(lambda: {key: Markup(str(label)) for key, label in self._labels.items()})

    def __getitem__(self, key: str) -> Markup:
        return self._translated()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


class FormTranslationsRequest(Request):
    """A request that hands Flask-WTF the WTForms catalogue of the reader's language loaded
    once per language: Flask-WTF looks for it on the request (`wtforms_translations`) and
    otherwise parses the catalogue file again for every request that builds a form."""

    @property
    def wtforms_translations(self) -> support.Translations:
        return _wtforms_catalogue()


@per_language
def _wtforms_catalogue() -> support.Translations:
    return support.Translations.load(messages_path(), [_language()], domain="wtforms")

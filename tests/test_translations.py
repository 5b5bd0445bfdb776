"""Translations: every string of the code and templates has a French translation, and it is served.

No database: these tests read the catalogs and render pages that never touch the DB.
A red `test_every_string_is_translated_in_french` means someone added a string: run
    .venv/bin/pybabel extract -F babel.cfg -k _l -o onemile/translations/messages.pot .
    .venv/bin/pybabel update -i onemile/translations/messages.pot -d onemile/translations
then translate the new entries of onemile/translations/fr/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "onemile" / "translations"
LOCALES = ("fr", "en")
# The keywords `pybabel extract -k _l` uses: babel's defaults plus lazy_gettext's alias.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_catalog(locale: str):
    with _po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def _method_map():
    """The method map and options of babel.cfg, exactly as `pybabel extract -F babel.cfg` reads it."""
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        return parse(f)


def _extracted_msgids() -> dict[str, list[str]]:
    """msgid -> places, from the current code and templates."""
    method_map, options_map = _method_map()
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _translated(message) -> bool:
    if message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return bool(strings) and all(s and s.strip() for s in strings)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def _compile_catalogs() -> None:
    """Write each .mo from its .po when missing or older, atomically (safe under xdist)."""
    for locale in LOCALES:
        po = _po_path(locale)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read_catalog(locale)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def test_every_string_is_translated_in_french():
    extracted = _extracted_msgids()
    assert extracted, "nothing extracted: is babel.cfg still matching onemile/?"
    catalog = _read_catalog("fr")
    problems = []
    for msgid, places in sorted(extracted.items()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing from fr catalog: {msgid!r} ({places[0]})")
        elif not _translated(message):
            state = "fuzzy" if message.fuzzy else "untranslated"
            problems.append(f"{state} in fr catalog: {msgid!r} ({places[0]})")
    assert not problems, f"{len(problems)} string(s) need a French translation:\n" + "\n".join(problems)


def test_french_translations_keep_placeholders():
    problems = []
    for message in _read_catalog("fr"):
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = set().union(*(_placeholders(i) for i in ids))
        for string in strings:
            if _placeholders(string) != expected:
                problems.append(
                    f"{ids[0]!r}: expected {sorted(expected)}, got {sorted(_placeholders(string))}"
                )
    assert not problems, "placeholders differ:\n" + "\n".join(problems)


def test_french_quotes_hold_their_words_with_one_unbreakable_space():
    """« like this »: one no-break space inside each guillemet. A plain space lets a lone »
    wrap onto its own line on a phone; a space after the no-break space doubles the gap."""
    problems = []
    for message in _read_catalog("fr"):
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for string in strings:
            if string and re.search(r"«(?!\u00a0\S)|(?<!\S\u00a0)»", string):
                problems.append(repr(string))
    assert not problems, "French quotes to fix:\n" + "\n".join(problems)


@pytest.fixture
def client(tmp_path):
    os.environ.setdefault("SECRET_KEY", "x")
    _compile_catalogs()
    from onemile import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "t.sqlite")})
    return app.test_client()


def test_french_catalog_is_served(client):
    response = client.get("/auth/login", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    assert "Se connecter" in response.get_data(as_text=True)


def test_english_is_served_untranslated(client):
    response = client.get("/auth/login", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Log in" in page
    assert "Se connecter" not in page

"""No merge leftovers in what we ship: a conflict marker left in a stylesheet once silently
dropped the rule after it (the photos' thumbnails grew to the card's width)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = {".py", ".html", ".css", ".js", ".json", ".md", ".toml", ".cfg", ".sh", ".txt", ".po", ".webmanifest"}
SKIPPED = {".git", ".venv", ".pg", ".audit", "node_modules", "vendor", "__pycache__", "instance"}
# What git writes into a file it could not merge, each at the start of a line.
MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def _text_files():
    for path in ROOT.rglob("*"):
        if path.suffix in TEXT and path.is_file() and not SKIPPED & set(path.relative_to(ROOT).parts):
            yield path


def test_no_merge_conflict_markers_are_left_in_the_sources():
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in _text_files()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for match in MARKER.finditer(text)
    ]
    assert not found, found


def test_the_marker_pattern_finds_what_git_writes():
    sample = "a {}\n<<<<<<< HEAD\nb {}\n=======\nc {}\n>>>>>>> photos\n/* ===== a banner ===== */\n"
    assert [m.group(0) for m in MARKER.finditer(sample)] == ["<<<<<<< ", "=======", ">>>>>>> "]

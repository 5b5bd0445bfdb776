"""Carry translations over from another copy of a catalog (development helper, for merges).

Usage: .venv/bin/python scripts/merge_translations.py OTHER.po [TARGET.po]
Every entry of TARGET (default: the French catalog) that is empty or fuzzy takes the
translation the same msgid has in OTHER, when OTHER has a real one. Run it after
`pybabel update`, with OTHER the other side of a merge (`git show branch:path > other.po`).
"""

import sys

from babel.messages.pofile import read_po, write_po

DEFAULT_TARGET = "onemile/translations/fr/LC_MESSAGES/messages.po"


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings) and "fuzzy" not in message.flags


def main(other_path: str, target_path: str = DEFAULT_TARGET) -> None:
    with open(other_path, "rb") as f:
        other = read_po(f)
    with open(target_path, "rb") as f:
        target = read_po(f)
    carried = 0
    for message in target:
        if not message.id or _translated(message):
            continue
        source = other.get(message.id)
        if source is not None and _translated(source):
            message.string = source.string
            message.flags.discard("fuzzy")
            carried += 1
    with open(target_path, "wb") as f:
        write_po(f, target, width=100)
    print(f"{carried} translations carried over")


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Set French translations from the command line (development helper).

Usage: .venv/bin/python scripts/set_translation.py "English msgid" "Traduction" [...pairs]
Clears the fuzzy flag of each entry it sets.
"""

import sys

from babel.messages.pofile import read_po, write_po

PATH = "onemile/translations/fr/LC_MESSAGES/messages.po"


def main(pairs: list[str]) -> None:
    with open(PATH, "rb") as f:
        catalog = read_po(f)
    for msgid, msgstr in zip(pairs[::2], pairs[1::2]):
        message = catalog.get(msgid)
        if message is None:
            sys.exit(f"not in the catalog: {msgid!r}")
        message.string = msgstr
        message.flags.discard("fuzzy")
    with open(PATH, "wb") as f:
        write_po(f, catalog, width=100)


if __name__ == "__main__":
    main(sys.argv[1:])

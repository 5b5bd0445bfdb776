"""Set French translations from the command line (development helper).

Usage: .venv/bin/python scripts/set_translation.py "English msgid" "Traduction" [...pairs]
A plural entry takes its singular msgid and the French forms joined by "||":
    scripts/set_translation.py "%(num)d offer" "%(num)d offre||%(num)d offres"
Clears the fuzzy flag of each entry it sets.
"""

import sys

from babel.messages.pofile import read_po, write_po

PATH = "onemile/translations/fr/LC_MESSAGES/messages.po"


def main(pairs: list[str]) -> None:
    with open(PATH, "rb") as f:
        catalog = read_po(f)
    for msgid, msgstr in zip(pairs[::2], pairs[1::2]):
        message = catalog.get(msgid) or next(
            (m for m in catalog if isinstance(m.id, tuple) and m.id[0] == msgid), None
        )
        if message is None:
            sys.exit(f"not in the catalog: {msgid!r}")
        message.string = tuple(msgstr.split("||")) if isinstance(message.id, tuple) else msgstr
        message.flags.discard("fuzzy")
    with open(PATH, "wb") as f:
        write_po(f, catalog, width=100)


if __name__ == "__main__":
    main(sys.argv[1:])

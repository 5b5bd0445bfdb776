"""Every page passes axe-core (WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices
on landmarks and headings) in real Chromium, in French and in English.

The pages are those of a small but complete world: a moderator member who posted an ad,
answered another, talks in a conversation, owns a mag with an article and follows projects;
a reported listing in the moderation queue; a pending project to moderate. axe-core is a
development-time test asset (tests/vendor/axe-core/, MPL-2.0), never served by the app.

The backend plays no part in what a page looks like, so this runs on SpatiaLite only.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PASSWORD, Factory, log_in_browser
from helpers import logged_in
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from onemile.extensions import db
from onemile.models import ProjectTask

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["spatialite"])]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, A and AA; best-practice adds landmarks, one <h1>, heading order,
# content inside landmarks: what a screen-reader user navigates by.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@dataclass
class World:
    """Ids of what the pages show."""

    viewer: object
    own_listing: int
    other_listing: int
    conversation: int
    project: int
    own_project: int
    pending_project: int
    mag: int
    article: int


def _location_id(response, pattern: str) -> int:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    return int(re.search(pattern, response.headers["Location"]).group(1))


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _multipart(client, url: str, fields: dict):
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def build_world(app) -> World:
    """Members, ads, conversations, projects, a mag with an illustrated article, reports and a
    moderator's action, all through the real routes. Camille, the member whose pages are
    checked, is a moderator; so is Anne, who approves Camille's project."""
    factory = Factory(app)
    camille = factory.member(first_name="Camille", last_name="Roux", email="camille@example.org")
    anne = factory.member(first_name="Anne", last_name="Martin", email="anne@example.org")
    bruno = factory.member(first_name="Bruno", last_name="Petit", email="bruno@example.org")
    for moderator in (camille, anne):
        factory.moderator(moderator)
    own_listing = factory.listing(camille, title="Donne une perceuse", body="Une perceuse à percussion, avec ses mèches.")
    other_listing = factory.listing(anne, kind="request", offer_type=None, category="repairs",
                                    title="Aide pour monter une armoire", body="Samedi matin, deux heures environ.")
    factory.listing(bruno, kind="offer", offer_type="lend", category="diy", title="Prête une échelle",
                    body="Une échelle de 3 mètres.", location_mode="mile_only")
    cam, ann, bru = (logged_in(app, m) for m in (camille, anne, bruno))

    # Bruno answers Camille's ad; they talk. Camille answers Anne's request.
    conversation = _location_id(
        bru.post(f"/conversations/answer/{own_listing}", data={"body": "Bonjour, je suis intéressé !"}),
        r"/conversations/(\d+)")
    cam.post(f"/conversations/{conversation}/messages", data={"body": "Avec plaisir, passez samedi."})
    ann_conversation = _location_id(
        cam.post(f"/conversations/answer/{other_listing}", data={"body": "Je peux venir avec ma visseuse."}),
        r"/conversations/(\d+)")
    ann.post(f"/conversations/{ann_conversation}/messages", data={"body": "Merci, à samedi !"})

    # Projects: Anne's and Camille's approved by the other moderator, Bruno's waiting.
    project_form = {
        "title": "Jardin partagé du Rebberg", "summary": "Des bacs potagers ouverts à tous.",
        "description": "Six bacs, un composteur et un récupérateur d'eau.",
        "latitude": "47.7385", "longitude": "7.3305", "money_target": "500",
        "tasks-0-title": "Construire les bacs", "tasks-0-skill": "Menuiserie", "charter": "y",
    }
    project = _location_id(ann.post("/projects/new", data=project_form), r"/projects/(\d+)")
    own_project = _location_id(cam.post("/projects/new", data={**project_form, "title": "Repair café"}),
                               r"/projects/(\d+)")
    pending = _location_id(bru.post("/projects/new", data={**project_form, "title": "Boîte à livres"}),
                           r"/projects/(\d+)")
    assert cam.post(f"/projects/{project}/approve").status_code in (303, 303)
    assert ann.post(f"/projects/{own_project}/approve").status_code in (303, 303)
    bru.post(f"/projects/{own_project}/pledge", data={"amount": "20", "message": "Bravo", "key": "a11y-pledge-0001"})
    with app.app_context():
        task_id = db.session.scalars(select(ProjectTask.id).where(ProjectTask.project_id == own_project)).first()
    bru.post(f"/projects/{own_project}/tasks/{task_id}/volunteer", data={f"task-{task_id}-message": "Je scie."})
    cam.post(f"/projects/{project}/smiles", data={"amount": "1", "key": "a11y-smiles-00001"})

    # Camille's mag and an illustrated article, commented by Bruno.
    mag = _location_id(_multipart(cam, "/mags/new", {
        "title": "Atelier vélo du Centre", "kind": "association",
        "about": "Réparations et conseils, le samedi.", "latitude": "47.7466", "longitude": "7.3390",
        "cover_alt": "",
    }), r"/mags/(\d+)")
    article = _location_id(_multipart(cam, f"/mags/{mag}/articles/new", {
        "title": "Bourse aux vélos", "body": "Samedi, **bourse aux vélos** sur la place.", "status": "published",
        "new_photos-0-file": FileStorage(io.BytesIO(_jpeg()), filename="velo.jpg", content_type="image/jpeg"),
        "new_photos-0-alt": "Des vélos alignés sur la place",
    }), r"/articles/(\d+)")
    bru.post(f"/mags/{mag}/articles/{article}/comments", data={"body": "J'y serai !"})

    # Moderation: Bruno reports Anne's request; Anne reports Bruno's ad; Camille hides it.
    bru.post(f"/report/listing/{other_listing}", data={"reason": "spam", "details": "Publicité"})
    reported = factory.listing(bruno, title="Vends des montres", body="Prix imbattables, écrivez-moi.")
    ann.post(f"/report/listing/{reported}", data={"reason": "scam"})
    cam.post(f"/moderation/listing/{reported}", data={"action": "hide", "reason": "Arnaque"})
    return World(camille, own_listing, other_listing, conversation, project, own_project, pending, mag, article)


def _pages(world: World) -> dict[str, list[str]]:
    """Paths to check, by who looks at them."""
    w = world
    return {
        "visitor": [
            "/", "/auth/signup", "/auth/login", "/auth/reset", "/explore?lat=47.75&lon=7.3359",
            f"/mags/{w.mag}", f"/mags/{w.mag}/articles/{w.article}", "/offline", "/no-such-page",
        ],
        "member": [
            "/map", "/listings/", "/listings/new", "/listings/mine",
            f"/listings/{w.own_listing}", f"/listings/{w.own_listing}/edit", f"/listings/{w.other_listing}",
            f"/conversations/{w.conversation}", "/smiles/", "/notifications/", "/notifications/settings", "/alerts/settings",
            "/miles/", "/account/", "/projects/", "/projects/mine", "/projects/new", f"/projects/{w.project}",
            f"/projects/{w.own_project}",
            "/mags/", "/mags/new", f"/mags/{w.mag}", f"/mags/{w.mag}/edit", f"/mags/{w.mag}/articles/new",
            f"/mags/{w.mag}/articles/{w.article}", f"/mags/{w.mag}/articles/{w.article}/edit",
            f"/report/listing/{w.other_listing}",
            # Profiles and smiles gifts (issue 16).
            "/members/me", f"/members/{w.viewer.id}", f"/smiles/give/{w.viewer.id}",
            # The moderator's pages.
            "/moderation/", "/moderation/log", "/projects/moderation", f"/projects/{w.pending_project}",
        ],
    }


def axe_violations(page) -> list[str]:
    """Run axe on the page as it is now; one line per violation, with the failing nodes."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    lines = []
    for violation in result["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
                     f"{targets[:6]}{' …' if len(targets) > 6 else ''} [{summary[:300]}]")
    return lines


def _check(page, base: str, path: str, found: dict[str, list[str]]) -> None:
    response = page.goto(base + path)
    # The page itself, not an error or a redirect to another page.
    expected = 404 if path == "/no-such-page" else 200
    assert response.status == expected and page.url == base + path, (path, response.status, page.url)
    page.wait_for_load_state("load")
    violations = axe_violations(page)
    if violations:
        found[path] = violations


def _check_states(page, base: str, world: World, found: dict[str, list[str]]) -> None:
    """Pages as htmx and failed forms leave them, then the busiest pages on a phone."""
    page.goto(f"{base}/listings/new")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_load_state("load")
    found.setdefault("/listings/new (errors)", []).extend(axe_violations(page))

    page.goto(f"{base}/conversations/{world.conversation}")
    reply = page.locator(f"#reply-{world.conversation} textarea")
    reply.fill("Merci, à samedi.")
    page.locator(f"#reply-{world.conversation} button[type=submit]").click()
    expect(page.locator(f"#messages-{world.conversation} li.message")).to_have_count(3)
    found.setdefault("/conversations (after a reply)", []).extend(axe_violations(page))

    page.goto(f"{base}/notifications/")
    page.locator("#notification-list form button").click()
    expect(page.locator("#notification-list [role=status]")).to_be_visible()
    found.setdefault("/notifications/ (all read)", []).extend(axe_violations(page))

    page.goto(f"{base}/listings/")
    with page.expect_response(re.compile(r"/listings/\?")):
        page.locator("#q").fill("perceuse")
    found.setdefault("/listings/ (searched)", []).extend(axe_violations(page))

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/map", "/listings/new", f"/conversations/{world.conversation}", f"/projects/{world.project}",
                 f"/mags/{world.mag}/articles/{world.article}"):
        page.goto(base + path)
        found.setdefault(f"{path} (phone)", []).extend(axe_violations(page))
    page.set_viewport_size({"width": 1280, "height": 900})
    for key in [key for key, lines in found.items() if not lines]:
        del found[key]


def _switch_language(page, base: str, locale: str) -> None:
    """The site's own language switch, as a visitor would use it."""
    page.goto(base + "/")
    if page.locator("html").get_attribute("lang") != locale:
        page.locator("form.lang button").click()
        page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == locale


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_page_passes_axe(live_server, browser, locale):
    app, base = live_server.app, live_server.url
    world = build_world(app)
    # The app's CSP (script-src 'self') rightly blocks the inline <script> that
    # add_script_tag injects: this test context alone bypasses CSP to load axe.
    context = browser.new_context(locale="fr-FR" if locale == "fr" else "en-GB",
                                  viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(status=204, body=""))
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        _switch_language(page, base, locale)
        pages = _pages(world)
        for path in pages["visitor"]:
            _check(page, base, path, found)
        # A sign-up form sent empty: the errors must be tied to their fields.
        page.goto(base + "/auth/signup")
        page.locator("form.stack button[type=submit]").last.click()
        page.wait_for_load_state("load")
        if violations := axe_violations(page):
            found["/auth/signup (errors)"] = violations

        page.goto(base + "/auth/login")
        page.fill("#email", world.viewer.email)
        page.fill("#password", PASSWORD)
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url(re.compile(r"/map"))
        _switch_language(page, base, locale)  # a new session follows the member's language
        for path in pages["member"]:
            _check(page, base, path, found)
        _check_states(page, base, world, found)
    finally:
        context.close()
    report = "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())
    assert not found, f"axe found violations ({locale}):\n{report}"


def _pane_x(page) -> float:
    return page.evaluate("() => new DOMMatrix(getComputedStyle(document.querySelector('.leaflet-map-pane')).transform).m41")


def test_the_map_speaks_the_page_language_and_keeps_still_for_reduced_motion(live_server, new_page):
    """Leaflet's zoom buttons are named in French on a French page; with reduced motion asked
    for, the map neither glides nor zooms with animations, and it still does otherwise."""
    member = Factory(live_server.app).member(language="fr")
    still = new_page(locale="fr-FR", reduced_motion="reduce")
    log_in_browser(still, live_server.url, member)
    zoom_in = still.locator(".leaflet-control-zoom-in")
    expect(zoom_in).to_have_attribute("title", "Zoom avant")
    expect(zoom_in).to_have_attribute("aria-label", "Zoom avant")
    expect(still.locator(".leaflet-control-zoom-out")).to_have_attribute("aria-label", "Zoom arrière")
    expect(still.locator("#map")).to_have_attribute("aria-describedby", "map-help")
    expect(still.locator("#map-help")).to_contain_text("Sur la carte")
    # No zoom animation proxy, no fading tiles.
    expect(still.locator(".leaflet-proxy")).to_have_count(0)
    expect(still.locator("#map")).not_to_have_class(re.compile(r"leaflet-fade-anim"))
    # An arrow key moves the map by its whole step at once (Leaflet glides over 0.25 s otherwise).
    still.locator("#map").focus()
    before = _pane_x(still)
    still.keyboard.press("ArrowRight")
    assert _pane_x(still) == before - 80
    assert still.errors == []

    moving = new_page(locale="fr-FR")
    log_in_browser(moving, live_server.url, member)
    expect(moving.locator(".leaflet-proxy")).to_have_count(1)
    expect(moving.locator("#map")).to_have_class(re.compile(r"leaflet-fade-anim"))

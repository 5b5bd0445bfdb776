"""Nothing wider than a 360 px phone, nothing too small to tap (issue 15, item 6).

Every page of the URL map a member reaches with a GET is opened in real Chromium at 360 × 800
as a member, a project owner and a moderator; the test fails when the page scrolls sideways
(document.scrollingElement.scrollWidth > innerWidth, or the screen's width: a phone widens its
layout viewport to fit a page too wide) or when an interactive element is
smaller than 24 × 24 CSS px (WCAG 2.5.8), leaving out, as WCAG does, links inside running text.

The page list comes from the app's URL map (as tests/test_authorization_matrix.py does): a
page added later is visited without touching this test; a new id argument makes it fail until
its name gets an object below (ARG_OBJECTS).
"""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 800}, "is_mobile": True, "has_touch": True}
# Not pages: files, fragments polled by htmx, downloads, links only e-mails carry.
SKIPPED = {
    "static", "images.serve", "pwa.manifest", "pwa.service_worker", "conversations.poll", "notifications.bell",
    "smiles.balance", "account.export", "map.markers", "map.nearest", "smiles.join", "auth.reset_password",
    "auth.sign_in", "auth.verify_email", "alerts.unsubscribe", "organisations.join",
    # A shared ad's public page needs its unguessable token: test_organisations_browser opens
    # it at 360 px.
    "listings.shared",
}
# Argument name -> key of the object each role's pages are opened with.
ARG_OBJECTS = {
    "listing_id": "listing", "conversation_id": "conversation", "project_id": "project", "mag_id": "mag",
    "article_id": "article", "target_id": "listing", "member_id": "organisation",
}
ARG_VALUES = {"target_type": "listing"}

# Runs in the page: what overflows, and which targets are smaller than 24 × 24.
CHECK = """() => {
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
    + ' "' + (el.textContent || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
  const result = {overflow: null, small: []};
  const root = document.scrollingElement;
  // A phone widens its layout viewport (innerWidth) to fit content too wide: the screen's
  // width is the phone's.
  const width = Math.min(innerWidth, screen.width);
  if (root.scrollWidth > width) {
    const wide = Array.from(document.querySelectorAll('body *')).filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > width + 1;
    });
    // The outermost culprits say the most.
    result.overflow = {scrollWidth: root.scrollWidth,
      culprits: wide.filter((el) => !wide.includes(el.parentElement)).slice(0, 5).map(describe)};
  }
  const targets = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(targets)) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || (box.width === 0 && box.height === 0)) continue; // not shown
    if (box.width <= 1 && box.height <= 1) continue; // for screen readers only
    if (el.classList.contains('skip') && box.bottom <= 0) continue; // the skip link, until focused
    if (box.width >= 24 && box.height >= 24) continue;
    if (el.tagName === 'A' && style.display === 'inline') {
      // A link in running text: its block holds more text than the link itself.
      let block = el.parentElement;
      while (block && getComputedStyle(block).display === 'inline') block = block.parentElement;
      if (block && block.textContent.trim().length > el.textContent.trim().length + 1) continue;
    }
    result.small.push(describe(el) + ' ' + Math.round(box.width) + '×' + Math.round(box.height));
  }
  return result;
}"""


def _world(app) -> dict:
    """A project owner, a member and a moderator, each with something on every kind of page:
    ads, a conversation, smiles moved, a project with pledges and volunteers, a mag, reports."""
    from onemile.extensions import db
    from onemile.models import Member, Project
    from onemile.projects import services as projects

    factory = Factory(app)
    owner = factory.member(first_name="Olga", last_name="Owner", email="olga@example.org")
    member = factory.member(first_name="Mia", last_name="Member", email="mia@example.org")
    modo = factory.moderator(factory.member(first_name="Modo", email="modo@example.org"))
    owner_ad = factory.listing(owner, kind="request", offer_type=None, title="Besoin d'une échelle de trois mètres")
    member_ad = factory.listing(member, title="Donne une perceuse sans fil avec ses deux batteries")
    modo_ad = factory.listing(modo, title="Prête une remorque de vélo")
    owner_talk = factory.conversation(member, owner_ad, "J'en ai une, je passe samedi ?",
                                      replies=((owner, "Parfait, merci beaucoup !"),))
    factory.completion(owner, owner_talk)  # a request: the author confirms, a smile moves
    member_talk = factory.conversation(modo, member_ad, "Toujours disponible ?", replies=((member, "Oui !"),))
    modo_talk = factory.conversation(owner, modo_ad, "Bonjour, pour dimanche ?")
    project = factory.project(owner, "Jardin partagé du Rebberg", approved_by=modo)
    factory.pledge(member, project, "20", "Pour les graines")
    factory.pledge(modo, project, "35", "Bon courage à toute l'équipe du jardin")
    with app.test_request_context():
        task_id = db.session.get(Project, project).tasks[0].id
        projects.volunteer(db.session.get(Member, member.id), project, task_id, "Je sais bricoler")
        db.session.commit()
    factory.project(member, "Boîte à livres de la place")  # waits for a moderator
    mag = factory.mag(owner, "Le mag du Rebberg")
    article = factory.article(owner, mag, "Fête des voisins", "Rendez-vous **samedi**.")
    factory.comment(member, mag, article, "Super idée !")
    factory.report(member, "listing", modo_ad, "spam", "Annonce en double")
    factory.report(owner, "member", member.id, "other", "Messages insistants")
    # Someone else's pages: an association's profile, organisation page and "give smiles".
    association = factory.member(kind="association", organisation_name="Les Jardiniers du Rebberg",
                                 email="jardiniers@example.org").id
    return {
        "member": (member, {"listing": member_ad, "conversation": member_talk, "project": project, "mag": mag,
                            "article": article, "organisation": association}),
        "owner": (owner, {"listing": owner_ad, "conversation": owner_talk, "project": project, "mag": mag,
                          "article": article, "organisation": association}),
        "moderator": (modo, {"listing": modo_ad, "conversation": modo_talk, "project": project, "mag": mag,
                             "article": article, "organisation": association}),
    }


def _pages(app, objects: dict) -> list[str]:
    """Every GET page of the URL map, its arguments filled with the role's objects."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        unknown = set(rule.arguments) - set(ARG_OBJECTS) - set(ARG_VALUES)
        assert not unknown, f"{rule.rule}: give {unknown} an object in ARG_OBJECTS (or skip the endpoint)"
        values = {name: objects[key] for name, key in ARG_OBJECTS.items() if name in rule.arguments}
        values.update({name: value for name, value in ARG_VALUES.items() if name in rule.arguments})
        with app.test_request_context():
            from flask import url_for

            pages.append(url_for(rule.endpoint, **values))
    return sorted(set(pages))


def check_page(page) -> list[str]:
    """What is wrong with the page shown, as readable lines (empty when it fits)."""
    found = page.evaluate(CHECK)
    problems = []
    if found["overflow"]:
        problems.append(f"{found['overflow']['scrollWidth']} px wide: {found['overflow']['culprits']}")
    problems += [f"too small: {target}" for target in found["small"]]
    return problems


def test_every_page_fits_a_360_px_phone_for_every_role(live_server, new_page):
    world = _world(live_server.app)
    problems: dict[str, list[str]] = {}
    visited = 0
    for role, (who, objects) in world.items():
        page = new_page(**PHONE)
        log_in_browser(page, live_server.url, who)
        for path in _pages(live_server.app, objects):
            response = page.goto(live_server.url + path)
            if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
                continue  # not this role's page (another's edit form): nothing drawn to measure
            page.wait_for_load_state("networkidle")
            visited += 1
            for problem in check_page(page):
                problems.setdefault(f"{role} {path}", []).append(problem)
    assert visited >= 60, visited  # three roles, some thirty pages each
    assert not problems, "\n".join(f"{where}: {what}" for where, whats in problems.items() for what in whats)


def test_the_check_sees_overflow_and_small_targets(live_server, new_page):
    """The check itself can fail: a wide table and a tiny button on a phone are caught, a
    link inside a sentence is not."""
    page = new_page(**PHONE)
    page.goto(live_server.url + "/offline")
    # Styles set through the CSSOM (the page's CSP refuses style attributes).
    page.evaluate("""() => {
      const main = document.querySelector('main');
      main.insertAdjacentHTML('beforeend', '<table><tr><td id="wide">wide</td></tr></table>'
        + '<p>Read <a href="/x">this</a> first, then go on.</p><button id="tiny">x</button>');
      document.getElementById('wide').style.minWidth = '600px';
      const tiny = document.getElementById('tiny');
      tiny.style.all = 'unset';
      tiny.style.fontSize = '10px';
    }""")
    problems = check_page(page)
    assert any(re.match(r"\d+ px wide", problem) for problem in problems), problems
    assert any("#tiny" in problem for problem in problems), problems
    assert not any('"this"' in problem for problem in problems), problems

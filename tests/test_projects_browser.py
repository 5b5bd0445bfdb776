"""Projects in real Chromium: Anne proposes a project on the form (the point picked on the
map), a moderator approves it from the queue, then Bruno finds it on the map, pledges money,
gives a smile and volunteers for a task, and Anne sees all three."""

from __future__ import annotations

import re

import pytest
from conftest import Factory, log_in_browser
from playwright.sync_api import expect
from sqlalchemy import select

from onemile.extensions import db
from onemile.models import Pledge, Project, Volunteer
from onemile.smiles.services import balance_of

pytestmark = pytest.mark.browser

TITLE = "A book box in Rebberg square"


def test_propose_approve_pledge_smile_and_volunteer(live_server, new_page):
    app, base = live_server.app, live_server.url
    factory = Factory(app)
    anne = factory.member(first_name="Anne", last_name="Martin", language="en")
    bruno = factory.member(first_name="Bruno", last_name="Petit", language="en")
    modo = factory.moderator(first_name="Modo", last_name="Rator", language="en")

    # Anne proposes: the point comes from a click on the form's map.
    a = new_page(locale="en-GB")
    log_in_browser(a, base, anne)
    a.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    a.get_by_role("link", name="Propose a project").first.click()
    a.get_by_label("Title").fill(TITLE)
    a.get_by_label("Summary").fill("A wooden box to take and leave books freely.")
    a.get_by_label("Description").fill("The bookshop gives the first books; we need a carpenter.")
    a.locator("#project-map").click(position={"x": 120, "y": 90})
    expect(a.get_by_label("Latitude")).not_to_have_value("")
    a.get_by_label("Money target in euros (optional)").fill("150")
    a.get_by_label("Task 1", exact=True).fill("Build the box")
    a.get_by_label("Skill needed for task 1").fill("Carpentry")
    # Without the charter: refused, and what was typed is kept.
    a.get_by_role("button", name="Send to a moderator").click()
    expect(a.locator("#charter-error")).to_contain_text("accept the charter")
    expect(a.get_by_label("Title")).to_have_value(TITLE)
    a.get_by_label(re.compile("I accept the charter")).check()
    a.get_by_role("button", name="Send to a moderator").click()
    a.wait_for_url(re.compile(r"/projects/\d+$"))
    project_id = int(re.search(r"/projects/(\d+)$", a.url).group(1))
    expect(a.locator("main")).to_contain_text("only you and the moderators can see it")

    # The moderator approves it from the queue.
    m = new_page(locale="en-GB")
    log_in_browser(m, base, modo)
    m.goto(f"{base}/projects/moderation")
    card = m.locator("article", has_text=TITLE)
    card.get_by_role("button", name="Approve").click()
    expect(m.locator(".flashes")).to_contain_text("approved and on the map")

    # Bruno finds it among the projects of his mile and supports it three ways.
    b = new_page(locale="en-GB")
    log_in_browser(b, base, bruno)
    b.goto(f"{base}/projects/")
    b.get_by_role("link", name=TITLE).click()
    b.wait_for_url(re.compile(rf"/projects/{project_id}$"))
    b.get_by_label("Amount in euros").fill("abc")
    b.get_by_role("button", name="Pledge", exact=True).click()
    expect(b.locator("#amount-error")).to_contain_text("Type an amount in euros")
    b.get_by_label("Amount in euros").fill("12,50")
    b.get_by_label("Message to the project (optional)").fill("For the hinges")
    b.get_by_role("button", name="Pledge", exact=True).click()
    expect(b.locator(".flashes")).to_contain_text("Thank you for your pledge")
    expect(b.locator("#support")).to_contain_text("€12.50 pledged of €150.00")
    # The page opens at #support: the thanks is there, in sight, not at the top of the page.
    expect(b.locator("#support > .flashes")).to_be_in_viewport()

    b.get_by_role("button", name="Give", exact=True).click()
    expect(b.locator(".flashes")).to_contain_text("Your smiles went to the project")
    expect(b.locator("#balance")).to_contain_text("0 smiles")
    expect(b.locator("#support")).to_contain_text("1 smile given by supporters")

    b.get_by_label("What you can do for “Build the box”").fill("I have a workshop and tools.")
    b.get_by_role("button", name="Volunteer").click()
    expect(b.locator("#task-" + str(_task_id(app, project_id)))).to_contain_text("You offered to help")

    # Anne sees the pledger's contact, accepts the volunteer; he is listed on the task.
    a.reload()
    owner = a.locator("#owner")
    expect(owner).to_contain_text(bruno.email)
    expect(owner).to_contain_text("For the hinges")
    owner.get_by_role("button", name="Accept").click()
    expect(a.locator(f"#task-{_task_id(app, project_id)}")).to_contain_text("Volunteers: Bruno P.")
    expect(a.locator("#support")).to_contain_text("1 of 1 tasks has a volunteer")

    with app.app_context():
        assert db.session.get(Project, project_id).status == "approved"
        assert db.session.scalar(select(Pledge.amount_cents)) == 1250
        assert db.session.scalar(select(Volunteer.status)) == "accepted"
        assert balance_of(bruno.id) == 0
    for page in (a, m, b):
        # The refused forms above answer 422 on purpose; Chromium logs that as a console error.
        assert [error for error in page.errors if "status of 422" not in error] == []


def _task_id(app, project_id: int) -> int:
    with app.app_context():
        return db.session.get(Project, project_id).tasks[0].id

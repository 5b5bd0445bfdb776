"""Projects of general interest: propose, moderate, support (pledges, smiles, skills), follow
and close; nothing pending or rejected leaks; photos are re-encoded. Both backends."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import PASSWORD, SIGNUP, verification_link
from helpers import assert_see_other, csrf_token_in, html
from PIL import Image
from sqlalchemy import func, select

from onemile.auth.gate import EmailNotVerified
from onemile.extensions import db
from onemile.models import (
    Account,
    Member,
    Notification,
    Pledge,
    Project,
    ProjectTask,
    ProjectUpdate,
    Report,
    Transfer,
    Volunteer,
)
from onemile.moderation import services as moderation
from onemile.projects import services
from onemile.smiles.services import balance_of, mint, verify

GARDEN = {
    "title": "Jardin partagé du Rebberg",
    "summary": "Des bacs potagers ouverts à tous les voisins.",
    "description": "Nous installons six bacs, un composteur et un récupérateur d'eau.",
    "latitude": "47,7385",
    "longitude": "7.3305",
    "money_target": "500",
    "tasks-0-title": "Construire les bacs",
    "tasks-0-skill": "Menuiserie",
    "tasks-1-title": "Arroser en août",
    "tasks-1-skill": "Jardinage",
    "tasks-2-title": "",
    "tasks-2-skill": "",
    "charter": "y",
}
MULHOUSE_BOX = {"south": 47.70, "west": 7.25, "north": 47.80, "east": 7.40}


def _propose(client, auth, member, **changes):
    auth.login(member)
    response = client.post("/projects/new", data={**GARDEN, **changes})
    auth.logout()
    return response


def _project_id(response) -> int:
    return int(re.search(r"/projects/(\d+)", response.headers["Location"]).group(1))


@pytest.fixture
def garden(client, auth, anne):
    """Anne's project, pending."""
    response = _propose(client, auth, anne)
    assert_see_other(response)  # response.get_data(as_text=True)
    return _project_id(response)


@pytest.fixture
def modo(app, factory):
    return factory.moderator()


@pytest.fixture
def approved(app, client, auth, garden, modo):
    """Anne's project, approved by the moderator."""
    auth.login(modo)
    assert client.post(f"/projects/{garden}/approve").status_code == 303
    auth.logout()
    return garden


def _status(app, project_id) -> str:
    with app.app_context():
        return db.session.get(Project, project_id).status


def _can_find(client, project_id: int) -> dict[str, bool]:
    """Every way a member or visitor could come across the project."""
    page = client.get(f"/projects/{project_id}")
    markers = client.get("/map/markers", query_string=MULHOUSE_BOX, headers={"HX-Request": "true"}).get_data(as_text=True)
    found = {
        "page": page.status_code == 200,
        "map": f'data-id="projects-{project_id}"' in markers,
    }
    listing = client.get("/projects/")
    if listing.status_code == 200:
        found["mile list"] = f"/projects/{project_id}\"" in listing.get_data(as_text=True)
        area = client.get("/projects/", query_string=MULHOUSE_BOX).get_data(as_text=True)
        found["area list"] = f"/projects/{project_id}\"" in area
    return found


# --- Proposing -----------------------------------------------------------------------------


def test_a_proposed_project_waits_invisible_to_others(app, client, auth, anne, bruno, modo, garden):
    with app.app_context():
        project = db.session.get(Project, garden)
        assert project.status == "pending" and project.money_target == 500
        assert [(t.title, t.skill) for t in project.tasks] == [
            ("Construire les bacs", "Menuiserie"), ("Arroser en août", "Jardinage")
        ]
        assert round(project.latlon.lat, 4) == 47.7385  # the decimal comma was read
        # The moderators are told.
        assert db.session.scalar(select(Notification.kind).where(Notification.member_id == modo.id)) == "project_submitted"

    # Nobody else finds it: not Bruno, not a visitor, by no path.
    auth.login(bruno)
    assert not any(_can_find(client, garden).values())
    auth.logout()
    assert not any(_can_find(client, garden).values())
    # The owner reads it (and is told it waits); so does the moderator.
    auth.login(anne)
    page = client.get(f"/projects/{garden}")
    assert page.status_code == 200 and "waits for a moderator" in page.get_data(as_text=True)
    assert "Jardin partagé du Rebberg" in client.get("/projects/mine").get_data(as_text=True)
    auth.logout()
    auth.login(modo)
    assert client.get(f"/projects/{garden}").status_code == 200
    assert "Jardin partagé du Rebberg" in client.get("/projects/moderation").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"charter": ""}, "accept the charter"),
        ({"title": "   "}, "Give a title"),
        ({"summary": ""}, "Write a summary"),
        ({"latitude": "95", "longitude": "7"}, "latitude from -90 to 90"),
        ({"latitude": "", "longitude": ""}, "Pick the place on the map"),
        ({"money_target": "beaucoup"}, "Type an amount in euros"),
        ({"money_target": "-20"}, "Type an amount in euros"),
        ({"money_target": "0"}, "above zero"),
        ({"money_target": "12,50"}, "whole number of euros"),
        ({"money_target": "5000000"}, "cannot be above"),
        ({"tasks-0-skill": ""}, "both what to do and the skill"),
    ],
)
def test_a_bad_proposal_is_refused_with_the_form_kept(app, client, auth, anne, changes, message):
    response = _propose(client, auth, anne, **changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Des bacs potagers ouverts à tous les voisins." in page or changes.get("summary") == ""
    assert "Construire les bacs" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_proposing_is_rate_limited(make_app):
    from conftest import Factory

    app = make_app(RATELIMIT_ENABLED=True)
    member = Factory(app).member()
    client = app.test_client()
    client.post("/auth/login", data={"email": member.email, "password": member.password})
    codes = [client.post("/projects/new", data=GARDEN).status_code for _ in range(6)]
    assert codes[:5] == [303] * 5 and codes[5] == 429


def test_forms_carry_csrf_and_refuse_without_it(make_app):
    from conftest import Factory

    app = make_app(WTF_CSRF_ENABLED=True)
    anne = Factory(app).member()
    client = app.test_client()
    login = client.get("/auth/login").get_data(as_text=True)
    token = csrf_token_in(login)
    client.post("/auth/login", data={"email": anne.email, "password": anne.password, "csrf_token": token})
    form = client.get("/projects/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form
    assert client.post("/projects/new", data=GARDEN).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0


# --- Moderation ----------------------------------------------------------------------------


def test_only_moderators_moderate(app, client, auth, anne, bruno, garden):
    for member in (anne, bruno):  # the owner is no moderator either
        auth.login(member)
        assert client.get("/projects/moderation").status_code == 404
        assert client.post(f"/projects/{garden}/approve").status_code == 404
        assert client.post(f"/projects/{garden}/reject", data={"reason": "non"}).status_code == 404
        auth.logout()
    assert _status(app, garden) == "pending"


def test_a_moderator_cannot_approve_their_own_project(app, client, auth, factory):
    modo = factory.moderator()
    project_id = _project_id(_propose(client, auth, modo))
    auth.login(modo)
    client.post(f"/projects/{project_id}/approve")
    assert _status(app, project_id) == "pending"


def test_approval_publishes_the_project_everywhere(app, client, auth, anne, bruno, approved):
    auth.login(bruno)
    assert _can_find(client, approved) == {"page": True, "map": True, "mile list": True, "area list": True}
    auth.logout()
    # Visitors read the page (the marker is public) and see it on the explore map.
    found = _can_find(client, approved)
    assert found == {"page": True, "map": True}
    markers = client.get("/map/markers", query_string=MULHOUSE_BOX, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'href="/projects/{approved}"' in markers
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).where(Notification.member_id == anne.id)).all()
        assert "project_approved" in kinds
        assert db.session.scalar(select(Account.kind).where(Account.project_id == approved)) == "project"


def test_rejection_reason_then_edit_and_resubmit(app, client, auth, anne, bruno, modo, garden):
    auth.login(modo)
    empty = client.post(f"/projects/{garden}/reject", data={"reason": "  "})
    assert empty.status_code == 422 and "Tell the proposer why" in empty.get_data(as_text=True)
    assert client.post(f"/projects/{garden}/reject", data={"reason": "Précisez le lieu exact."}).status_code == 303
    auth.logout()
    assert _status(app, garden) == "rejected"

    auth.login(bruno)
    assert not any(_can_find(client, garden).values())
    assert client.get(f"/projects/{garden}/edit").status_code == 404
    auth.logout()

    auth.login(anne)
    page = client.get(f"/projects/{garden}").get_data(as_text=True)
    assert "Précisez le lieu exact." in page
    form = client.get(f"/projects/{garden}/edit").get_data(as_text=True)
    assert "Précisez le lieu exact." in form and "Construire les bacs" in form
    edited = client.post(f"/projects/{garden}/edit", data={**GARDEN, "title": "Jardin partagé, rue de la Mer Rouge"})
    assert_see_other(edited)
    with app.app_context():
        project = db.session.get(Project, garden)
        assert (project.status, project.rejection_reason, project.title) == (
            "pending", None, "Jardin partagé, rue de la Mer Rouge"
        )
        told = db.session.scalars(select(Notification.kind).where(Notification.member_id == modo.id)).all()
        assert told.count("project_submitted") == 2


def test_another_member_cannot_edit_approve_or_close(app, client, auth, bruno, approved):
    auth.login(bruno)
    assert client.get(f"/projects/{approved}/edit").status_code == 404
    assert client.post(f"/projects/{approved}/edit", data=GARDEN).status_code == 404
    assert client.post(f"/projects/{approved}/close", data={"outcome": "abandoned"}).status_code == 404
    assert client.post(f"/projects/{approved}/updates", data={"body": "Spam"}).status_code == 404
    assert _status(app, approved) == "approved"


def test_guessed_urls_of_unknown_projects_are_404(client, auth, bruno):
    auth.login(bruno)
    for url in ("/projects/999", "/projects/2147483647", "/projects/99999999999"):
        assert client.get(url).status_code == 404
    assert client.post("/projects/999/pledge", data={"amount": "5"}).status_code == 404


# --- Pledges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "Type an amount in euros"),
        ("0", "above zero"),
        ("0,00", "above zero"),
        ("", "Type the amount you promise"),
        ("vingt", "Type an amount in euros"),
        ("1e9", "Type an amount in euros"),
        ("NaN", "Type an amount in euros"),
        ("12,505", "at most two decimals"),
        ("99999999", "cannot be above"),
        ("1" * 19, "cannot be above"),
    ],
)
def test_bad_pledges_get_a_clear_error_and_keep_the_form(app, client, auth, bruno, approved, amount, message):
    auth.login(bruno)
    response = client.post(f"/projects/{approved}/pledge", data={"amount": amount, "message": "Bravo à vous"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Bravo à vous" in page
    assert 'aria-invalid="true"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0


def test_a_pledge_is_a_promise_the_owner_settles(app, client, auth, anne, bruno, approved):
    auth.login(bruno)
    assert client.post(f"/projects/{approved}/pledge", data={"amount": "12,50", "message": "Pour les graines"}).status_code == 303
    assert client.post(f"/projects/{approved}/pledge", data={"amount": "100 €"}).status_code == 303
    # The pledger does not see other pledgers' contacts.
    assert bruno.email not in client.get(f"/projects/{approved}").get_data(as_text=True)
    auth.logout()

    auth.login(anne)
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    assert bruno.email in page and "Pour les graines" in page
    assert "€112.50 pledged of €500.00" in page
    with app.app_context():
        first = db.session.scalar(select(Pledge).where(Pledge.amount_cents == 1250))
        assert first.member_id == bruno.id
    assert client.post(f"/projects/{approved}/pledges/{first.id}/received").status_code == 303
    assert "€12.50 received of €500.00" in client.get(f"/projects/{approved}").get_data(as_text=True)
    auth.logout()
    # Nobody else marks it received.
    auth.login(bruno)
    assert client.post(f"/projects/{approved}/pledges/{first.id}/received", data={"received": "0"}).status_code == 404
    with app.app_context():
        assert db.session.get(Pledge, first.id).received_at is not None


def test_a_double_submitted_pledge_is_recorded_once(app, client, auth, anne, bruno, approved):
    auth.login(bruno)
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    key = re.search(r'id="pledge-key" name="key" type="hidden" value="([^"]+)"', page).group(1)
    for _ in range(2):
        assert client.post(f"/projects/{approved}/pledge", data={"amount": "10", "key": key}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 1
        assert db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "project_pledge")
        ) == 1
    # A fresh form is a new promise.
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    assert "You pledged €10.00" in page
    key = re.search(r'id="pledge-key" name="key" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/projects/{approved}/pledge", data={"amount": "10", "key": key})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 2


def test_the_owner_cannot_support_their_own_project(app, client, auth, anne, approved):
    auth.login(anne)
    response = client.post(f"/projects/{approved}/pledge", data={"amount": "10"})
    assert response.status_code == 422 and "your own project" in response.get_data(as_text=True)


# --- Smiles --------------------------------------------------------------------------------


def _key(client, project_id) -> str:
    page = client.get(f"/projects/{project_id}").get_data(as_text=True)
    return re.search(r'id="smiles-key" name="key" type="hidden" value="([^"]+)"', page).group(1)


def test_smiles_go_to_the_project_once_per_form(app, client, auth, anne, bruno, approved):
    with app.test_request_context():
        mint(bruno.id, 4, "referral_bonus", "test:bruno")
        db.session.commit()
    auth.login(bruno)
    key = _key(client, approved)
    # A double click sends the same form twice: one transfer.
    for _ in range(2):
        assert client.post(f"/projects/{approved}/smiles", data={"amount": "2", "key": key}).status_code == 303
    with app.app_context():
        assert balance_of(bruno.id) == 3
        account = db.session.scalar(select(Account).where(Account.project_id == approved))
        assert account.balance == 2
        assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.reason == "project_support")) == 1
        assert db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "project_smiles")
        ) == 1
    # The same key for a different amount is refused, not paid.
    replay = client.post(f"/projects/{approved}/smiles", data={"amount": "1", "key": key})
    assert replay.status_code == 422
    # More than the balance and the credit (3 + 5): a clear refusal, nothing moves.
    over = client.post(f"/projects/{approved}/smiles", data={"amount": "9", "key": _key(client, approved)})
    assert over.status_code == 422 and "below your credit limit of −5 smiles" in over.get_data(as_text=True)
    for bad, message in (("0", "at least one"), ("-1", "at least one"), ("deux", "whole number"), ("1000", "At most 100")):
        response = client.post(f"/projects/{approved}/smiles", data={"amount": bad, "key": _key(client, approved)})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    missing_key = client.post(f"/projects/{approved}/smiles", data={"amount": "1", "key": ""})
    assert missing_key.status_code == 422 and "expired" in missing_key.get_data(as_text=True)
    with app.app_context():
        assert balance_of(bruno.id) == 3
        assert verify() == []


def test_volunteers_offer_skills_and_are_thanked_with_the_projects_smiles(app, client, auth, anne, bruno, factory, approved):
    claire = factory.member(first_name="Claire", language="en")
    with app.app_context():
        project = db.session.get(Project, approved)
        task_id = project.tasks[0].id
        other_task = project.tasks[1].id
    auth.login(bruno)
    empty = client.post(f"/projects/{approved}/tasks/{task_id}/volunteer", data={f"task-{task_id}-message": ""})
    assert empty.status_code == 422 and "what you can do" in empty.get_data(as_text=True)
    ok = client.post(f"/projects/{approved}/tasks/{task_id}/volunteer", data={f"task-{task_id}-message": "Je suis menuisier."})
    assert_see_other(ok)
    twice = client.post(f"/projects/{approved}/tasks/{task_id}/volunteer", data={f"task-{task_id}-message": "Encore"})
    assert twice.status_code == 422 and "already offered" in twice.get_data(as_text=True)
    # A task of another project through this project's URL: not found.
    assert client.post(f"/projects/{approved}/tasks/999/volunteer", data={"task-999-message": "x"}).status_code == 404
    client.post(f"/projects/{approved}/smiles", data={"amount": "1", "key": _key(client, approved)})
    auth.logout()

    with app.app_context():
        offer = db.session.scalar(select(Volunteer).where(Volunteer.member_id == bruno.id))
    auth.login(claire)  # not the owner
    assert client.post(f"/projects/{approved}/volunteers/{offer.id}/accept").status_code == 404
    assert client.post(f"/projects/{approved}/volunteers/{offer.id}/smiles", data={"amount": "1", "key": "k" * 22}).status_code == 404
    auth.logout()

    auth.login(anne)
    # Not yet accepted: no smiles.
    refused = client.post(f"/projects/{approved}/volunteers/{offer.id}/smiles", data={"amount": "1", "key": "a" * 22})
    assert refused.status_code == 422 and "accepted volunteers only" in refused.get_data(as_text=True)
    assert client.post(f"/projects/{approved}/volunteers/{offer.id}/accept").status_code == 303
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    assert "Volunteers: Bruno D." in page and "1 of 2 tasks has a volunteer" in page
    too_many = client.post(f"/projects/{approved}/volunteers/{offer.id}/smiles", data={"amount": "2", "key": "b" * 22})
    assert too_many.status_code == 422 and "does not hold that many" in too_many.get_data(as_text=True)
    for _ in range(2):
        assert client.post(f"/projects/{approved}/volunteers/{offer.id}/smiles", data={"amount": "1", "key": "c" * 22}).status_code == 303
    assert other_task
    with app.app_context():
        assert balance_of(bruno.id) == 1  # gave 1, received 1 back
        assert db.session.scalar(select(Account.balance).where(Account.project_id == approved)) == 0
        kinds = db.session.scalars(select(Notification.kind).where(Notification.member_id == bruno.id)).all()
        assert {"volunteer_accepted", "project_smiles_passed"} <= set(kinds)
        assert verify() == []


# --- Following and closing -----------------------------------------------------------------


def test_updates_notify_supporters_and_closing_takes_it_off_the_map(app, client, auth, anne, bruno, factory, approved, outbox):
    claire = factory.member(first_name="Claire", language="en")
    auth.login(bruno)
    client.post(f"/projects/{approved}/pledge", data={"amount": "5"})
    auth.logout()
    auth.login(anne)
    assert client.post(f"/projects/{approved}/updates", data={"body": ""}).status_code == 422
    assert client.post(f"/projects/{approved}/updates", data={"body": "Les bacs sont montés !"}).status_code == 303
    assert client.post(f"/projects/{approved}/close", data={}).status_code == 422
    assert client.post(f"/projects/{approved}/close", data={"outcome": "completed"}).status_code == 303
    auth.logout()
    with app.app_context():
        told = db.session.scalars(select(Notification.kind).where(Notification.member_id == bruno.id)).all()
        assert {"project_update", "project_closed"} <= set(told)
        assert not db.session.scalar(select(Notification.id).where(Notification.member_id == claire.id))
    news = [p.read_text() for p in outbox.glob("*.eml") if "News from" in p.read_text()]
    assert len(news) == 1 and f"/projects/{approved}" in news[0]  # Bruno's, linking to the project

    auth.login(bruno)
    notifications = client.get("/notifications/").get_data(as_text=True)
    assert "News from “Jardin partagé du Rebberg”, a project you support" in notifications
    assert f'href="/projects/{approved}"' in notifications
    found = _can_find(client, approved)
    assert found["page"] and not found["map"] and not found["mile list"]
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    assert "Completed" in page and "Les bacs sont montés !" in page
    refused = client.post(f"/projects/{approved}/pledge", data={"amount": "5"})
    assert refused.status_code == 422 and "not open to support" in refused.get_data(as_text=True)


def test_pending_projects_are_not_open_to_support(app, client, auth, bruno, garden):
    auth.login(bruno)
    assert client.post(f"/projects/{garden}/pledge", data={"amount": "5"}).status_code == 404
    assert client.post(f"/projects/{garden}/smiles", data={"amount": "1", "key": "k" * 22}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0
        assert balance_of(bruno.id) == 1


def test_projects_pages_speak_french(app, client, auth, factory, approved):
    marie = factory.member(first_name="Marie", language="fr")
    auth.login(marie)
    page = client.get(f"/projects/{approved}").get_data(as_text=True)
    assert "Promettre de l’argent" in page or "Promettre" in page
    assert "500,00\xa0€" in page
    assert "Projets" in client.get("/projects/").get_data(as_text=True)


# --- Photos --------------------------------------------------------------------------------


def _jpeg_with_gps(width=2400, height=1200) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    gps = exif.get_ifd(0x8825)  # where the photo was taken
    gps[1], gps[2] = "N", (47.0, 44.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def uploads_app(make_app, tmp_path):
    # A 200 kB limit stands for the real 8 MB one: the "too large" case stays small in memory.
    return make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), IMAGE_MAX_BYTES=200_000)


def test_a_photo_is_reencoded_without_metadata_and_served(uploads_app, tmp_path):
    from conftest import Factory

    app = uploads_app
    anne = Factory(app).member(language="en")
    client = app.test_client()
    client.post("/auth/login", data={"email": anne.email, "password": anne.password})
    original = _jpeg_with_gps()
    assert b"SpyCam" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    response = client.post(
        "/projects/new", data={**GARDEN, "photo": (io.BytesIO(original), "garden.jpg")}, content_type="multipart/form-data"
    )
    assert_see_other(response)
    with app.app_context():
        name = db.session.scalar(select(Project.photo))
    # onemile.images stores re-encoded JPEG sizes under a random name; never the upload.
    assert re.fullmatch(r"[0-9a-f]{32}_1600x800", name)
    served = client.get(f"/images/{name}/large.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"SpyCam" not in served.data and b"Exif" not in served.data
    served.close()
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and image.size == (1600, 800) and not image.getexif()
    stored = sorted(p.name for p in (tmp_path / "uploads").rglob("*") if p.is_file())
    assert stored and all(name in stored_name for stored_name in stored)  # no original kept
    page = client.get(f"/projects/{db_project_id(app)}").get_data(as_text=True)
    assert f"/images/{name}/phone.jpg" in page and "srcset=" in page
    for bad in ("../secret_key/large.jpg", "x/large.jpg", f"{name}/original.jpg"):
        assert client.get(f"/images/{bad}").status_code == 404


def db_project_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Project.id))


def _png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions (a decompression bomb's shape)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<?php echo 'hi'; ?>", "not a photo we can read"),
        (b"GIF89a" + b"\0" * 20, "not a photo we can read"),
        (_png_header(50_000, 50_000), "too large to be opened safely"),
        (_jpeg_with_gps(100, 100) + b"\0" * 210_000, "too heavy"),
        (b"", "The file is empty"),
    ],
)
def test_a_bad_photo_is_refused_with_the_form_kept(uploads_app, tmp_path, payload, message):
    from conftest import Factory

    app = uploads_app
    anne = Factory(app).member(language="en")
    client = app.test_client()
    client.post("/auth/login", data={"email": anne.email, "password": anne.password})
    response = client.post(
        "/projects/new", data={**GARDEN, "photo": (io.BytesIO(payload), "photo.jpg")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "Construire les bacs" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0
    assert not (tmp_path / "uploads").exists() or not list((tmp_path / "uploads").iterdir())



def test_the_project_page_runs_a_fixed_number_of_queries(make_app):
    """No N+1 on the owner's page, whatever the number of pledges and volunteers."""
    from conftest import AuthActions, Factory
    from test_query_counts import counted

    counts = []
    for supporters in (1, 6):
        app = make_app()
        factory = Factory(app)
        owner, modo = factory.member(), factory.moderator()
        client = app.test_client()
        auth = AuthActions(client)
        project_id = _project_id(_propose(client, auth, owner))
        auth.login(modo)
        client.post(f"/projects/{project_id}/approve")
        auth.logout()
        with app.app_context():
            task_ids = [task.id for task in db.session.get(Project, project_id).tasks]
        for i in range(supporters):
            member = factory.member(first_name=f"Soutien{i}")
            auth.login(member)
            client.post(f"/projects/{project_id}/pledge", data={"amount": "5"})
            for task_id in task_ids:
                client.post(f"/projects/{project_id}/tasks/{task_id}/volunteer", data={f"task-{task_id}-message": "Oui"})
            auth.logout()
        auth.login(owner)
        with counted(app) as statements:
            assert client.get(f"/projects/{project_id}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 18, counts


# === Trust and safety (issue #6): verification, blocks, suspension, reports, my data ========


def _rows(app) -> dict[str, int]:
    with app.app_context():
        return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Project, ProjectTask, Pledge, Volunteer, ProjectUpdate, Transfer)}


def _first_task(app, project_id: int) -> int:
    with app.app_context():
        return db.session.get(Project, project_id).tasks[0].id


def _support(client, project_id: int, task_id: int) -> list[int]:
    """Status codes of a pledge, a gift of smiles and an offer to volunteer."""
    return [
        client.post(f"/projects/{project_id}/pledge", data={"amount": "10", "key": "k" * 22}).status_code,
        client.post(f"/projects/{project_id}/smiles", data={"amount": "1", "key": "s" * 22}).status_code,
        client.post(f"/projects/{project_id}/tasks/{task_id}/volunteer",
                    data={f"task-{task_id}-message": "I can help"}).status_code,
    ]


# --- Verification ------------------------------------------------------------------------------


def test_an_unverified_member_browses_projects_but_cannot_propose_nor_support(app, client, approved, outbox):
    task_id = _first_task(app, approved)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.post("/auth/signup", data=SIGNUP).status_code == 303
    assert verification_link(outbox, SIGNUP["email"])
    # Logged in with the password, before opening the e-mailed link: not verified yet.
    assert client.post("/auth/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"]}).status_code == 303
    before = _rows(app)
    for path in ("/projects/", f"/projects/{approved}", "/projects/mine"):
        assert client.get(path).status_code == 200, path
    refused = client.get("/projects/new")
    assert refused.status_code == 403 and "Confirm your e-mail address" in html(refused)
    assert client.post("/projects/new", data=GARDEN).status_code == 403
    assert _support(client, approved, task_id) == [403, 403, 403]
    assert _rows(app) == before

    # The services refuse too, whatever route calls them.
    with app.test_request_context():
        member = db.session.scalar(select(Member).where(Member.email == SIGNUP["email"]))
        mint(member.id, 3, "referral_bonus", "test:unverified")
        db.session.commit()
    before = _rows(app)
    with app.test_request_context():
        member = db.session.scalar(select(Member).where(Member.email == SIGNUP["email"]))
        for action in (
            lambda: services.pledge(member, approved, "10", None, "k" * 22),
            lambda: services.give_smiles(member, approved, 1, "s" * 22),
            lambda: services.volunteer(member, approved, task_id, "I can help"),
            lambda: services.propose(member, services.ProjectData("t", "s", "d", None, None, charter_accepted=True)),
        ):
            with pytest.raises(EmailNotVerified):
                action()
    assert _rows(app) == before


# --- Blocks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who_blocks", ["owner", "supporter"])
def test_a_block_either_way_hides_the_project_and_stops_support(app, client, auth, anne, bruno, factory, approved, who_blocks):
    task_id = _first_task(app, approved)
    carla = factory.member(language="en", first_name="Carla")
    blocker, blocked = (anne, bruno) if who_blocks == "owner" else (bruno, anne)
    auth.login(blocker)
    assert client.post(f"/account/blocks/{blocked.id}").status_code == 303
    auth.logout()

    with app.test_request_context():
        mint(bruno.id, 3, "referral_bonus", "test:bruno")
        db.session.commit()
    before = _rows(app)
    auth.login(bruno)
    assert not any(_can_find(client, approved).values())
    assert _support(client, approved, task_id) == [404, 404, 404]
    assert _rows(app) == before
    auth.logout()
    # Anne still reads her own project; Carla sees it everywhere.
    auth.login(anne)
    assert client.get(f"/projects/{approved}").status_code == 200
    auth.logout()
    auth.login(carla)
    assert all(_can_find(client, approved).values())
    auth.logout()

    # Unblocked: everything is back.
    auth.login(blocker)
    client.post(f"/account/blocks/{blocked.id}/delete")
    auth.logout()
    auth.login(bruno)
    assert all(_can_find(client, approved).values())
    assert _support(client, approved, task_id) == [303, 303, 303]


# --- Suspension ------------------------------------------------------------------------------


def test_a_suspended_members_projects_disappear_until_reinstated(app, client, auth, anne, bruno, modo, approved):
    with app.app_context():
        moderation.suspend(db.session.get(Member, anne.id))
        db.session.commit()
    auth.login(bruno)
    assert not any(_can_find(client, approved).values())
    assert _support(client, approved, _first_task(app, approved)) == [404, 404, 404]
    auth.logout()
    assert not any(_can_find(client, approved).values())  # a visitor
    auth.login(modo)
    assert client.get(f"/projects/{approved}").status_code == 200  # moderators still read it
    auth.logout()

    with app.app_context():
        moderation.reinstate(db.session.get(Member, anne.id))
        db.session.commit()
    auth.login(bruno)
    assert all(_can_find(client, approved).values())


# --- Reports and hiding ------------------------------------------------------------------------


def test_a_reported_project_hidden_by_a_moderator_is_gone_until_unhidden(app, client, auth, anne, bruno, modo, approved):
    auth.login(anne)
    own_page = html(client.get(f"/projects/{approved}"))
    assert "Report this project" not in own_page  # nobody reports themselves
    assert client.get(f"/report/project/{approved}").status_code == 404
    auth.logout()

    auth.login(bruno)
    page = html(client.get(f"/projects/{approved}"))
    assert f"/report/project/{approved}" in page and "Report this project" in page
    assert "Report Anne M." in page
    form = client.get(f"/report/project/{approved}")
    assert form.status_code == 200 and "Jardin partagé du Rebberg" in html(form)
    assert client.post(f"/report/project/{approved}", data={"reason": "scam", "details": "Not a real garden"}).status_code == 303
    auth.logout()

    auth.login(modo)
    queue = html(client.get("/moderation/"))
    assert "Jardin partagé du Rebberg" in queue and "Not a real garden" in queue
    assert client.post(f"/moderation/project/{approved}", data={"action": "hide", "reason": ""}).status_code == 303
    hidden_page = client.get(f"/projects/{approved}")
    assert hidden_page.status_code == 200 and "A moderator hid this project" in html(hidden_page)
    auth.logout()
    with app.app_context():
        assert db.session.get(Project, approved).hidden_at is not None
        assert db.session.scalar(select(Report.status)) == "resolved"

    for member in (bruno, anne, None):  # the owner too, as for a hidden ad
        if member:
            auth.login(member)
        assert not any(_can_find(client, approved).values()), member
        if member:
            auth.logout()
    auth.login(anne)
    assert "Hidden by a moderator" in html(client.get("/projects/mine"))
    refused = client.post(f"/projects/{approved}/updates", data={"body": "News"}, follow_redirects=True)
    assert refused.status_code == 404 or "A moderator hid this project" in html(refused)
    auth.logout()
    auth.login(bruno)
    assert _support(client, approved, _first_task(app, approved)) == [404, 404, 404]
    assert client.get(f"/report/project/{approved}").status_code == 404
    auth.logout()

    auth.login(modo)
    assert client.post(f"/moderation/project/{approved}", data={"action": "unhide"}).status_code == 303
    auth.logout()
    auth.login(bruno)
    assert all(_can_find(client, approved).values())


def test_a_reported_piece_of_news_can_be_hidden_alone(app, client, auth, anne, bruno, modo, approved):
    auth.login(anne)
    client.post(f"/projects/{approved}/updates", data={"body": "The boxes are built"})
    client.post(f"/projects/{approved}/updates", data={"body": "Rude words about the neighbours"})
    auth.logout()
    with app.app_context():
        rude = db.session.scalar(select(ProjectUpdate.id).where(ProjectUpdate.body.like("Rude%")))
    auth.login(bruno)
    assert f"/report/project_update/{rude}" in html(client.get(f"/projects/{approved}"))
    assert client.post(f"/report/project_update/{rude}", data={"reason": "offensive"}).status_code == 303
    auth.logout()
    auth.login(modo)
    assert "Rude words about the neighbours" in html(client.get("/moderation/"))
    assert client.post(f"/moderation/project_update/{rude}", data={"action": "hide"}).status_code == 303
    auth.logout()
    for member in (bruno, anne):
        auth.login(member)
        page = html(client.get(f"/projects/{approved}"))
        assert "The boxes are built" in page and "Rude words" not in page
        auth.logout()
    auth.login(bruno)
    assert client.get(f"/report/project_update/{rude}").status_code == 404


# --- My data -------------------------------------------------------------------------------------


@pytest.fixture
def supported(app, client, auth, anne, bruno, approved):
    """Anne's approved garden, with news; Bruno pledged, gave smiles and volunteered."""
    task_id = _first_task(app, approved)
    auth.login(anne)
    client.post(f"/projects/{approved}/updates", data={"body": "The boxes are built"})
    auth.logout()
    with app.test_request_context():
        mint(bruno.id, 4, "referral_bonus", "test:bruno")
        db.session.commit()
    auth.login(bruno)
    assert client.post(f"/projects/{approved}/pledge", data={"amount": "12,50", "message": "Pour les graines"}).status_code == 303
    assert client.post(f"/projects/{approved}/smiles", data={"amount": "2", "key": _key(client, approved)}).status_code == 303
    assert client.post(f"/projects/{approved}/tasks/{task_id}/volunteer",
                       data={f"task-{task_id}-message": "Je suis menuisier."}).status_code == 303
    auth.logout()
    return approved


def test_the_download_holds_my_projects_and_my_support(app, client, auth, anne, bruno, supported):
    auth.login(anne)
    mine = json.loads(client.get("/account/export").get_data())
    [project] = mine["projects"]
    assert project["id"] == supported and project["status"] == "approved"
    assert [t["skill"] for t in project["tasks"]] == ["Menuiserie", "Jardinage"]
    assert [u["body"] for u in project["updates"]] == ["The boxes are built"]
    assert mine["pledges"] == [] and mine["volunteering"] == [] and mine["project_smiles"] == []
    text = client.get("/account/export").get_data(as_text=True)
    assert "Pour les graines" not in text and "Je suis menuisier" not in text  # Bruno's words are his
    auth.logout()

    auth.login(bruno)
    data = json.loads(client.get("/account/export").get_data())
    assert data["projects"] == []
    [pledge] = data["pledges"]
    assert (pledge["project_id"], pledge["amount_cents"], pledge["message"]) == (supported, 1250, "Pour les graines")
    [offer] = data["volunteering"]
    assert (offer["task"], offer["message"], offer["status"]) == ("Construire les bacs", "Je suis menuisier.", "pending")
    [gift] = data["project_smiles"]
    assert (gift["project_id"], gift["amount"]) == (supported, 2)


def test_deleting_a_supporter_removes_pledges_and_offers_and_keeps_the_ledger(app, client, auth, anne, bruno, supported):
    auth.login(bruno)
    assert client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code in (303, 303)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0
        assert db.session.scalar(select(func.count()).select_from(Volunteer)) == 0
        account = db.session.scalar(select(Account).where(Account.project_id == supported))
        assert account.balance == 2  # the smiles given stay with the project
    assert app.test_cli_runner().invoke(args=["smiles", "verify"]).exit_code == 0
    auth.login(anne)
    assert client.get(f"/projects/{supported}").status_code == 200


def test_deleting_an_owner_closes_running_projects_and_deletes_unpublished_ones(
    app, client, auth, anne, bruno, supported
):
    draft = _propose(client, auth, anne, title="Un projet pas encore publié")
    assert_see_other(draft)
    auth.login(anne)
    assert client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code in (303, 303)
    auth.logout()
    with app.app_context():
        titles = db.session.scalars(select(Project.title)).all()
        assert titles == ["Jardin partagé du Rebberg"]  # the pending one is gone
        kept = db.session.get(Project, supported)
        assert kept.status == "abandoned" and kept.closed_at is not None
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 1  # Bruno's promise is his
        assert db.session.scalar(select(Account.balance).where(Account.project_id == supported)) == 2
        told = db.session.scalars(select(Notification.kind).where(Notification.member_id == bruno.id)).all()
        assert "project_closed" in told
    assert app.test_cli_runner().invoke(args=["smiles", "verify"]).exit_code == 0
    # Bruno still reads what he backed, signed by a former member; the map no longer shows it.
    auth.login(bruno)
    page = html(client.get(f"/projects/{supported}"))
    assert "Former member" in page and "Anne" not in page
    found = _can_find(client, supported)
    assert found["page"] and not found["map"]


def test_news_does_not_reach_a_supporter_blocked_either_way(app, client, auth, anne, bruno, factory, supported):
    carla = factory.member(language="en", first_name="Carla")
    auth.login(carla)
    assert client.post(f"/projects/{supported}/pledge", data={"amount": "5"}).status_code == 303
    auth.logout()
    auth.login(anne)
    client.post(f"/account/blocks/{bruno.id}")
    assert client.post(f"/projects/{supported}/updates", data={"body": "Harvest day"}).status_code == 303
    auth.logout()
    with app.app_context():
        told = set(db.session.scalars(select(Notification.member_id).where(Notification.kind == "project_update")))
    assert told == {carla.id}

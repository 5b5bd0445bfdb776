"""Member profiles, on both backends: what a member sees of another (name as shown, kind,
member since, verified e-mail, services rendered and received, thank-you notes, open ads,
mags and projects through the trust rule), editing one's own with a photo, names linking
to profiles, blocks and suspensions, reporting and hiding a note, the data download and
account deletion, and never a place."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import PASSWORD
from helpers import html, logged_in
from PIL import Image
from sqlalchemy import func, select
from test_privacy_crawl import leaks

from onemile.account.services import delete_account
from onemile.extensions import db
from onemile.models import Member, Profile, ThanksNote
from onemile.moderation import services as moderation
from onemile.moderation.services import suspend
from onemile.profiles.services import initials

HX = {"HX-Request": "true"}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def helped(app, factory, anne, bruno):
    """Anne asked for help, Bruno helped, and Anne marked it done with a thank-you note."""
    request = factory.listing(anne, kind="request", offer_type=None, title="Help me move a sofa")
    conversation = factory.conversation(bruno, request, "I can come.")
    client = logged_in(app, anne, "en")
    response = client.post(f"/conversations/{conversation}/done", data={"thanks": f"Bruno was great {XSS}"})
    assert response.status_code == 303
    return conversation


def test_a_profile_shows_who_and_what_they_did_never_a_place(app, factory, anne, bruno, helped):
    offer = factory.listing(bruno, title="Bike repairs", body="Bring your bike")
    factory.mag(bruno, "Bruno's corner", "Stories")
    page = html(logged_in(app, anne, "en").get(f"/members/{bruno.id}"))
    assert "<h1>Bruno D.</h1>" in page and "Durand" not in page
    assert "A person" in page and "E-mail verified" in page
    assert re.search(r"Member since [A-Z][a-z]+ \d{4}", page)
    assert "1 service rendered" in page and "0 services received" in page
    assert "Bruno was great &lt;script&gt;" in page and XSS not in page
    assert f'/listings/{offer}"' in page and "Bruno&#39;s corner" in page
    assert 'class="avatar avatar-initials avatar-large" aria-hidden="true">BD<' in page
    # Never a place: no postal code, no mile name, no mile centre.
    with app.app_context():
        member = db.session.get(Member, bruno.id)
        mile_names = [mile.name for mile in member.miles]
        centres = [mile.center_latlon for mile in member.miles]
        postal_code = member.postal_code
    assert postal_code not in page
    assert not any(name in page for name in mile_names if name)
    assert not leaks(page, centres)
    # Anne received the service.
    assert "1 service received" in html(logged_in(app, bruno, "en").get(f"/members/{anne.id}"))


def test_names_link_to_profiles_for_members_only(app, factory, anne, bruno, client):
    listing = factory.listing(bruno, title="Bike repairs")
    link = f'<a class="member-link" href="/members/{bruno.id}">Bruno D.</a>'
    assert link in html(logged_in(app, anne, "en").get(f"/listings/{listing}"))
    mag = factory.mag(bruno, "Bruno's corner", "Stories")
    assert link in html(logged_in(app, anne, "en").get(f"/mags/{mag}"))
    visitor_page = html(client.get(f"/mags/{mag}"))
    assert "/members/" not in visitor_page and "Bruno D." in visitor_page
    # Visitors never see a profile.
    assert client.get(f"/members/{bruno.id}").status_code == 302


def test_profiles_of_blocked_suspended_or_unknown_members_are_not_found(app, factory, anne, bruno):
    carol = factory.member(language="en", first_name="Carol")
    factory.block(bruno, anne)
    assert logged_in(app, anne, "en").get(f"/members/{bruno.id}").status_code == 404
    assert logged_in(app, bruno, "en").get(f"/members/{anne.id}").status_code == 404
    factory.act(suspend, carol)
    assert logged_in(app, anne, "en").get(f"/members/{carol.id}").status_code == 404
    assert logged_in(app, anne, "en").get("/members/999999").status_code == 404


def _photo(color=(200, 120, 40)) -> io.BytesIO:
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    image.save(buffer, "JPEG", exif=exif)
    buffer.seek(0)
    return buffer


def test_editing_my_profile_with_a_photo(app, anne, tmp_path):
    client = logged_in(app, anne, "en")
    assert client.get("/members/me").status_code == 200
    response = client.post("/members/me", data={
        "bio": f"I fix things {XSS}", "skills": "Plumbing, bikes", "languages": "French, English",
        "photo": (_photo(), "me.jpg"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    page = html(client.get(f"/members/{anne.id}"))
    assert "I fix things &lt;script&gt;" in page and "Plumbing, bikes" in page and "French, English" in page
    with app.app_context():
        photo = db.session.get(Profile, anne.id).photo
    assert photo and re.search(rf'<img class="avatar avatar-large" src="[^"]*{photo}[^"]*" alt=""', page)
    stored = next(p for p in (tmp_path / "uploads").rglob(f"{photo}*.jpg"))
    assert b"SecretCamera" not in stored.read_bytes()  # re-encoded, metadata gone
    # Too long: refused on the form, what was typed kept, nothing saved.
    refused = client.post("/members/me", data={"bio": "x" * 1001, "skills": "Kept", "languages": ""},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and 'value="Kept"' in html(refused)
    with app.app_context():
        assert db.session.get(Profile, anne.id).skills == "Plumbing, bikes"
    # Not a picture: refused, the old one stays.
    bad = client.post("/members/me", data={"bio": "", "photo": (io.BytesIO(b"not an image"), "x.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.get(Profile, anne.id).photo == photo


def test_a_thank_you_note_can_be_reported_and_hidden(app, factory, anne, bruno, helped):
    carol = factory.member(language="en", first_name="Carol")
    modo = factory.moderator(factory.member(language="en", first_name="Modo"))
    with app.app_context():
        note_id = db.session.scalar(select(ThanksNote.id))
    page = html(logged_in(app, carol, "en").get(f"/members/{bruno.id}"))
    assert f"/report/thanks/{note_id}" in page
    factory.report(carol, "thanks", note_id, "spam")
    with app.test_request_context():
        moderation.moderate(db.session.get(Member, modo.id), "thanks", note_id, "hide", None)
        db.session.commit()
    assert "Bruno was great" not in html(logged_in(app, carol, "en").get(f"/members/{bruno.id}"))
    # The note of a member the viewer blocked is gone too.
    with app.app_context():
        db.session.get(ThanksNote, note_id).hidden_at = None
        db.session.commit()
    factory.block(carol, anne)
    assert "Bruno was great" not in html(logged_in(app, carol, "en").get(f"/members/{bruno.id}"))


def test_a_thank_you_note_too_long_refuses_the_confirmation(app, factory, anne, bruno):
    request = factory.listing(anne, kind="request", offer_type=None, title="Help")
    conversation = factory.conversation(bruno, request, "Yes")
    response = logged_in(app, anne, "en").post(f"/conversations/{conversation}/done", data={"thanks": "x" * 501},
                                                headers=HX)
    assert "Use at most 500 characters." in html(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ThanksNote)) == 0


def test_export_and_deletion_cover_profile_thanks_and_gifts(app, factory, anne, bruno, helped):
    client = logged_in(app, anne, "en")
    client.post("/members/me", data={"bio": "Anne's bio", "skills": "", "languages": ""},
                content_type="multipart/form-data")
    with app.test_request_context():
        from onemile.smiles import gifts

        gifts.give(db.session.get(Member, anne.id), bruno.id, 1, "For the sofa", "k" * 22)
        db.session.commit()
    export = json.loads(client.get("/account/export").get_data(as_text=True))
    assert export["public_profile"]["bio"] == "Anne's bio"
    assert next(note["body"] for note in export["thanks_written"]).startswith("Bruno was great")
    assert any(line.get("note") == "For the sofa" for line in export["smiles"]["history"])
    with app.test_request_context():
        delete_account(db.session.get(Member, anne.id), PASSWORD)
        db.session.commit()
        assert db.session.get(Profile, anne.id) is None
        assert db.session.scalar(select(func.count()).select_from(ThanksNote)) == 0
        from onemile.models import Transfer

        assert db.session.scalar(select(func.count()).select_from(Transfer).where(Transfer.note.is_not(None))) == 0


@pytest.mark.parametrize("first, last, kind, organisation, expected", [
    ("Anne", "Martin", "person", None, "AM"),
    ("Zoé", "", "person", None, "Z"),
    ("Jean", "Dupont", "association", "Les Amis du Rebberg", "LA"),
])
def test_initials(first, last, kind, organisation, expected):
    member = Member(first_name=first, last_name=last, kind=kind, organisation_name=organisation)
    assert initials(member) == expected

"""Organisations (issue 16, item 4), on both backends: the public page through the trust
rule, the SIRET/RNA number a moderator verifies (logged), managers invited by e-mail who act
on the organisation's behalf with each row recording the person, removal at once, and what
other members cannot do with the organisation's or other people's ids."""

from __future__ import annotations

import pytest
from helpers import count, english, html, logged_in, mailed_link
from sqlalchemy import select

from onemile.errors import RuleError
from onemile.extensions import db
from onemile.listings.services import close_listing
from onemile.models import (
    Listing,
    Member,
    ModerationAction,
    OrganisationInvitation,
    OrganisationManager,
)
from onemile.moderation import services as moderation
from onemile.organisations import services as organisations

SIRET = "73282932000074"
NEW_AD = {"kind": "offer", "offer_type": "give", "category": "goods", "title": "Paniers de légumes",
          "body": "Chaque jeudi.", "location_mode": "approximate"}


@pytest.fixture
def org(factory):
    return factory.member(kind="association", organisation_name="Les Jardins du Rebberg",
                          email="asso@example.org", language="en", first_name="Asso")


@pytest.fixture
def manager(factory):
    return factory.member(email="manon@example.org", first_name="Manon", language="en")


def _invitation_link(outbox, email: str) -> str:
    return mailed_link(outbox, email, "/organisations/join/")


def _make_manager(app, outbox, org, person) -> None:
    """The organisation invites `person`, who accepts through the e-mailed link."""
    response = logged_in(app, org).post("/organisations/settings/invitations", data={"email": person.email})
    assert response.status_code == 303, html(response)[:500]
    link = _invitation_link(outbox, person.email)
    client = logged_in(app, person)
    assert client.post(link).status_code == 303
    with app.app_context():
        assert organisations.is_manager(person.id, org.id)


def _acting(app, person, org_id):
    client = logged_in(app, person, language="en")
    client.post("/organisations/acting", data={"organisation_id": str(org_id)})
    return client


def test_siret_and_rna_numbers_are_checked(app):
    with app.test_request_context():
        assert organisations.clean_registration("732 829 320 00074") == SIRET
        assert organisations.clean_registration("w123456789") == "W123456789"
        assert organisations.clean_registration("  ") is None
        for bad in ("73282932000075", "7328293200007", "W12345678", "X123456789", "W12345678A"):
            with pytest.raises(RuleError):
                organisations.clean_registration(bad)


def test_the_public_page_gathers_what_the_trust_rule_lets_through(app, factory, org):
    offer = factory.listing(org, title="Graines à donner")
    factory.listing(org, kind="request", offer_type=None, title="Besoin de bras")
    closed = factory.listing(org, title="Closed offer")
    factory.act(lambda member: close_listing(member, closed), org)
    modo = factory.moderator()
    factory.project(org, "Verger partagé", approved_by=modo)
    factory.project(org, "Waiting project")
    factory.mag(org, "La gazette du jardin")
    response = english(app.test_client()).get(f"/organisations/{org.id}")
    body = html(response)
    assert response.status_code == 200
    assert "Les Jardins du Rebberg" in body and "Association" in body
    assert "Graines à donner" in body and f'/listings/{offer}"' in body
    assert "Besoin de bras" not in body and "Closed offer" not in body
    assert "Verger partagé" in body and "Waiting project" not in body
    assert "La gazette du jardin" in body
    assert '<meta property="og:title" content="Les Jardins du Rebberg">' in body
    assert f'<meta property="og:url" content="http://localhost/organisations/{org.id}">' in body
    assert 'property="og:description"' in body
    assert f'value="http://localhost/organisations/{org.id}"' in body and "data-share" in body
    assert "Verified" not in body
    # A shared offer is linked to its public page for visitors.
    logged_in(app, org).post(f"/listings/{offer}/sharing", data={"share": "on"})
    with app.app_context():
        token = db.session.get(Listing, offer).share_token
    assert f'href="/listings/shared/{token}"' in html(app.test_client().get(f"/organisations/{org.id}"))


def test_no_page_for_a_person_a_suspended_organisation_or_across_a_block(app, factory, org):
    person = factory.member(email="person@example.org")
    blocked = factory.member(email="blocked@example.org")
    factory.block(org, blocked)
    assert app.test_client().get(f"/organisations/{person.id}").status_code == 404
    assert logged_in(app, blocked).get(f"/organisations/{org.id}").status_code == 404
    assert logged_in(app, person).get(f"/organisations/{org.id}").status_code == 200
    with app.app_context():
        moderation.suspend(db.session.get(Member, org.id))
        db.session.commit()
    assert app.test_client().get(f"/organisations/{org.id}").status_code == 404
    assert logged_in(app, factory.moderator()).get(f"/organisations/{org.id}").status_code == 404


def test_the_organisation_enters_its_number_and_a_moderator_verifies_it(app, factory, org):
    client = logged_in(app, org, language="en")
    response = client.post("/organisations/settings/registration", data={"registration_number": "73282932000075"})
    assert response.status_code == 422 and "not valid" in html(response) and "73282932000075" in html(response)
    with app.app_context():
        assert db.session.get(Member, org.id).registration_number is None
    assert client.post("/organisations/settings/registration",
                       data={"registration_number": SIRET}).status_code == 303

    other = factory.member(email="other@example.org")
    assert logged_in(app, other).post(f"/organisations/{org.id}/verify", data={"verified": "yes"}).status_code == 404
    modo = factory.moderator(email="modo@example.org")
    modo_client = logged_in(app, modo, language="en")
    assert SIRET in html(modo_client.get(f"/organisations/{org.id}"))
    assert SIRET not in html(logged_in(app, other).get(f"/organisations/{org.id}"))
    assert modo_client.post(f"/organisations/{org.id}/verify", data={"verified": "yes"}).status_code == 303
    with app.app_context():
        assert db.session.get(Member, org.id).registration_verified_at is not None
        logged = db.session.scalars(select(ModerationAction).where(ModerationAction.action == "verify")).all()
        assert [(a.moderator_id, a.target_type, a.target_id) for a in logged] == [(modo.id, "member", org.id)]
    assert "Verified" in html(english(app.test_client()).get(f"/organisations/{org.id}"))
    assert "Verify the organisation" in html(modo_client.get("/moderation/log"))
    # A new number needs a new check.
    client.post("/organisations/settings/registration", data={"registration_number": "W123456789"})
    with app.app_context():
        row = db.session.get(Member, org.id)
        assert row.registration_number == "W123456789" and row.registration_verified_at is None


def test_a_person_has_no_number_to_enter(app, factory):
    person = factory.member(email="person@example.org")
    response = logged_in(app, person).post("/organisations/settings/registration", data={"registration_number": SIRET})
    assert response.status_code == 404


def test_an_invited_member_accepts_and_acts_as_the_organisation(app, factory, outbox, org, manager):
    _make_manager(app, outbox, org, manager)
    client = _acting(app, manager, org.id)
    assert "Acting as Les Jardins du Rebberg" in html(client.get("/organisations/settings"))
    with app.app_context():
        org_mile = db.session.get(Member, org.id).miles[0].id
    response = client.post("/listings/new", data={**NEW_AD, "miles": str(org_mile)})
    assert response.status_code == 303, html(response)[:1000]
    with app.app_context():
        listing = db.session.scalar(select(Listing).where(Listing.title == "Paniers de légumes"))
        assert (listing.author_id, listing.acted_by_id) == (org.id, manager.id)
        listing_id = listing.id
    # The manager (acting) and moderators see who wrote it; other members do not.
    assert "Written for the organisation by Manon" in html(client.get(f"/listings/{listing_id}"))
    reader = factory.member(email="reader@example.org", language="en")
    assert "Manon" not in html(logged_in(app, reader, language="en").get(f"/listings/{listing_id}"))
    # Editing as the organisation works; back as themselves, the listing is not theirs.
    assert client.post(f"/listings/{listing_id}/close").status_code == 303
    client.post("/organisations/acting", data={})
    assert client.get(f"/listings/{listing_id}/edit").status_code == 404
    with app.app_context():
        assert db.session.get(Listing, listing_id).status == "closed"


def test_a_non_manager_cannot_act_as_the_organisation(app, factory, org):
    stranger = factory.member(email="stranger@example.org", language="en")
    client = _acting(app, stranger, org.id)
    with app.app_context():
        org_mile = db.session.get(Member, org.id).miles[0].id
    assert "Acting as" not in html(client.get("/organisations/settings"))
    response = client.post("/listings/new", data={**NEW_AD, "miles": str(org_mile)})
    assert response.status_code == 422  # not one of their miles
    assert count(app, Listing, Listing.author_id == org.id) == 0


def test_a_removed_manager_loses_access_at_once(app, factory, outbox, org, manager):
    _make_manager(app, outbox, org, manager)
    client = _acting(app, manager, org.id)
    listing_id = factory.listing(org, title="Org ad")
    assert client.get(f"/listings/{listing_id}/edit").status_code == 200
    response = logged_in(app, org).post(f"/organisations/{org.id}/managers/{manager.id}/remove")
    assert response.status_code == 303
    assert client.get(f"/listings/{listing_id}/edit").status_code == 404
    assert "Acting as" not in html(client.get("/organisations/settings"))
    with app.app_context():
        org_mile = db.session.get(Member, org.id).miles[0].id
    assert client.post("/listings/new", data={**NEW_AD, "miles": str(org_mile)}).status_code == 422
    assert count(app, Listing, Listing.author_id == org.id) == 1


def test_managers_cannot_invite_nor_remove_others_and_may_leave(app, factory, outbox, org, manager):
    second = factory.member(email="second@example.org")
    _make_manager(app, outbox, org, manager)
    _make_manager(app, outbox, org, second)
    client = _acting(app, manager, org.id)
    # Inviting and registering are the account's own: a manager (acting or not) gets 404.
    assert client.post("/organisations/settings/invitations", data={"email": "x@example.org"}).status_code == 404
    assert client.post("/organisations/settings/registration", data={"registration_number": SIRET}).status_code == 404
    # Another manager, or the organisation itself: not theirs to remove.
    assert client.post(f"/organisations/{org.id}/managers/{second.id}/remove").status_code == 404
    assert client.post(f"/organisations/{org.id}/managers/{org.id}/remove").status_code == 404
    with app.app_context():
        invitation_id = db.session.scalar(select(OrganisationInvitation.id))
    assert client.post(f"/organisations/settings/invitations/{invitation_id}/cancel").status_code == 404
    assert count(app, OrganisationManager) == 2
    assert client.post(f"/organisations/{org.id}/managers/{manager.id}/remove").status_code == 303
    with app.app_context():
        assert not organisations.is_manager(manager.id, org.id) and organisations.is_manager(second.id, org.id)


def test_an_invitation_works_once_for_its_address_only(app, factory, outbox, org, manager, monkeypatch):
    logged_in(app, org).post("/organisations/settings/invitations", data={"email": "Manon@Example.org"})
    link = _invitation_link(outbox, manager.email)
    visitor = english(app.test_client())
    page = html(visitor.get(link))
    assert "Les Jardins du Rebberg" in page and "/auth/login?next=" in page and "/auth/signup" in page
    wrong = factory.member(email="wrong@example.org")
    assert logged_in(app, wrong).post(link).status_code == 422
    assert count(app, OrganisationManager) == 0
    assert logged_in(app, manager).post(link + "x").status_code == 404
    monkeypatch.setattr(organisations, "INVITATION_DAYS", -1)
    assert logged_in(app, manager).get(link).status_code == 410
    monkeypatch.undo()
    assert logged_in(app, manager).post(link).status_code == 303
    assert logged_in(app, manager).post(link).status_code == 404
    assert count(app, OrganisationManager) == 1


def test_a_cancelled_invitation_link_is_dead(app, outbox, org, manager):
    client = logged_in(app, org)
    client.post("/organisations/settings/invitations", data={"email": manager.email})
    link = _invitation_link(outbox, manager.email)
    with app.app_context():
        invitation_id = db.session.scalar(select(OrganisationInvitation.id))
    assert client.post(f"/organisations/settings/invitations/{invitation_id}/cancel").status_code == 303
    assert logged_in(app, manager).post(link).status_code == 404
    assert count(app, OrganisationManager) == 0


def test_bad_invitations_are_refused_on_the_form(app, org):
    client = logged_in(app, org, language="en")
    response = client.post("/organisations/settings/invitations", data={"email": "not-an-address"})
    assert response.status_code == 422 and "valid e-mail" in html(response)
    assert count(app, OrganisationInvitation) == 0


def test_export_and_deletion_cover_managers_and_invitations(app, factory, outbox, org, manager):
    _make_manager(app, outbox, org, manager)
    client = _acting(app, manager, org.id)
    with app.app_context():
        org_mile = db.session.get(Member, org.id).miles[0].id
    client.post("/listings/new", data={**NEW_AD, "miles": str(org_mile)})
    exported = logged_in(app, manager).get("/account/export").get_json()
    assert exported["organisations_managed"][0]["organisation"] == "Les Jardins du Rebberg"
    org_export = logged_in(app, org).get("/account/export").get_json()
    assert org_export["organisation"]["managers"][0]["manager"] == "Manon D."
    assert org_export["organisation"]["invitations"][0]["email"] == manager.email
    response = logged_in(app, manager).post("/account/delete", data={"password": manager.password, "confirm": "y"})
    assert response.status_code == 303
    assert count(app, OrganisationManager) == 0 and count(app, OrganisationInvitation) == 0
    assert count(app, Listing, Listing.acted_by_id == manager.id) == 0
    assert count(app, Listing, Listing.author_id == org.id) == 1


def test_a_manager_answers_writes_and_runs_projects_for_the_organisation(app, factory, outbox, org, manager):
    """Conversations, mags and projects take the organisation as the writer while a manager
    acts as it, and each row names the manager; other members never see who it was."""
    from onemile.models import Article, Message, ProjectUpdate

    offer = factory.listing(org, title="Graines à donner")
    neighbour = factory.member(email="neighbour@example.org", first_name="Nina", language="en")
    conversation_id = factory.conversation(neighbour, offer, "Bonjour, encore des graines ?")
    mag_id = factory.mag(org, "La gazette du jardin")
    project_id = factory.project(org, "Verger partagé", approved_by=factory.moderator())
    _make_manager(app, outbox, org, manager)
    client = _acting(app, manager, org.id)

    assert "Bonjour, encore des graines" in html(client.get(f"/conversations/{conversation_id}"))
    assert client.post(f"/conversations/{conversation_id}/messages",
                       data={"body": "Oui, passez jeudi."}).status_code == 303
    assert client.post(f"/mags/{mag_id}/articles/new", data={
        "title": "Les semis de mars", "body": "Tout sur les semis.", "status": "published"}).status_code == 303
    assert client.post(f"/projects/{project_id}/updates",
                       data={"body": "Les arbres arrivent samedi."}).status_code == 303
    with app.app_context():
        reply = db.session.scalar(select(Message).where(Message.body == "Oui, passez jeudi."))
        article = db.session.scalar(select(Article).where(Article.title == "Les semis de mars"))
        news = db.session.scalar(select(ProjectUpdate).where(ProjectUpdate.body == "Les arbres arrivent samedi."))
        assert (reply.sender_id, reply.acted_by_id) == (org.id, manager.id)
        assert (article.mag.owner_id, article.acted_by_id) == (org.id, manager.id)
        assert news.acted_by_id == manager.id
        article_id = article.id
    assert "Manon" in html(client.get(f"/conversations/{conversation_id}"))
    assert "Written for the organisation by Manon" in html(client.get(f"/mags/{mag_id}/articles/{article_id}"))
    reader = logged_in(app, neighbour, language="en")
    assert "Manon" not in html(reader.get(f"/conversations/{conversation_id}"))
    assert "Manon" not in html(reader.get(f"/mags/{mag_id}/articles/{article_id}"))

    # Removed: the next request is theirs alone, and the organisation's rows are out of reach.
    logged_in(app, org).post(f"/organisations/{org.id}/managers/{manager.id}/remove")
    assert client.get(f"/conversations/{conversation_id}").status_code == 404
    assert client.post(f"/conversations/{conversation_id}/messages", data={"body": "Encore moi"}).status_code == 404
    assert client.post(f"/mags/{mag_id}/articles/new", data={
        "title": "Intrus", "body": "Non.", "status": "published"}).status_code == 404
    assert count(app, Message, Message.body == "Encore moi") == 0 and count(app, Article, Article.title == "Intrus") == 0

"""Trust and account, on both backends: how precisely a listing is shown (approximate,
meeting place, mile only), e-mail verification before acting, blocking a member, and
my data (download as JSON, delete my account).
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import PASSWORD, SIGNUP, Factory, verification_link
from helpers import assert_see_other, csrf_token_in, english, html, logged_in
from sqlalchemy import func, select

from onemile.auth.gate import EmailNotVerified
from onemile.extensions import db
from onemile.geo import LatLon, destination, haversine_m
from onemile.listings.services import ListingData, create_listing
from onemile.models import (
    Account,
    Block,
    Completion,
    Conversation,
    Listing,
    ListingPlacement,
    Member,
    Message,
    Mile,
    Notification,
    Transfer,
)
from onemile.smiles.services import balance_of

HX = {"HX-Request": "true"}


def home_of(app, ref) -> LatLon:
    with app.app_context():
        return db.session.get(Mile, ref.mile_id).center_latlon


def placements(app, listing_id: int) -> list[LatLon]:
    with app.app_context():
        return [p.latlon for p in db.session.scalars(select(ListingPlacement).where(ListingPlacement.listing_id == listing_id))]


def markers(client, around: LatLon) -> dict[str, LatLon]:
    """Title -> point of every marker the map fragment sends around a point."""
    box = f"south={around.lat - 0.03}&west={around.lon - 0.04}&north={around.lat + 0.03}&east={around.lon + 0.04}"
    page = html(client.get(f"/map/markers?{box}&lat={around.lat}&lon={around.lon}", headers=HX))
    found = re.findall(r'data-lat="([-\d.]+)" data-lon="([-\d.]+)".*?<a [^>]*>([^<]+)</a>', page, flags=re.DOTALL)
    return {title: LatLon(float(lat), float(lon)) for lat, lon, title in found}


def nearest(client, around: LatLon) -> str:
    return html(client.get(f"/map/nearest?lat={around.lat}&lon={around.lon}", headers=HX))


def listing_form(**changes) -> dict:
    data = {"kind": "offer", "offer_type": "give", "category": "goods", "title": "Donne une table",
            "body": "En chêne.", "location_mode": "approximate", "latitude": "", "longitude": ""}
    data.update(changes)
    return data


# --- A. Location precision -----------------------------------------------------------------


def test_a_meeting_place_is_shown_exactly_and_the_home_never(app, factory):
    anne = factory.member(language="en")
    bruno = factory.member(language="en", first_name="Bruno")
    home = home_of(app, anne)
    cafe = destination(home, 60, 700)
    author = logged_in(app, anne, "en")
    response = author.post("/listings/new", data=listing_form(
        location_mode="meeting_place", latitude=str(cafe.lat).replace(".", ","), longitude=str(cafe.lon),
        miles=[anne.mile_id], title="Rendez-vous au café"))
    assert_see_other(response)  # html(response)
    listing_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert all(haversine_m(point, cafe) < 0.5 for point in placements(app, listing_id))

    viewer = logged_in(app, bruno, "en")
    seen = markers(viewer, home)["Rendez-vous au café"]
    assert haversine_m(seen, cafe) < 0.5
    assert "Rendez-vous au café" in nearest(viewer, home)
    assert "meeting place the author chose" in html(viewer.get(f"/listings/{listing_id}"))

    # Moving the mile does not move a meeting place; the edit form shows it to the author.
    with app.test_request_context():
        from onemile.miles.services import move_mile

        move_mile(db.session.get(Member, anne.id), anne.mile_id, destination(home, 0, 300))
    assert all(haversine_m(point, cafe) < 0.5 for point in placements(app, listing_id))
    edit = html(author.get(f"/listings/{listing_id}/edit"))
    assert f'value="{cafe.lat}"' in edit and re.search(r'<input checked[^>]*value="meeting_place"', edit)

    # Back to approximate: every point is shifted again, away from the centre.
    response = author.post(f"/listings/{listing_id}/edit", data=listing_form(miles=[anne.mile_id], title="Rendez-vous au café"))
    assert_see_other(response)
    new_home = home_of(app, anne)
    [point] = placements(app, listing_id)
    assert haversine_m(point, new_home) >= app.config["PUBLIC_OFFSET_MIN_M"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"location_mode": "meeting_place"}, "Pick the meeting place on the map."),
        ({"location_mode": "meeting_place", "latitude": "48.8566", "longitude": "2.3522"},
         "Pick a meeting place inside one of the miles you post in."),
        ({"location_mode": "meeting_place", "latitude": "95", "longitude": "7"}, "Give a latitude from -90"),
        ({"location_mode": "meeting_place", "latitude": "x" * 40, "longitude": "7"}, "Field cannot be longer"),
        ({"location_mode": "everywhere"}, "Not a valid choice"),
    ],
)
def test_a_bad_meeting_place_is_refused_on_the_form(app, factory, changes, message):
    anne = factory.member(language="en")
    client = logged_in(app, anne, "en")
    response = client.post("/listings/new", data=listing_form(miles=[anne.mile_id], **changes))
    assert response.status_code == 422
    assert message in html(response)
    assert 'value="Donne une table"' in html(response)  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


def test_coordinates_left_over_do_not_block_an_approximate_listing(app, factory):
    anne = factory.member(language="en")
    client = logged_in(app, anne, "en")
    response = client.post("/listings/new", data=listing_form(miles=[anne.mile_id], latitude="nonsense"))
    assert_see_other(response)
    with app.app_context():
        assert db.session.scalar(select(Listing.location_mode)) == "approximate"


def test_a_mile_only_listing_has_no_marker_but_is_listed_with_a_band(app, factory):
    anne = factory.member(language="en")
    bruno = factory.member(language="en", first_name="Bruno")
    listing_id = factory.listing(anne, title="Cours de guitare", location_mode="mile_only")
    factory.listing(anne, title="Donne une chaise")
    home = home_of(app, anne)
    viewer = logged_in(app, bruno, "en")
    seen = markers(viewer, home)
    assert "Donne une chaise" in seen and "Cours de guitare" not in seen
    panel = nearest(viewer, home)
    assert re.search(r"Cours de guitare</a>\s*<span class=\"meta\">[^<]*less than", panel), panel
    assert "Cours de guitare" in html(viewer.get("/listings/"))
    assert "Not on the map" in html(viewer.get(f"/listings/{listing_id}"))
    # Its stored point is the shifted one: never the mile's centre.
    [point] = placements(app, listing_id)
    assert haversine_m(point, home) >= app.config["PUBLIC_OFFSET_MIN_M"]
    # Nor does the author's own map draw it (the same fragment is cached for everyone).
    assert "Cours de guitare" not in markers(logged_in(app, anne, "en"), home)


# --- B. Verification -----------------------------------------------------------------------


def sign_up(client, email: str = SIGNUP["email"]):
    """Sign up, then log in with the password before opening the e-mailed link: an
    unverified member (opening the link would log in and verify at once)."""
    response = client.post("/auth/signup", data={**SIGNUP, "email": email})
    assert_see_other(response)  # html(response)
    logged_in = client.post("/auth/login", data={"email": email, "password": SIGNUP["password"]})
    assert_see_other(logged_in)  # html(logged_in)
    return response


def test_an_unverified_member_browses_but_cannot_act(app, factory, outbox):
    bruno = factory.member(language="en", first_name="Bruno")
    listing_id = factory.listing(bruno)
    client = english(app.test_client())
    sign_up(client)
    assert verification_link(outbox, SIGNUP["email"]).startswith("/auth/verify/")
    for path in ("/map", "/listings/", f"/listings/{listing_id}", "/miles/", "/account/"):
        assert client.get(path).status_code == 200, path
    refused = client.get("/listings/new")
    assert refused.status_code == 403
    assert "Confirm your e-mail address" in html(refused) and "Send the e-mail again" in html(refused)
    assert client.post("/listings/new", data=listing_form()).status_code == 403
    assert client.post(f"/conversations/answer/{listing_id}", data={"body": "Hello"}).status_code == 403
    # htmx is sent to the page rather than swapping a refusal.
    swapped = client.post(f"/conversations/answer/{listing_id}", data={"body": "Hello"}, headers=HX)
    assert swapped.status_code == 204 and swapped.headers["HX-Redirect"] == "/auth/verify"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert db.session.scalar(select(func.count()).select_from(Listing)) == 1

    # The service itself refuses too: the gate does not depend on the route.
    with app.test_request_context():
        member = db.session.scalar(select(Member).where(Member.email == SIGNUP["email"]))
        with pytest.raises(EmailNotVerified):
            create_listing(member, ListingData("request", None, "goods", "t", "b", (member.miles[0].id,)))


def test_an_unverified_member_cannot_message_in_an_old_conversation(app, factory):
    anne = factory.member(language="en")
    bruno = factory.member(language="en", first_name="Bruno")
    listing_id = factory.listing(anne)
    client = logged_in(app, bruno, "en")
    conversation = client.post(f"/conversations/answer/{listing_id}", data={"body": "Bonjour"})
    conversation_id = int(re.search(r"/conversations/(\d+)", conversation.headers["Location"]).group(1))
    with app.app_context():
        db.session.get(Member, bruno.id).email_verified_at = None
        db.session.commit()
    assert client.post(f"/conversations/{conversation_id}/messages", data={"body": "Encore"}).status_code == 403


def test_the_emailed_link_verifies_once(app, outbox):
    client = english(app.test_client())
    sign_up(client)
    link = verification_link(outbox, SIGNUP["email"])
    done = client.get(link, follow_redirects=True)
    assert "Your e-mail address is confirmed" in html(done)
    assert client.get("/listings/new").status_code == 200
    again = client.get(link, follow_redirects=True)
    assert "invalid, has expired or was already used" in html(again)
    # Opened later from another browser, not logged in: it sends to the log-in page.
    visitor = english(app.test_client())
    assert visitor.get(link).headers["Location"].endswith("/auth/login")


@pytest.mark.parametrize("mangle", ["tamper", "other-address", "garbage"])
def test_a_forged_or_stale_link_verifies_nothing(app, outbox, mangle):
    client = english(app.test_client())
    sign_up(client)
    link = verification_link(outbox, SIGNUP["email"])
    if mangle == "tamper":
        link = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    elif mangle == "other-address":
        with app.app_context():
            db.session.scalar(select(Member)).email = "changed@example.org"
            db.session.commit()
    else:
        link = "/auth/verify/" + "x" * 500
    response = client.get(link, follow_redirects=True)
    assert "invalid, has expired or was already used" in html(response)
    with app.app_context():
        assert db.session.scalar(select(Member.email_verified_at)) is None


def test_an_expired_link_verifies_nothing(make_app):
    app = make_app(EMAIL_VERIFY_MAX_AGE=-1)
    client = english(app.test_client())
    sign_up(client)
    from pathlib import Path

    response = client.get(verification_link(Path(app.config["MAIL_OUTBOX"]), SIGNUP["email"]))
    assert response.headers["Location"].endswith("/auth/verify")
    with app.app_context():
        assert db.session.scalar(select(Member.email_verified_at)) is None


def test_sending_the_email_again_is_rate_limited_and_needs_csrf(make_app):
    app = make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=True)
    from pathlib import Path

    outbox = Path(app.config["MAIL_OUTBOX"])
    Factory(app).member(email="nina@example.org", verified=False, language="en")
    client = english(app.test_client())
    login_page = html(client.get("/auth/login"))
    token = csrf_token_in(login_page)
    client.post("/auth/login", data={"email": "nina@example.org", "password": PASSWORD, "csrf_token": token})
    page = client.get("/auth/verify")
    assert page.status_code == 200
    token = csrf_token_in(html(page))
    assert client.post("/auth/verify").status_code == 400  # no CSRF token
    for _ in range(3):
        assert client.post("/auth/verify", data={"csrf_token": token}).status_code == 303
    assert len(list(outbox.glob("*.eml"))) == 3
    assert client.post("/auth/verify", data={"csrf_token": token}).status_code == 429
    assert len(list(outbox.glob("*.eml"))) == 3


def test_a_verified_member_is_sent_on_from_the_verify_page(app, factory):
    client = logged_in(app, factory.member(language="en"), "en")
    assert client.get("/auth/verify").headers["Location"].endswith("/map")


# --- C. Blocks -----------------------------------------------------------------------------


@pytest.fixture
def pair(app, factory):
    """Anne and Bruno in the same mile, each with a listing, and a conversation under Anne's."""
    anne = factory.member(language="en", first_name="Anne", last_name="Martin")
    bruno = factory.member(language="en", first_name="Bruno", last_name="Durand")
    annes = factory.listing(anne, title="Annes lamp")
    brunos = factory.listing(bruno, title="Brunos ladder")
    b = logged_in(app, bruno, "en")
    answered = b.post(f"/conversations/answer/{annes}", data={"body": "Is it still there?"})
    conversation_id = int(re.search(r"/conversations/(\d+)", answered.headers["Location"]).group(1))
    return anne, bruno, annes, brunos, conversation_id


def test_a_block_hides_each_from_the_other_and_stops_messages(app, factory, pair):
    anne, bruno, annes, brunos, conversation_id = pair
    carla = factory.member(language="en", first_name="Carla")
    a, b, c = logged_in(app, anne, "en"), logged_in(app, bruno, "en"), logged_in(app, carla, "en")
    home = home_of(app, anne)
    assert "Block Bruno D." in html(a.get(f"/conversations/{conversation_id}"))
    assert "Block Anne M." in html(b.get(f"/listings/{annes}"))

    blocked = a.post(f"/account/blocks/{bruno.id}", follow_redirects=True)
    assert "You blocked Bruno D." in html(blocked) and "Unblock Bruno D." in html(blocked)

    for viewer, theirs, title in ((a, brunos, "Brunos ladder"), (b, annes, "Annes lamp")):
        assert viewer.get(f"/listings/{theirs}").status_code == 404
        assert title not in html(viewer.get("/listings/"))
        assert title not in markers(viewer, home)
        assert title not in nearest(viewer, home)
    # Someone else still sees both.
    assert {"Annes lamp", "Brunos ladder"} <= set(markers(c, home))
    assert c.get(f"/listings/{annes}").status_code == 200

    # Bruno can neither answer again nor write in the old conversation; nor can Anne.
    assert b.post(f"/conversations/answer/{annes}", data={"body": "Hello?"}).status_code == 404
    for client in (a, b):
        refused = client.post(f"/conversations/{conversation_id}/messages", data={"body": "Hello?"})
        assert refused.status_code == 422
        assert "You can no longer write in this conversation." in html(refused)
        page = html(client.get(f"/conversations/{conversation_id}"))
        assert "You can no longer write in this conversation." in page and "Your reply" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 1

    # Unblocked from the account page: everything is back.
    a.post(f"/account/blocks/{bruno.id}/delete")
    assert b.get(f"/listings/{annes}").status_code == 200
    assert "Brunos ladder" in markers(a, home)
    assert b.post(f"/conversations/{conversation_id}/messages", data={"body": "Back"}).status_code == 303


def test_block_requests_that_make_no_sense(app, factory, pair):
    anne, bruno, *_ = pair
    a = logged_in(app, anne, "en")
    assert "You cannot block yourself." in html(a.post(f"/account/blocks/{anne.id}", follow_redirects=True))
    assert a.post("/account/blocks/999999").status_code == 404
    assert a.post("/account/blocks/99999999999").status_code == 404
    assert a.post(f"/account/blocks/{bruno.id}/delete").status_code == 404  # not blocked
    for _ in range(2):  # a double click blocks once
        assert a.post(f"/account/blocks/{bruno.id}").status_code == 303
    # Bruno cannot lift Anne's block.
    assert logged_in(app, bruno, "en").post(f"/account/blocks/{anne.id}/delete").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 1
    assert english(app.test_client()).post(f"/account/blocks/{bruno.id}").status_code == 302  # to log in


def test_blocking_needs_csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    factory = Factory(app)
    anne, bruno = factory.member(), factory.member()
    client = app.test_client()
    token = csrf_token_in(html(client.get("/auth/login")))
    client.post("/auth/login", data={"email": anne.email, "password": PASSWORD, "csrf_token": token})
    assert client.post(f"/account/blocks/{bruno.id}").status_code == 400
    assert client.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Block)) == 0
        assert db.session.get(Member, anne.id).deleted_at is None


# --- D. My data ----------------------------------------------------------------------------


def test_the_download_holds_everything_about_me_and_nothing_of_others(app, factory, pair):
    anne, bruno, _annes, _brunos, conversation_id = pair
    a = logged_in(app, anne, "en")
    a.post(f"/conversations/{conversation_id}/messages", data={"body": "Yes, come tonight"})
    a.post(f"/account/blocks/{bruno.id}")
    response = a.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="1mile-')
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data())
    assert data["profile"]["email"] == anne.email
    assert data["profile"]["email_verified_at"]
    home = home_of(app, anne)
    [mile] = data["miles"]
    assert (mile["latitude"], mile["longitude"]) == (home.lat, home.lon)
    assert [listing["title"] for listing in data["listings"]] == ["Annes lamp"]
    [conversation] = data["conversations"]
    assert conversation["my_role"] == "author"
    assert [m["body"] for m in conversation["my_messages"]] == ["Yes, come tonight"]
    assert "Is it still there?" not in response.get_data(as_text=True)  # Bruno's words are his
    assert data["smiles"]["balance"] == 1
    assert [line["reason"] for line in data["smiles"]["history"]] == ["signup_bonus"]
    assert [n["kind"] for n in data["notifications"]] == ["first_reply"]
    assert data["blocks"][0]["member_id"] == bruno.id
    assert "Brunos ladder" not in response.get_data(as_text=True)


def test_deleting_my_account(app, factory, pair):
    anne, bruno, _annes, brunos, conversation_id = pair
    # Bruno also talks under Carla's request, which Carla marked done: a smile moved.
    carla = factory.member(language="en", first_name="Carla")
    request_id = factory.listing(carla, kind="request", offer_type=None, title="Carry a sofa")
    b = logged_in(app, bruno, "en")
    talk = b.post(f"/conversations/answer/{request_id}", data={"body": "I can help with the sofa"})
    carla_talk = int(re.search(r"/conversations/(\d+)", talk.headers["Location"]).group(1))
    c = logged_in(app, carla, "en")
    c.post(f"/conversations/{carla_talk}/done")
    assert [balance_of_in(app, m) for m in (bruno, carla)] == [2, 0]
    logged_in(app, anne, "en").post(f"/account/blocks/{bruno.id}")

    # Wrong password, or the box not ticked: nothing happens.
    for data in ({"password": "not my password", "confirm": "y"}, {"password": PASSWORD}):
        refused = b.post("/account/delete", data=data)
        assert refused.status_code == 422
    assert "Wrong password." in html(b.post("/account/delete", data={"password": "nope", "confirm": "y"}))
    with app.app_context():
        assert db.session.get(Member, bruno.id).deleted_at is None

    gone = b.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}, follow_redirects=True)
    assert "Your account is deleted." in html(gone)
    assert b.get("/map").status_code == 302  # logged out
    refused = english(app.test_client()).post("/auth/login", data={"email": bruno.email, "password": PASSWORD})
    assert refused.status_code == 422

    with app.app_context():
        tombstone = db.session.get(Member, bruno.id)
        assert tombstone.deleted_at is not None and tombstone.email != bruno.email
        assert (tombstone.first_name, tombstone.last_name, tombstone.postal_code) == ("", "", "")
        assert db.session.scalar(select(func.count()).select_from(Mile).where(Mile.member_id == bruno.id)) == 0
        assert db.session.get(Listing, brunos) is None
        assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.member_id == bruno.id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Block)) == 0
        # His messages stay with the others, and his smiles account with its entries.
        assert db.session.scalar(select(func.count()).select_from(Message).where(Message.sender_id == bruno.id)) == 2
        account = db.session.scalar(select(Account).where(Account.member_id == bruno.id))
        assert account is not None and account.balance == 2
        assert db.session.scalar(select(func.count()).select_from(Transfer)) == 4
        assert db.session.scalar(select(func.count()).select_from(Completion)) == 1

    # The others see "Former member" and cannot write to him any more.
    c = logged_in(app, carla, "en")  # a fresh session: no flash left from marking it done
    for client, talk_id in ((logged_in(app, anne, "en"), conversation_id), (c, carla_talk)):
        page = html(client.get(f"/conversations/{talk_id}"))
        assert "Former member" in page and "Bruno" not in page
        assert "has left 1Mile" in page and "Mark done with" not in page
        assert client.post(f"/conversations/{talk_id}/messages", data={"body": "Hello?"}).status_code == 422
    assert "Former member" in html(c.get("/smiles/"))

    result = app.test_cli_runner().invoke(args=["smiles", "verify"])
    assert result.exit_code == 0, result.output

    # The address is free again: a new account, a fresh start.
    newcomer = english(app.test_client())
    again = newcomer.post("/auth/signup", data={**SIGNUP, "email": bruno.email.upper()})
    assert_see_other(again)  # html(again)
    with app.app_context():
        fresh = db.session.scalar(select(Member).where(Member.email == bruno.email))
        assert fresh.id != bruno.id and fresh.deleted_at is None and balance_of(fresh.id) == 1
    assert app.test_cli_runner().invoke(args=["smiles", "verify"]).exit_code == 0


def balance_of_in(app, ref) -> int:
    with app.app_context():
        return balance_of(ref.id)


def test_a_deleted_authors_answered_listing_stays_closed_without_text_for_the_others(app, pair):
    anne, bruno, annes, _brunos, conversation_id = pair
    assert logged_in(app, anne, "en").post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code == 303
    with app.app_context():
        listing = db.session.get(Listing, annes)
        assert (listing.status, listing.body, listing.placements) == ("closed", "", [])
        assert db.session.get(Conversation, conversation_id) is not None
    b = logged_in(app, bruno, "en")
    page = html(b.get(f"/conversations/{conversation_id}"))
    assert "Conversation with Former member" in page and "Is it still there?" in page
    assert "Annes lamp" not in markers(b, home_of(app, bruno))


def test_deleting_cancels_a_pending_confirmation(app, factory, pair):
    anne, bruno, annes, _brunos, conversation_id = pair
    # Anne's offer: she marks it done with Bruno, who is asked to confirm; he leaves instead.
    logged_in(app, anne, "en").post(f"/conversations/{conversation_id}/done")
    b = logged_in(app, bruno, "en")
    assert b.post("/account/delete", data={"password": PASSWORD, "confirm": "y"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Completion.status)) == "cancelled"
        assert db.session.get(Listing, annes).status == "open"


def test_the_account_page_links_the_settings(app, factory):
    page = html(logged_in(app, factory.member(language="en"), "en").get("/account/"))
    for path in ("/miles/", "/notifications/settings", "/smiles/", "/account/export", "/account/delete"):
        assert path in page, path
    assert english(app.test_client()).get("/account/").status_code == 302

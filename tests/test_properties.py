"""Property-based tests (hypothesis) over every form and the map's query parameters.

For any input: never a 500; a refusal writes nothing (the row counts of every table stay
the same); the page that refuses a form shows again what was typed. Runs on both backends
(PostgreSQL refuses NUL characters that SQLite stores, so both matter); example counts stay
modest so the suite stays fast.
"""

from __future__ import annotations

import re

import pytest
from helpers import assert_see_other, logged_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from onemile.auth.services import normalise_email
from onemile.extensions import db
from onemile.geo import Box, InvalidBox, InvalidCoordinates, LatLon
from onemile.models import Member

PROPERTY = settings(
    max_examples=int(__import__("os").environ.get("PROPERTY_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a browser could send: any character but lone surrogates (not encodable as UTF-8).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
numberish = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(lambda d: str(d).replace(".", ",")),
    st.sampled_from(["", " ", "47.75", "7,33", "-0", "1e309", "NaN", "0x10", "٤٧"]),
)
field_value = st.one_of(any_text, numberish, st.text(min_size=300, max_size=3000, alphabet="ab \n"))


def counts(app) -> dict[str, int]:
    """Rows in every table of the models."""
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def typed_is_kept(body: str, value: str) -> bool:
    """The page shows the value again (escaped), as a browser would have sent it."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    shown = body.replace("\r\n", "\n").replace("\r", "\n")
    return str(escape(value)) in shown or str(escape(value.strip())) in shown


def assert_refusal_kept_nothing(app, before, response, kept: dict[str, str] | None = None):
    assert response.status_code < 500, response.status_code
    if response.status_code in (302, 303):
        return
    assert counts(app) == before, "a refused form wrote something"
    body = response.get_data(as_text=True)
    for name, value in (kept or {}).items():
        if value and value.strip() and "\x00" not in value:
            assert typed_is_kept(body, value), f"{name}={value!r} not shown again"


def mostly(valid: str, other=None):
    """The valid value most of the time, so that examples get past the first check and
    reach the services and the database; anything else otherwise."""
    return st.one_of(st.just(valid), st.just(valid), other if other is not None else field_value)


# Names with a NUL or a control character in them, that must reach the database.
with_controls = st.text(alphabet=st.sampled_from("ab \x00\x01\t\u200b\ufeffé"), min_size=1, max_size=40)

signup_forms = st.fixed_dictionaries({
    "email": st.one_of(st.uuids().map(lambda u: f"{u.hex}@example.org"), field_value, st.emails().map(lambda e: e[:200])),
    "password": mostly("violet harbour kettle 42"),
    "first_name": mostly("Anne", st.one_of(field_value, with_controls)),
    "last_name": mostly("Martin", st.one_of(field_value, with_controls)),
    "kind": mostly("person", st.one_of(st.sampled_from(["business", "association"]), any_text)),
    "organisation_name": st.one_of(field_value, with_controls),
    "postal_code": mostly("68100", st.one_of(st.sampled_from(["75001", "00000"]), field_value)),
    "country": mostly("FR", st.one_of(st.sampled_from(["BE", "CH"]), any_text)),
    "latitude": numberish,
    "longitude": numberish,
})


def test_signup_never_fails_nor_half_writes(app):
    @PROPERTY
    @given(form=signup_forms)
    def check(form):
        before = counts(app)
        with app.app_context():
            # Hypothesis may draw the same address twice: the second sign-up is answered the
            # same way (303) and writes nothing, the owner being e-mailed instead.
            taken = db.session.scalar(select(func.count()).select_from(Member).where(
                Member.email == normalise_email(form["email"]))) > 0
        response = app.test_client().post("/auth/signup", data=form)
        if response.status_code == 303:
            after = counts(app)
            new_rows = 0 if taken else 1
            assert after["member"] == before["member"] + new_rows
            assert after["mile"] == before["mile"] + new_rows
            return
        kept = {k: form[k] for k in ("first_name", "last_name", "postal_code") if len(form[k]) <= 80}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


def test_login_never_fails_and_keeps_the_email(app, factory):
    factory.member(email="known@example.org")

    @PROPERTY
    @given(email=st.one_of(field_value, st.just("known@example.org")), password=field_value)
    def check(email, password):
        before = counts(app)
        response = app.test_client().post("/auth/login", data={"email": email, "password": password})
        assert response.status_code in (200, 422), response.status_code
        assert_refusal_kept_nothing(app, before, response, {"email": email} if len(email) <= 254 else {})

    check()


listing_forms = st.fixed_dictionaries({
    "kind": mostly("offer", st.one_of(st.just("request"), any_text)),
    "offer_type": mostly("give", st.one_of(st.sampled_from(["lend", "barter", "service", ""]), any_text)),
    "category": mostly("goods", st.one_of(st.sampled_from(["diy", "other"]), any_text)),
    "title": st.one_of(field_value, with_controls),
    "body": st.one_of(field_value, with_controls),
    "miles": st.one_of(
        st.just(["MINE"]),
        st.lists(st.one_of(numberish, st.sampled_from(["MINE", "0", "-1", "99999999999"])), max_size=3),
    ),
})


def _with_mile(form: dict, mile_id: int) -> dict:
    return {**form, "miles": [str(mile_id) if m == "MINE" else m for m in form["miles"]]}


def test_listing_create_and_edit_never_fail_nor_half_write(app, factory, anne):
    client = logged_in(app, anne)
    listing_id = factory.listing(anne)

    @PROPERTY
    @given(form=listing_forms, editing=st.booleans())
    def check(form, editing):
        data = _with_mile(form, anne.mile_id)
        before = counts(app)
        with app.app_context():
            from onemile.models import Listing

            original = db.session.get(Listing, listing_id)
            snapshot = (original.title, original.body, original.kind, original.category)
        url = f"/listings/{listing_id}/edit" if editing else "/listings/new"
        response = client.post(url, data=data)
        if response.status_code == 303 and not editing:
            assert counts(app)["listing"] == before["listing"] + 1
            return
        kept = {"title": data["title"]} if len(data["title"]) <= 120 else {}
        assert_refusal_kept_nothing(app, before, response, kept)
        if response.status_code != 303:
            with app.app_context():
                from onemile.models import Listing

                listing = db.session.get(Listing, listing_id)
                assert (listing.title, listing.body, listing.kind, listing.category) == snapshot

    check()


def test_miles_forms_never_fail_nor_half_write(app, anne):
    client = logged_in(app, anne)

    @PROPERTY
    @given(name=st.one_of(field_value, with_controls), latitude=mostly("47.75", numberish),
           longitude=mostly("7.33", numberish),
           action=st.sampled_from(["add", "rename", "move"]))
    def check(name, latitude, longitude, action):
        from onemile.models import Mile

        with app.app_context():
            mile = db.session.get(Mile, anne.mile_id)
            snapshot = (mile.name, mile.center_latlon)
        before = counts(app)
        url = "/miles/" if action == "add" else f"/miles/{anne.mile_id}/{action}"
        response = client.post(url, data={"name": name, "latitude": latitude, "longitude": longitude})
        assert response.status_code < 500
        if action == "add":
            if response.status_code == 303:
                with app.app_context():
                    # Keep room for the next examples: at most five miles.
                    extra = db.session.scalars(select(Mile).where(Mile.id != anne.mile_id)).all()
                    for other in extra:
                        db.session.delete(other)
                    db.session.commit()
                return
            kept = {"name": name} if len(name) <= 60 else {}
            assert_refusal_kept_nothing(app, before, response, kept)
        else:
            flashed = client.get("/miles/")  # refusals come back as a flash on the page
            assert flashed.status_code == 200
            assert counts(app) == before
            with app.app_context():
                mile = db.session.get(Mile, anne.mile_id)
                if action == "rename" and (mile.name, mile.center_latlon) != snapshot:
                    typed = name.replace("\x00", "")  # dropped at the edge (security.NulFreeRequest)
                    assert mile.name in (" ".join(typed.split()), typed.strip())
                    mile.name = snapshot[0]
                    db.session.commit()

    check()


def test_answer_and_message_never_fail_nor_half_write(app, factory, anne, bruno):
    listing_id = factory.listing(anne)
    bruno_client = logged_in(app, bruno)
    opened = bruno_client.post(f"/conversations/answer/{listing_id}", data={"body": "Hello"})
    conversation_id = int(re.search(r"/conversations/(\d+)", opened.headers["Location"]).group(1))

    @PROPERTY
    @given(body=st.one_of(field_value, with_controls), htmx=st.booleans(), answer=st.booleans())
    def check(body, htmx, answer):
        from onemile.models import Message

        before = counts(app)
        headers = {"HX-Request": "true"} if htmx else {}
        url = f"/conversations/answer/{listing_id}" if answer else f"/conversations/{conversation_id}/messages"
        response = bruno_client.post(url, data={"body": body}, headers=headers)
        assert response.status_code < 500
        if response.status_code in (303, 303) or (htmx and not answer and counts(app)["message"] > before["message"]):
            assert counts(app)["message"] == before["message"] + 1
            with app.app_context():
                newest = db.session.scalar(select(Message).order_by(Message.id.desc()).limit(1))
                assert "\x00" not in newest.body and newest.body.strip()
            return
        kept = {"body": body} if len(body) <= 2000 else {}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


def test_report_form_never_fails_nor_half_writes(app, factory, anne, bruno):
    listing_id = factory.listing(anne)
    client = logged_in(app, bruno)

    @PROPERTY
    @given(reason=mostly("spam", any_text), details=st.one_of(field_value, with_controls))
    def check(reason, details):
        from onemile.models import Report

        before = counts(app)
        response = client.post(f"/report/listing/{listing_id}", data={"reason": reason, "details": details})
        assert response.status_code < 500
        if response.status_code == 303:
            with app.app_context():
                db.session.execute(Report.__table__.delete())  # room for the next example
                db.session.commit()
            return
        kept = {"details": details} if len(details) <= 1000 else {}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


def test_moderation_form_never_fails_nor_half_writes(app, factory, anne, bruno):
    listing_id = factory.listing(anne)
    factory.moderator(bruno)
    client = logged_in(app, bruno)

    @PROPERTY
    @given(action=mostly("warn", st.one_of(st.sampled_from(["hide", "dismiss", "suspend"]), any_text)),
           reason=st.one_of(field_value, with_controls),
           target=st.sampled_from([f"listing/{listing_id}", f"member/{anne.id}", f"message/{listing_id}"]))
    def check(action, reason, target):
        before = counts(app)
        response = client.post(f"/moderation/{target}", data={"action": action, "reason": reason})
        assert response.status_code in (303, 404, 422), response.status_code
        if response.status_code == 303:
            return
        kept = {"reason": reason} if len(reason) <= 1000 and response.status_code == 422 else {}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


project_forms = st.fixed_dictionaries({
    "title": mostly("Jardin partagé", st.one_of(field_value, with_controls)),
    "summary": mostly("Des bacs pour tous", st.one_of(field_value, with_controls)),
    "description": mostly("Six bacs et un composteur.", st.one_of(field_value, with_controls)),
    "latitude": mostly("47.75", numberish),
    "longitude": mostly("7,33", numberish),
    "money_target": st.one_of(st.just(""), st.just("500"), numberish, any_text),
    "tasks-0-title": st.one_of(st.just("Construire"), field_value, with_controls),
    "tasks-0-skill": st.one_of(st.just("Menuiserie"), field_value, with_controls),
    "tasks-1-title": st.one_of(st.just(""), field_value),
    "tasks-1-skill": st.one_of(st.just(""), field_value),
    "charter": mostly("y", st.sampled_from(["", "n", "0"])),
})


def test_project_proposal_never_fails_nor_half_writes(app, anne):
    client = logged_in(app, anne)

    @PROPERTY
    @given(form=project_forms)
    def check(form):
        before = counts(app)
        response = client.post("/projects/new", data=form)
        if response.status_code in (303, 303):
            after = counts(app)
            assert after["project"] == before["project"] + 1
            assert after["project_task"] - before["project_task"] in (0, 1, 2)
            return
        limits = {"title": 120, "summary": 300, "description": 10_000, "money_target": 20}
        kept = {name: form[name] for name, limit in limits.items() if len(form[name]) <= limit}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


mag_forms = st.fixed_dictionaries({
    "title": st.one_of(field_value, with_controls),
    "about": st.one_of(field_value, with_controls),
    "kind": mostly("shop", st.one_of(st.sampled_from(["association", "person", ""]), any_text)),
    "latitude": mostly("47.7385", numberish),
    "longitude": mostly("7,3305", numberish),
    "cover_alt": st.one_of(st.just(""), field_value),
})


def _own_mag_and_article(factory, ref) -> tuple[int, int]:
    """A mag of the member's with a published article, made through the services."""
    from onemile.geo import LatLon

    mag_id = factory.mag(ref, title="Le mag", point=LatLon(47.74, 7.33))
    return mag_id, factory.article(ref, mag_id, title="Premier", body="Bonjour")


def test_mag_create_and_edit_never_fail_nor_half_write(app, factory, anne):
    from onemile.models import Mag

    client = logged_in(app, anne)
    mag_id, _article = _own_mag_and_article(factory, anne)

    def snapshot():
        with app.app_context():
            mag = db.session.get(Mag, mag_id)
            return (mag.title, mag.about, mag.kind, mag.latlon, mag.cover_image)

    original = snapshot()

    @PROPERTY
    @given(form=mag_forms, editing=st.booleans())
    def check(form, editing):
        before = counts(app)
        response = client.post(f"/mags/{mag_id}/edit" if editing else "/mags/new", data=form)
        if response.status_code == 303:
            if editing:
                with app.app_context():  # back to the original for the next examples
                    mag = db.session.get(Mag, mag_id)
                    mag.title, mag.about, mag.kind, mag.point = (*original[:3], original[3].wkt())
                    db.session.commit()
            else:
                assert counts(app)["mag"] == before["mag"] + 1
            return
        kept = {name: form[name] for name, limit in (("title", 120), ("about", 5000)) if len(form[name]) <= limit}
        assert_refusal_kept_nothing(app, before, response, kept)
        assert snapshot() == original

    check()


def test_pledge_form_never_fails_nor_half_writes(app, factory, anne, bruno):
    moderator = factory.moderator(first_name="Modo", language="fr")
    project_id = factory.project(anne, title="Jardin", summary="Des bacs", description="Six bacs.", tasks=(),
                                 approved_by=moderator)
    client = logged_in(app, bruno)

    @PROPERTY
    @given(amount=mostly("12,50", st.one_of(numberish, any_text)),
           message=st.one_of(st.just(""), field_value, with_controls),
           key=st.one_of(st.uuids().map(lambda u: u.hex), st.just(""), any_text))
    def check(amount, message, key):
        from onemile.models import Pledge

        before = counts(app)
        response = client.post(f"/projects/{project_id}/pledge", data={"amount": amount, "message": message, "key": key})
        assert response.status_code < 500
        if response.status_code in (303, 303):
            assert counts(app)["pledge"] - before["pledge"] in (0, 1)  # 0: the same form again
            with app.app_context():
                newest = db.session.scalar(select(Pledge).order_by(Pledge.id.desc()).limit(1))
                assert newest.amount_cents > 0 and "\x00" not in (newest.message or "")
            return
        kept = {name: value for name, value, limit in (("amount", amount, 20), ("message", message, 500))
                if len(value) <= limit}
        assert_refusal_kept_nothing(app, before, response, kept)

    check()


article_forms = st.fixed_dictionaries({
    "title": st.one_of(field_value, with_controls),
    "body": st.one_of(field_value, with_controls),
    "status": mostly("published", st.one_of(st.just("draft"), any_text)),
})


def test_article_create_and_edit_never_fail_nor_half_write(app, factory, anne):
    from onemile.models import Article

    client = logged_in(app, anne)
    mag_id, article_id = _own_mag_and_article(factory, anne)

    def snapshot():
        with app.app_context():
            article = db.session.get(Article, article_id)
            return (article.title, article.body, article.status)

    original = snapshot()

    @PROPERTY
    @given(form=article_forms, editing=st.booleans())
    def check(form, editing):
        before = counts(app)
        url = f"/mags/{mag_id}/articles/{article_id}/edit" if editing else f"/mags/{mag_id}/articles/new"
        response = client.post(url, data=form)
        if response.status_code == 303:
            if editing:
                with app.app_context():
                    article = db.session.get(Article, article_id)
                    assert "\x00" not in article.title + article.body
                    article.title, article.body, article.status = original
                    db.session.commit()
            else:
                assert counts(app)["article"] == before["article"] + 1
            return
        kept = {name: form[name] for name, limit in (("title", 120), ("body", 20000)) if len(form[name]) <= limit}
        assert_refusal_kept_nothing(app, before, response, kept)
        assert snapshot() == original

    check()


def test_comment_form_never_fails_nor_half_writes(app, factory, anne, bruno):
    from onemile.models import Comment

    mag_id, article_id = _own_mag_and_article(factory, anne)
    client = logged_in(app, bruno)

    @PROPERTY
    @given(body=st.one_of(field_value, with_controls))
    def check(body):
        before = counts(app)
        response = client.post(f"/mags/{mag_id}/articles/{article_id}/comments", data={"body": body})
        assert response.status_code in (303, 422), response.status_code
        if response.status_code == 303:
            assert counts(app)["comment"] == before["comment"] + 1
            with app.app_context():
                newest = db.session.scalar(select(Comment).order_by(Comment.id.desc()).limit(1))
                assert "\x00" not in newest.body and newest.body.strip()
            return
        assert_refusal_kept_nothing(app, before, response, {"body": body} if len(body) <= 2000 else {})

    check()


map_params = st.dictionaries(
    st.sampled_from(["lat", "lon", "south", "west", "north", "east", "mile", "page", "kind", "category", "q"]),
    st.one_of(numberish, any_text.map(lambda s: s[:100])),
    max_size=8,
)


def _parses(parse) -> bool:
    try:
        parse()
    except (InvalidBox, InvalidCoordinates):
        return False
    return True


def _refused(params: dict, path: str, htmx: bool) -> bool:
    """Whether the map must answer 400: the address names a point (lat and lon) or a box
    (its four sides) that is not on the globe, on a page that reads it (the avatar is read
    by every map page; the box by the markers, which the nearest fragment alone does not draw)."""
    if path == "/listings/":
        return False
    bad_point = "lat" in params and "lon" in params and not _parses(lambda: LatLon.parse(params["lat"], params["lon"]))
    bad_box = not _parses(lambda: Box.from_args(params))
    return bad_point or (bad_box and not (path == "/map/nearest" and htmx))


@pytest.mark.parametrize("as_member", [True, False], ids=["member", "visitor"])
def test_map_query_parameters_never_fail(app, anne, factory, as_member):
    """Any query string: a page (or 422 for a filter), or a 400 that says the place is not on
    the globe exactly when a point or a box is named and malformed; never a 500, never a write."""
    factory.listing(anne)
    client = logged_in(app, anne) if as_member else app.test_client()
    paths = ["/map", "/map/markers", "/map/nearest", "/listings/"] if as_member else ["/explore", "/map/markers", "/map/nearest"]

    @PROPERTY
    @given(params=map_params, path=st.sampled_from(paths), htmx=st.booleans())
    def check(params, path, htmx):
        before = counts(app)
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.get(path, query_string=params, headers=headers)
        if _refused(params, path, htmx):
            assert response.status_code == 400, (path, params, response.status_code)
            page = response.get_data(as_text=True)
            assert "(south, west, north, east)" in page or "(lat, lon)" in page
        else:
            assert response.status_code in (200, 422), (path, params, response.status_code)
        assert counts(app) == before

    check()


def test_a_nul_typed_anywhere_is_dropped_not_a_server_error(app, client):
    """PostgreSQL refuses NUL in text; SQLite stored it. Found by the properties above."""
    from conftest import SIGNUP

    from onemile.models import Member

    response = client.post("/auth/signup", data={**SIGNUP, "first_name": "An\x00ne", "last_name": "Mar\x00tin"})
    assert_see_other(response)
    with app.app_context():
        member = db.session.scalar(select(Member))
        assert (member.first_name, member.last_name) == ("Anne", "Martin")
    # Sign-up answers alike for every address, so it logs nobody in: the password does.
    login = client.post("/auth/login", data={"email": SIGNUP["email"], "password": SIGNUP["password"]})
    assert_see_other(login)
    assert client.get("/listings/", query_string={"q": "vé\x00lo"}).status_code == 200

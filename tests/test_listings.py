"""Listings, on both backends: post requests and offers in one or more miles, the list of a
mile with filters and pages (page and htmx fragment), edit, close, renew, delete, what other
members can and cannot do, bad input, and escaping of user text on every page that shows it.

Members are created with `language="en"` and pages asked in English, so the assertions on
messages hold whatever the French catalog says.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import assert_see_other, count, english, html, logged_in

from onemile.extensions import db
from onemile.geo import LatLon, haversine_m
from onemile.listings.services import PAGE_SIZE
from onemile.miles.services import add_mile
from onemile.models import CATEGORIES, Listing, ListingPlacement, Member, utcnow

BRUSSELS = LatLon(50.8466, 4.3517)
ILLZACH = LatLon(47.7818, 7.3465)
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
LISTING_LINK = re.compile(r'href="/listings/(\d+)"')


@pytest.fixture
def author(client, factory, auth):
    """A logged-in member (pages in English) with one mile around Mulhouse."""
    english(client)
    ref = factory.member(language="en", first_name="Author")
    assert auth.login(ref).status_code == 303
    return ref


@pytest.fixture
def neighbour(app, factory):
    """Another member of the same mile, logged in on a client of their own."""
    return logged_in(app, factory.member(language="en", first_name="Neighbour"), "en")


def totals(app) -> tuple[int, int]:
    """(listings, placements), read in a fresh session."""
    return count(app, Listing), count(app, ListingPlacement)


def stored(app, listing_id: int) -> dict | None:
    """A listing as plain values, read in a fresh session."""
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        if listing is None:
            return None
        return {
            "kind": listing.kind,
            "offer_type": listing.offer_type,
            "category": listing.category,
            "title": listing.title,
            "body": listing.body,
            "status": listing.status,
            "created_at": listing.created_at,
            "expires_at": listing.expires_at,
            "placements": {p.mile_id: (p.kind, p.latlon) for p in listing.placements},
        }


def second_mile(app, member, name="Travail", point=ILLZACH) -> int:
    with app.test_request_context():
        mile_id = add_mile(db.session.get(Member, member.id), name, point).id
        db.session.commit()
        return mile_id


def post(client, mile_ids, **fields):
    data = {
        "kind": "request",
        "category": "diy",
        "title": "Lend me a drill",
        "body": "For Saturday.",
        "miles": [str(m) for m in mile_ids],
        **fields,
    }
    return client.post("/listings/new", data=data)


def created_id(response) -> int:
    assert_see_other(response)  # response.get_data(as_text=True)[-2000:]
    return int(
        re.fullmatch(r"(?:http://localhost)?/listings/(\d+)", response.headers["Location"]).group(1)
    )


def listed_ids(client, **query) -> list[int]:
    """Ids of the listings on the list page of my mile for these filters."""
    response = client.get("/listings/", query_string=query)
    assert response.status_code == 200
    return [int(i) for i in LISTING_LINK.findall(html(response))]


# --- posting --------------------------------------------------------------------------------------


def test_post_a_request_and_an_offer(app, client, author):
    request_id = created_id(
        post(client, [author.mile_id], offer_type="give", title="Need a ladder")
    )
    request = stored(app, request_id)
    assert (request["kind"], request["offer_type"]) == ("request", None), (
        "a request ignores offer types"
    )
    assert request["status"] == "open"
    assert request["expires_at"] - request["created_at"] == pytest.approx(
        timedelta(days=30), abs=timedelta(minutes=1)
    )
    assert set(request["placements"]) == {author.mile_id}

    missing_type = post(client, [author.mile_id], kind="offer", title="Giving a sofa")
    assert missing_type.status_code == 422
    assert "Say whether you give, lend, barter or offer a service." in html(missing_type)
    assert 'value="Giving a sofa"' in html(missing_type), "what was typed is kept"
    assert totals(app) == (1, 1)

    offer_id = created_id(
        post(client, [author.mile_id], kind="offer", offer_type="lend", title="Lending a tent")
    )
    assert (stored(app, offer_id)["kind"], stored(app, offer_id)["offer_type"]) == ("offer", "lend")

    detail = client.get(f"/listings/{offer_id}")
    assert detail.status_code == 200
    assert "Lending a tent" in html(detail) and "For Saturday." in html(detail)
    assert "Your listing is online." in html(detail)


def test_the_form_fits_the_kind_but_carries_every_field_and_the_server_sorts_them(app, client, author):
    """The post form hides what does not apply (CSS, tests/test_listing_form_browser.py) but
    every field is in the HTML, so it works without JavaScript; the server takes only the
    fields of the chosen kind and precision."""
    page = html(client.get("/listings/new"))
    assert 'class="stack listing-form"' in page
    assert 'id="offer_type-group"' in page and 'id="meeting-place"' in page
    # A request with nothing but its own fields.
    request_id = created_id(client.post("/listings/new", data={
        "kind": "request", "category": "diy", "title": "Need a hand", "body": "Moving a sofa.",
        "miles": [str(author.mile_id)], "location_mode": "approximate",
    }))
    assert stored(app, request_id)["offer_type"] is None
    # Leftovers of another choice (an offer type, a meeting place) are ignored, not refused.
    leftover_id = created_id(post(client, [author.mile_id], offer_type="lend", location_mode="approximate",
                                  latitude="not a number", longitude="999"))
    assert stored(app, leftover_id)["offer_type"] is None
    # An offer still needs its type.
    refused = post(client, [author.mile_id], kind="offer", title="Giving a lamp")
    assert refused.status_code == 422
    assert 'id="offer_type-error"' in html(refused) and 'value="Giving a lamp"' in html(refused)
    assert totals(app) == (2, 2)
    # No category is chosen for the author: the list starts on "Choose a category", and an
    # ad sent without one is refused with the others kept.
    assert re.search(r'<select[^>]*name="category"[^>]*><option value="">Choose a category</option>', page)
    unsorted = post(client, [author.mile_id], category="", title="Lamp to give")
    assert unsorted.status_code == 422
    assert 'id="category-error"' in html(unsorted) and 'value="Lamp to give"' in html(unsorted)
    assert totals(app) == (2, 2)


def test_every_category_can_be_posted(app, client, author):
    ids = {
        category: created_id(post(client, [author.mile_id], category=category))
        for category in CATEGORIES
    }
    assert {category: stored(app, i)["category"] for category, i in ids.items()} == {
        c: c for c in CATEGORIES
    }


def test_posting_in_two_miles_places_the_listing_in_each(app, client, author):
    work = second_mile(app, author)
    listing_id = created_id(post(client, [author.mile_id, work]))
    placements = stored(app, listing_id)["placements"]
    assert set(placements) == {author.mile_id, work}
    assert haversine_m(placements[work][1], ILLZACH) < 500
    assert haversine_m(placements[author.mile_id][1], ILLZACH) > 2000
    assert totals(app) == (1, 2)


def test_posting_in_someone_elses_mile_is_refused(app, client, factory, author):
    other = factory.member(first_name="Other")
    for mile_ids in ([other.mile_id], [author.mile_id, other.mile_id], [], ["abc"]):
        response = post(client, mile_ids)
        assert response.status_code == 422, mile_ids
        assert 'class="error"' in html(response), mile_ids
    assert totals(app) == (0, 0)


def test_bad_input_is_refused_and_nothing_is_written(app, client, author):
    for fields in (
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 10_000},
        {"body": ""},
        {"body": "y" * 100_000},
        {"category": "weapons"},
        {"category": ""},
        {"kind": "admin"},
        {"kind": "offer", "offer_type": "sell"},
    ):
        response = post(client, [author.mile_id], **fields)
        assert response.status_code == 422, list(fields)
        assert 'class="error"' in html(response), list(fields)
    kept = post(client, [author.mile_id], title="", body="Kept body text")
    assert "Kept body text" in html(kept)
    assert totals(app) == (0, 0)


def test_a_double_submit_creates_two_complete_listings(app, client, author):
    """Sending the same form twice (double click, resend) posts two listings: the form has no
    one-time token. Each is whole, with its placement, and the author can delete one."""
    first = created_id(post(client, [author.mile_id], title="Babysitting on Friday"))
    second = created_id(post(client, [author.mile_id], title="Babysitting on Friday"))
    assert first != second
    assert totals(app) == (2, 2)
    assert (
        set(stored(app, first)["placements"])
        == set(stored(app, second)["placements"])
        == {author.mile_id}
    )


# --- the list of a mile ------------------------------------------------------------------------------


def test_list_filters_by_kind_category_and_words(app, client, factory, author):
    drill = factory.listing(
        author, kind="request", category="diy", title="Need a DRILL", body="Two hours."
    )
    bike = factory.listing(
        author, kind="offer", offer_type="give", category="goods", title="Giving a bike"
    )
    piano = factory.listing(
        author,
        kind="offer",
        offer_type="service",
        category="lessons",
        title="Piano lessons",
        body="With a patient teacher.",
    )
    brussels = second_mile(app, author, "Bruxelles", BRUSSELS)
    far = factory.listing(author, title="Far away", mile_ids=(brussels,))

    everything = listed_ids(client)
    assert set(everything) == {drill, bike, piano}, "only listings within my mile"
    assert everything == sorted(everything, reverse=True), "newest first"
    assert listed_ids(client, kind="request") == [drill]
    assert set(listed_ids(client, kind="offer")) == {bike, piano}
    assert listed_ids(client, category="goods") == [bike]
    assert listed_ids(client, category="lessons") == [piano]
    assert listed_ids(client, q="patient") == [piano], "words are searched in the text too"
    assert listed_ids(client, q="drill") == [drill], "case does not matter"
    assert listed_ids(client, q="giving bike") == [bike], "every word must match"
    assert listed_ids(client, q="%") == [], "LIKE wildcards are searched as text"
    assert listed_ids(client, kind="offer", category="goods", q="bike") == [bike]
    assert listed_ids(client, mile=brussels) == [far]
    assert listed_ids(client, kind="unknown") == sorted(everything, reverse=True)


def test_list_pages(app, client, factory, author):
    ids = [factory.listing(author, title=f"Item {i}") for i in range(PAGE_SIZE + 1)]
    first = client.get("/listings/")
    first_ids = [int(i) for i in LISTING_LINK.findall(html(first))]
    assert first_ids == sorted(ids, reverse=True)[:PAGE_SIZE]
    older = re.search(r'href="([^"]*before=[^"]+)" rel="next"', html(first))
    assert older, "the first page links to the older listings"
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert [int(i) for i in LISTING_LINK.findall(html(second))] == [min(ids)]
    assert 'rel="next"' not in html(second), "the last page links to no older page"
    assert re.search(r'href="/listings/\?mile=\d+">', html(second)), "it links back to the newest"


def test_list_fragment_for_htmx_and_page_otherwise(client, factory, author):
    factory.listing(author, title="Giving a bike")
    page = client.get("/listings/", query_string={"q": "bike"})
    fragment = client.get("/listings/", query_string={"q": "bike"}, headers={"HX-Request": "true"})
    boosted = client.get("/listings/", headers={"HX-Request": "true", "HX-Boosted": "true"})

    for response in (page, fragment, boosted):
        assert response.status_code == 200
        assert "HX-Request" in response.headers.get("Vary", "")
        assert "Giving a bike" in html(response)
    assert "<html" in html(page) and "<html" in html(boosted)
    assert "<html" not in html(fragment) and "<form" not in html(fragment)


# --- the author's actions ------------------------------------------------------------------------


def test_edit_changes_kind_text_and_miles(app, client, author):
    work = second_mile(app, author)
    listing_id = created_id(
        post(client, [author.mile_id], kind="offer", offer_type="give", category="goods")
    )
    form = client.get(f"/listings/{listing_id}/edit")
    assert form.status_code == 200 and 'value="Lend me a drill"' in html(form)

    response = client.post(
        f"/listings/{listing_id}/edit",
        data={
            "kind": "request",
            "offer_type": "give",
            "category": "repairs",
            "title": "Fix my tap",
            "body": "It drips.",
            "miles": [str(work)],
        },
    )

    assert_see_other(response)
    listing = stored(app, listing_id)
    assert (listing["kind"], listing["offer_type"], listing["category"]) == (
        "request",
        None,
        "repairs",
    )
    assert (listing["title"], listing["body"]) == ("Fix my tap", "It drips.")
    assert set(listing["placements"]) == {work}
    assert listing["placements"][work][0] == "request", "the map layer follows the kind"
    assert totals(app) == (1, 1)
    bad = client.post(
        f"/listings/{listing_id}/edit",
        data={"kind": "request", "category": "diy", "title": "", "body": "x", "miles": [str(work)]},
    )
    assert bad.status_code == 422
    assert stored(app, listing_id)["title"] == "Fix my tap"


def test_close_hides_from_others_but_not_from_the_author(app, client, factory, author, neighbour):
    listing_id = factory.listing(author, title="Giving a bike")
    assert listed_ids(neighbour) == [listing_id]
    assert "Giving a bike" in html(neighbour.get("/map/markers"))

    assert client.post(f"/listings/{listing_id}/close").status_code == 303

    assert stored(app, listing_id)["status"] == "closed"
    assert listed_ids(neighbour) == []
    assert "Giving a bike" not in html(neighbour.get("/map/markers"))
    assert "Giving a bike" not in html(neighbour.get("/map"))
    assert neighbour.get(f"/listings/{listing_id}").status_code == 404, "no peeking by id"
    mine = client.get(f"/listings/{listing_id}")
    assert mine.status_code == 200 and "Closed" in html(mine)
    assert "Giving a bike" in html(client.get("/listings/mine"))


def test_renew_opens_an_expired_listing_again(app, client, factory, author, neighbour):
    listing_id = factory.listing(author, title="Giving a bike")
    # A fresh ad offers no renewal: renewing it would change nothing its author can see.
    assert f'action="/listings/{listing_id}/renew"' not in html(client.get(f"/listings/{listing_id}"))
    # A context of its own, closed before any request: requests made while the `ctx` fixture
    # is active share its app context, hence `g` (the logged-in member) and the session.
    with app.app_context():
        db.session.get(Listing, listing_id).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()

    assert listed_ids(client) == listed_ids(neighbour) == []
    assert neighbour.get(f"/listings/{listing_id}").status_code == 404
    expired_page = html(client.get(f"/listings/{listing_id}"))
    assert "Expired" in expired_page and f'action="/listings/{listing_id}/renew"' in expired_page

    assert client.post(f"/listings/{listing_id}/renew").status_code == 303

    listing = stored(app, listing_id)
    assert listing["status"] == "open"
    assert listing["expires_at"] - utcnow() == pytest.approx(
        timedelta(days=30), abs=timedelta(minutes=1)
    )
    assert listed_ids(neighbour) == [listing_id]
    assert neighbour.get(f"/listings/{listing_id}").status_code == 200


def test_delete_removes_the_listing_and_its_placements(app, client, factory, author):
    listing_id = factory.listing(author)
    kept = factory.listing(author, title="Kept")
    # On the page, Delete only asks; the form that deletes is behind the question.
    page = html(english(client).get(f"/listings/{listing_id}"))
    step = re.search(r'<details class="confirm-step">\s*<summary class="button danger">Delete</summary>(.*?)</details>', page, re.DOTALL)
    assert step and f'action="/listings/{listing_id}/delete"' in step.group(1)
    assert "Delete this ad for good? This cannot be undone." in step.group(1) and "Yes, delete the ad" in step.group(1)
    assert page.count(f'action="/listings/{listing_id}/delete"') == 1
    response = client.post(f"/listings/{listing_id}/delete")
    assert_see_other(response)
    assert stored(app, listing_id) is None
    assert totals(app) == (1, 1)
    assert client.get(f"/listings/{listing_id}").status_code == 404
    assert listed_ids(client) == [kept]


def test_other_members_cannot_touch_a_listing(app, client, factory, author, neighbour):
    listing_id = factory.listing(author, title="Giving a bike")
    before = stored(app, listing_id)
    assert neighbour.get(f"/listings/{listing_id}").status_code == 200, "open listings are readable"

    assert neighbour.get(f"/listings/{listing_id}/edit").status_code == 404
    edit = {
        "kind": "request",
        "category": "diy",
        "title": "Hacked",
        "body": "Hacked",
        "miles": [str(author.mile_id)],
    }
    assert neighbour.post(f"/listings/{listing_id}/edit", data=edit).status_code == 404
    for action in ("close", "renew", "delete"):
        assert neighbour.post(f"/listings/{listing_id}/{action}").status_code == 404, action
    assert neighbour.post("/listings/999999/close").status_code == 404
    assert stored(app, listing_id) == before

    client.post(f"/listings/{listing_id}/close")
    assert neighbour.get(f"/listings/{listing_id}").status_code == 404
    assert neighbour.post(f"/listings/{listing_id}/renew").status_code == 404
    assert stored(app, listing_id)["status"] == "closed"


def test_listings_need_a_logged_in_member(app, factory):
    member = factory.member()
    listing_id = factory.listing(member)
    visitor = app.test_client()
    for path in ("/listings/", "/listings/new", f"/listings/{listing_id}", "/listings/mine"):
        response = visitor.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path
    assert visitor.post(f"/listings/{listing_id}/delete").status_code == 302
    assert stored(app, listing_id) is not None


# --- escaping -------------------------------------------------------------------------------------


def test_user_text_is_escaped_on_every_page(client, author):
    listing_id = created_id(post(client, [author.mile_id], title=XSS, body=XSS))
    pages = {
        "detail": client.get(f"/listings/{listing_id}"),
        "list": client.get("/listings/"),
        "list fragment": client.get("/listings/", headers={"HX-Request": "true"}),
        "mine": client.get("/listings/mine"),
        "map": client.get("/map"),
        "markers": client.get("/map/markers"),
        "markers fragment": client.get("/map/markers", headers={"HX-Request": "true"}),
        "edit": client.get(f"/listings/{listing_id}/edit"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert ESCAPED in html(response), name
        assert XSS not in html(response), name


def test_ids_and_pages_out_of_range_are_not_found_not_errors(client, author):
    huge = 10**20
    assert client.get(f"/listings/{huge}").status_code == 404
    assert client.get(f"/listings/{2**31}/edit").status_code == 404
    assert client.post(f"/listings/{huge}/delete").status_code == 404
    for cursor in (huge, f"20261207000000000000-{huge}", "99999999999999999999-1", "-5", "abc", "2026-1", ""):
        assert client.get("/listings/", query_string={"before": cursor}).status_code == 200, cursor

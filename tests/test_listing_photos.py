"""Photos on ads (issue 15, item 4), on both backends, with real pictures made by Pillow:
posted and edited through the forms, stripped of their metadata (GPS), shown in cards, on
the ad page, in the nearest panel and map popups, never where the ad is not (the image URL
answers 404 too, to another member), refused clearly with nothing half-written, and covered
by the data download and the account deletion."""

from __future__ import annotations

import io
import json
import re

import pytest
from helpers import count, html, logged_in
from PIL import Image
from sqlalchemy import select
from test_mags import files_in, gps_exif, jpeg, png, png_bomb, upload

from onemile.extensions import db
from onemile.images import SIZES
from onemile.models import Listing, ListingPhoto, Member

TITLE = "Donne un vélo rouge"
IMAGE_URL = re.compile(r'/images/([0-9a-f]{32}_\d+x\d+)/(\w+)\.(jpg|webp)')


@pytest.fixture
def a(app, anne):
    """Anne's client, pages in English."""
    return logged_in(app, anne, "en")


@pytest.fixture
def b(app, bruno):
    """Bruno's client (another member, a neighbour of Anne), pages in English."""
    return logged_in(app, bruno, "en")


def post(client, mile_id: int, photos=(), **fields):
    data = {"kind": "offer", "offer_type": "give", "category": "goods", "title": TITLE,
            "body": "Un vélo de ville, bon état.", "miles": [str(mile_id)], "location_mode": "approximate",
            **fields}
    data["photos"] = list(photos) or [upload(b"", "")]  # an empty file input still sends a part
    return client.post("/listings/new", data=data, content_type="multipart/form-data")


def created_id(response) -> int:
    assert response.status_code == 303, html(response)[-3000:]
    return int(re.search(r"/listings/(\d+)$", response.headers["Location"]).group(1))


def photo_names(app, listing_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(ListingPhoto.image).where(ListingPhoto.listing_id == listing_id)
            .order_by(ListingPhoto.position, ListingPhoto.id)
        ))


def status(client, url: str) -> int:
    """The status of a picture's URL (the served file closed at once)."""
    with client.get(url) as response:
        return response.status_code


def bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 0, 255)).save(buffer, "BMP")
    return buffer.getvalue()


# --- posting, stripping, showing -------------------------------------------------------


def test_photos_are_stripped_stored_in_sizes_and_shown_everywhere_the_ad_is(app, a, b, anne):
    listing_id = created_id(post(a, anne.mile_id, photos=[
        upload(jpeg((2400, 1600), exif=gps_exif()), "IMG_0001.jpg"), upload(png((300, 200)), "logo.png"),
    ]))
    names = photo_names(app, listing_id)
    assert len(names) == 2
    # EXIF orientation 6 was applied (the landscape picture stands upright) before it went.
    assert names[0].endswith("_1067x1600")
    files = files_in(app)
    assert len(files) == 2 * len(SIZES)  # every size, and never the upload itself
    for path in files:
        data = path.read_bytes()
        with Image.open(path) as stored:
            assert stored.format == "JPEG"
            assert not stored.getexif() and "exif" not in stored.info and "icc_profile" not in stored.info
        assert b"PhoneMaker" not in data and b"GPS" not in data

    # The ad's page: a gallery, the cover first, alt text from the title, no layout shift.
    page = html(b.get(f"/listings/{listing_id}"))
    gallery = page[page.index('class="ad-gallery"'):]
    gallery = gallery[:gallery.index("</ul>")]
    assert gallery.index(names[0]) < gallery.index(names[1])
    assert f'alt="Photo 1 of 2: {TITLE}"' in gallery and f'alt="Photo 2 of 2: {TITLE}"' in gallery
    assert re.search(r'<img [^>]*width="\d+" height="\d+"', gallery)
    assert 'loading="lazy"' in gallery and 'type="image/webp"' in gallery and "sizes=" in gallery
    assert f'href="/images/{names[0]}/large.jpg"' in gallery  # each opens large, by keyboard too
    # A small picture is not listed three times at the same width.
    assert re.search(rf'srcset="/images/{names[1]}/small\.jpg 300w"', gallery)

    # The list of the mile: the cover as a lazy WebP thumbnail with its size (never the largest).
    listed = html(b.get("/listings/"))
    assert re.search(rf'<img src="/images/{names[0]}/small\.webp" srcset="/images/{names[0]}/small\.webp 240w, '
                     rf'/images/{names[0]}/phone\.webp 480w" sizes="5rem"\s+width="480" height="720" alt="" loading="lazy"',
                     listed), listed
    # The map: the nearest panel (page and fragment) and the markers' popup data.
    for headers in ({}, {"HX-Request": "true"}):
        nearest = html(b.get("/map/nearest", headers=headers))
        assert f"/images/{names[0]}/" in nearest and 'loading="lazy"' in nearest
        markers = html(b.get("/map/markers", headers=headers,
                             query_string={"south": 47.70, "west": 7.25, "north": 47.80, "east": 7.42}))
        assert f'data-photo="{names[0]}"' in markers
    map_page = html(b.get("/map"))
    assert 'data-photo-url="/images/PHOTO/small.webp"' in map_page

    # Served to a member who may read the ad, kept by their browser only.
    for size in SIZES:
        with b.get(f"/images/{names[0]}/{size}.webp") as served:
            assert served.status_code == 200 and served.mimetype == "image/webp"
            assert served.headers["Cache-Control"].startswith("private")
            assert "Cookie" in served.headers["Vary"]
    # Visitors see no ad photo: the ad's page is for members.
    assert status(app.test_client(), f"/images/{names[0]}/small.jpg") == 404


def test_photos_are_not_visible_where_the_ad_is_not(app, a, b, anne, bruno, factory):
    from onemile.moderation.services import hide_content, reinstate, suspend, unhide_content

    listing_id = created_id(post(a, anne.mile_id, photos=[upload(jpeg())]))
    [name] = photo_names(app, listing_id)
    url = f"/images/{name}/phone.jpg"
    assert status(b, url) == 200

    def as_app(action):
        with app.test_request_context():
            action()
            db.session.commit()

    # Hidden by moderation: gone for Bruno, and for Anne too (as the ad is).
    as_app(lambda: hide_content(db.session.get(Listing, listing_id)))
    assert status(b, url) == 404 and status(a, url) == 404
    assert b.get(f"/listings/{listing_id}").status_code == 404
    as_app(lambda: unhide_content(db.session.get(Listing, listing_id)))
    assert status(b, url) == 200

    # A block either way.
    factory.block(anne, bruno)
    assert status(b, url) == 404
    assert status(a, url) == 200  # the author still sees her own ad
    with app.app_context():
        from onemile.models import Block
        db.session.execute(Block.__table__.delete())
        db.session.commit()
    assert status(b, url) == 200

    # A suspended author.
    as_app(lambda: suspend(db.session.get(Member, anne.id)))
    assert status(b, url) == 404
    as_app(lambda: reinstate(db.session.get(Member, anne.id)))
    assert status(b, url) == 200

    # Closed: others no longer see it (it is off the map and its page is gone for them).
    assert a.post(f"/listings/{listing_id}/close").status_code == 303
    assert status(b, url) == 404 and status(a, url) == 200


# --- bad input ----------------------------------------------------------------------------

BAD = {
    # Small pictures: five large ones would make the test client spool its request to a file.
    "a fifth photo": ([(jpeg((200, 150)), "1.jpg")] * 5, "4 photos at most"),
    "not an image": ([(jpeg(), "good.jpg"), (b"<html><script>alert(1)</script></html>", "holiday.jpg")],
                     "not a photo we can read"),
    "a decompression bomb": ([(jpeg(), "good.jpg"), (png_bomb(), "bomb.png")], "too large"),
    "a wrong type": ([(jpeg(), "good.jpg"), (bmp(), "scan.bmp")], "not a photo we can read"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_photos_are_refused_on_the_form_and_nothing_is_half_written(app, a, anne, case):
    photos, message = BAD[case]
    response = post(a, anne.mile_id, photos=[upload(data, filename) for data, filename in photos])
    assert response.status_code == 422
    page = html(response)
    error = re.search(r'<p class="error" id="photos-error" role="alert">([^<]*)</p>', page)
    assert error and message in error.group(1), page[-4000:]
    assert f'value="{TITLE}"' in page and "Un vélo de ville, bon état." in page  # what was typed is kept
    assert 'aria-invalid="true"' in page
    assert count(app, Listing) == 0 and count(app, ListingPhoto) == 0
    assert files_in(app) == []  # the good photo stored before the bad one was removed


def test_a_bad_photo_on_edit_leaves_the_ad_as_it_was(app, a, anne):
    listing_id = created_id(post(a, anne.mile_id, photos=[upload(jpeg())]))
    before_names, before_files = photo_names(app, listing_id), files_in(app)
    response = a.post(f"/listings/{listing_id}/edit", content_type="multipart/form-data", data={
        "kind": "offer", "offer_type": "give", "category": "goods", "title": "Another title",
        "body": "Changed.", "miles": [str(anne.mile_id)], "location_mode": "approximate",
        "existing_photos-0-photo_id": str(_photo_ids(app, listing_id)[0]), "existing_photos-0-position": "1",
        "existing_photos-0-remove": "y",
        "photos": [upload(jpeg(), "ok.jpg"), upload(b"GIF89a not really", "anim.gif")],
    })
    assert response.status_code == 422 and "not a photo we can read" in html(response)
    assert 'value="Another title"' in html(response)
    assert photo_names(app, listing_id) == before_names and files_in(app) == before_files
    with app.app_context():
        assert db.session.get(Listing, listing_id).title == TITLE


def _photo_ids(app, listing_id: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(
            select(ListingPhoto.id).where(ListingPhoto.listing_id == listing_id).order_by(ListingPhoto.position)
        ))


# --- edit: reorder, remove, add -------------------------------------------------------------


def edit(client, listing_id: int, mile_id: int, order: dict[int, tuple[int, bool]], photos=()):
    data = {"kind": "offer", "offer_type": "give", "category": "goods", "title": TITLE,
            "body": "Un vélo de ville, bon état.", "miles": [str(mile_id)], "location_mode": "approximate",
            "photos": list(photos) or [upload(b"", "")]}
    for index, (photo_id, (position, remove)) in enumerate(order.items()):
        data[f"existing_photos-{index}-photo_id"] = str(photo_id)
        data[f"existing_photos-{index}-position"] = str(position)
        if remove:
            data[f"existing_photos-{index}-remove"] = "y"
    return client.post(f"/listings/{listing_id}/edit", data=data, content_type="multipart/form-data")


def test_edit_reorders_removes_and_adds_photos_the_first_is_the_cover(app, a, b, anne):
    listing_id = created_id(post(a, anne.mile_id, photos=[
        upload(jpeg(colour=(255, 0, 0))), upload(jpeg(colour=(0, 255, 0))), upload(jpeg(colour=(0, 0, 255))),
    ]))
    first, second, third = photo_names(app, listing_id)
    ids = _photo_ids(app, listing_id)
    # The edit form shows each photo with its place and a way to remove it, labelled.
    form = html(a.get(f"/listings/{listing_id}/edit"))
    assert 'enctype="multipart/form-data"' in form
    assert '<label for="existing_photos-2-position">Place of photo 3</label>' in form
    assert '<label for="existing_photos-1-remove">Remove photo 2</label>' in form
    assert 'multiple' in form and 'accept="image/jpeg,image/png,image/webp,image/gif"' in form

    response = edit(a, listing_id, anne.mile_id, {ids[0]: (2, False), ids[1]: (2, True), ids[2]: (1, False)},
                    photos=[upload(jpeg(colour=(9, 9, 9)))])
    assert response.status_code == 303, html(response)[-3000:]
    names = photo_names(app, listing_id)
    assert names[:2] == [third, first] and len(names) == 3
    stored = {path.name.split("-")[0] for path in files_in(app)}
    assert second not in stored and stored == set(names)  # the removed photo's files are gone
    # The cover leads in the list.
    assert re.search(rf'<img src="/images/{third}/small\.webp"', html(b.get("/listings/")))

    # Four at most, counting those kept.
    too_many = edit(a, listing_id, anne.mile_id, {i: (1, False) for i in _photo_ids(app, listing_id)},
                    photos=[upload(jpeg()), upload(jpeg())])
    assert too_many.status_code == 422 and "4 photos at most" in html(too_many)
    assert photo_names(app, listing_id) == names


def test_a_photo_of_another_ad_cannot_be_moved_or_removed(app, a, b, anne, bruno):
    annes = created_id(post(a, anne.mile_id, photos=[upload(jpeg())]))
    brunos = created_id(post(b, bruno.mile_id, photos=[upload(jpeg())]))
    [bruno_photo] = _photo_ids(app, brunos)
    response = edit(a, annes, anne.mile_id, {bruno_photo: (1, True)})
    assert response.status_code == 422
    assert len(photo_names(app, brunos)) == 1 and len(photo_names(app, annes)) == 1
    # Nor can Bruno edit Anne's ad at all.
    assert edit(b, annes, bruno.mile_id, {_photo_ids(app, annes)[0]: (1, True)}).status_code == 404


# --- deletion, data download, account deletion -----------------------------------------------


def test_deleting_an_ad_removes_its_photos(app, a, anne):
    listing_id = created_id(post(a, anne.mile_id, photos=[upload(jpeg()), upload(jpeg())]))
    assert len(files_in(app)) == 2 * len(SIZES)
    assert a.post(f"/listings/{listing_id}/delete").status_code == 303
    assert count(app, ListingPhoto) == 0 and files_in(app) == []


def test_the_download_lists_my_photos_and_deleting_my_account_removes_them(app, a, b, anne, bruno, factory):
    mine = created_id(post(a, anne.mile_id, photos=[upload(jpeg())]))
    answered = created_id(post(a, anne.mile_id, photos=[upload(jpeg())], title="Prête une perceuse"))
    brunos = created_id(post(b, bruno.mile_id, photos=[upload(jpeg())], title="Bruno's"))
    factory.conversation(bruno, answered)
    export = json.loads(a.get("/account/export").get_data(as_text=True))
    listings = {item["id"]: item for item in export["listings"]}
    [url] = listings[mine]["photos"]
    assert re.fullmatch(rf"http://localhost/images/{photo_names(app, mine)[0]}/large\.jpg", url)
    assert status(a, url.replace("http://localhost", "")) == 200

    assert a.post("/account/delete", data={"password": anne.password, "confirm": "y"}).status_code == 303
    remaining = {path.name.split("-")[0] for path in files_in(app)}
    assert remaining == set(photo_names(app, brunos))  # Anne's are gone, Bruno's stay
    assert count(app, ListingPhoto) == 1
    # The answered ad stays for Bruno's conversation, without its text or photos.
    with app.app_context():
        kept = db.session.get(Listing, answered)
        assert kept is not None and kept.photos == [] and kept.body == ""

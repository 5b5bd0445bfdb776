"""Mags: create a mag, publish articles with photos, read, comment, follow, share, and the
`mags` map layer; hostile uploads and bodies; who may do what; drafts never leak."""

from __future__ import annotations

import io
import os
import random
import re
import struct
import zlib
from pathlib import Path

import pytest
from helpers import assert_see_other, count, csrf_token_in
from PIL import ExifTags, Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from onemile.extensions import db
from onemile.images import SIZES
from onemile.models import Article, ArticlePhoto, Comment, Mag, MagFollow, Notification

# --- pictures made here, never downloaded ----------------------------------------------


def jpeg(size=(1200, 800), colour=(200, 120, 40), exif=None, comment=None) -> bytes:
    """A real JPEG photo."""
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 50):  # some detail, so that resizing has something to do
        image.paste((30, 60, 90), (x, 0, x + 10, size[1]))
    buffer = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    if comment:
        options["comment"] = comment
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def png(size=(300, 200), mode="RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 200, 10, 128) if mode == "RGBA" else 128).save(buffer, "PNG")
    return buffer.getvalue()


def gps_exif(orientation: int = 6) -> Image.Exif:
    """EXIF with a GPS position in Mulhouse and a camera orientation (rotate 90°)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (47.0, 45.0, 3.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (7.0, 20.0, 9.0),
    })
    return exif


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width=30_000, height=30_000) -> bytes:
    """A genuine 900-megapixel black PNG that weighs about 100 KB: decoding it would take
    gigabytes of memory."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def noise_png(side=700) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="image/jpeg")


def send(client, url: str, fields: dict):
    """POST a multipart form encoded in memory (the test client spools large bodies to a
    temporary file it never closes)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


# --- helpers ---------------------------------------------------------------------------


def files_in(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


MAG_FORM = {
    "title": "Boulangerie du Rebberg",
    "kind": "shop",
    "about": "Pain au levain, bretzels et kougelhopf.\nOuvert du mardi au dimanche.",
    "latitude": "47,7385",
    "longitude": "7.3305",
    "cover_alt": "",
}


def create_mag(client, **fields) -> int:
    response = send(client, "/mags/new", {**MAG_FORM, **fields})
    assert_see_other(response)  # response.get_data(as_text=True)
    return int(re.search(r"/mags/(\d+)$", response.headers["Location"]).group(1))


def article_form(title="Le kougelhopf de Noël", body="Notre **kougelhopf** revient.", status="published",
                 photos=()) -> dict:
    data = {"title": title, "body": body, "status": status}
    for index, (file, alt) in enumerate(photos):
        data[f"new_photos-{index}-file"] = file
        data[f"new_photos-{index}-alt"] = alt
    return data


def post_article(client, mag_id: int, **fields):
    return send(client, f"/mags/{mag_id}/articles/new", article_form(**fields))


def create_article(client, mag_id: int, **fields) -> int:
    response = post_article(client, mag_id, **fields)
    assert_see_other(response)  # response.get_data(as_text=True)
    return int(re.search(r"/articles/(\d+)$", response.headers["Location"]).group(1))


# --- the happy path --------------------------------------------------------------------


def test_a_shop_creates_a_mag_and_publishes_an_illustrated_article(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client, cover=upload(jpeg()), cover_alt="La vitrine de la boulangerie")
    response = post_article(client, mag_id, photos=[(upload(jpeg((2400, 1600))), "Un kougelhopf doré")])
    assert_see_other(response)
    article_url = response.headers["Location"]

    with app.app_context():
        mag = db.session.get(Mag, mag_id)
        assert mag.owner_id == anne.id and mag.kind == "shop"
        assert (round(mag.latlon.lat, 4), round(mag.latlon.lon, 4)) == (47.7385, 7.3305)  # decimal comma read
        article = db.session.scalars(select(Article)).one()
        assert article.status == "published" and article.published_at is not None
        photo = article.photos[0]
        assert photo.alt == "Un kougelhopf doré"
        assert photo.image.endswith("_1600x1067")
    # Every size of each picture, nothing else (the uploads themselves are never written).
    assert len(files_in(app)) == 2 * len(SIZES)

    page = client.get(article_url).get_data(as_text=True)
    assert "<strong>kougelhopf</strong>" in page
    assert 'alt="Un kougelhopf doré"' in page
    assert re.search(r'srcset="/images/[0-9a-f]{32}_1600x1067/small\.jpg 360w, /images/[0-9a-f]{32}_1600x1067/phone\.jpg 720w, /images/[0-9a-f]{32}_1600x1067/large\.jpg 1600w"', page)
    assert 'width="720" height="480"' in page


def test_images_are_served_resized_with_long_cache_and_no_original(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    original = jpeg((3000, 2000), exif=gps_exif())
    assert b"PhoneMaker" in original  # the upload really carries metadata
    create_article(client, mag_id, photos=[(upload(original), "Vue du marché")])
    with app.app_context():
        name = db.session.scalars(select(ArticlePhoto.image)).one()
    # EXIF orientation 6 is applied before the metadata goes: the picture stands upright.
    assert name.endswith("_1067x1600")
    for size, longest in SIZES.items():
        response = client.get(f"/images/{name}/{size}.jpg")
        body = response.get_data()
        response.close()  # the file handle send_file opened
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b"PhoneMaker" not in body and b"Exif" not in body
        with Image.open(io.BytesIO(body)) as served:
            assert max(served.size) == longest
            assert not served.getexif()
            assert "icc_profile" not in served.info
    # Nothing the size of the upload is kept anywhere.
    assert all(path.stat().st_size < len(original) for path in files_in(app))
    assert client.get(f"/images/{name}/original.jpg").status_code == 404
    assert client.get(f"/images/{name}/phone.png").status_code == 404
    assert client.get("/images/..%2Finstance/phone.jpg").status_code == 404
    assert client.get(f"/images/{'0' * 32}_10x10/phone.jpg").status_code == 404


def test_pages_offer_webp_copies_made_from_the_stored_jpeg(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    create_article(client, mag_id, photos=[(upload(jpeg((2400, 1600), exif=gps_exif())), "Le marché")])
    with app.app_context():
        name = db.session.scalars(select(ArticlePhoto.image)).one()
    page = client.get(f"/mags/{mag_id}").get_data(as_text=True)
    assert re.search(rf'<source type="image/webp" srcset="/images/{name}/small\.webp \d+w, /images/{name}/phone\.webp \d+w, /images/{name}/large\.webp \d+w"', page)
    stored = len(files_in(app))
    for size, longest in SIZES.items():
        response = client.get(f"/images/{name}/{size}.webp")
        body = response.get_data()
        response.close()
        assert response.status_code == 200 and response.mimetype == "image/webp"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(body)) as served:
            assert served.format == "WEBP" and max(served.size) == longest and not served.getexif()
        as_jpeg = client.get(f"/images/{name}/{size}.jpg")
        jpeg_size = len(as_jpeg.get_data())
        as_jpeg.close()
        assert len(body) < jpeg_size  # the point of WebP: fewer bytes for the same picture
    assert len(files_in(app)) == stored + len(SIZES)  # made once, then served from disk
    # Deleting the picture removes its WebP copies too.
    with app.test_request_context():
        from onemile.images import delete_image

        delete_image(name)
    assert files_in(app) == []


def test_small_and_transparent_pictures_are_kept_at_their_size(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    create_article(client, mag_id, photos=[(upload(png((300, 200)), "logo.png"), "Notre logo")])
    with app.app_context():
        name = db.session.scalars(select(ArticlePhoto.image)).one()
    assert name.endswith("_300x200")  # never enlarged
    response = client.get(f"/images/{name}/large.jpg")
    body = response.get_data()
    response.close()
    with Image.open(io.BytesIO(body)) as served:
        assert served.format == "JPEG" and served.mode == "RGB" and served.size == (300, 200)


# --- hostile uploads: refused or neutralised, and nothing half-saved -------------------


HOSTILE = {
    "text named .jpg": (b"<html><script>alert(document.cookie)</script></html>", "holiday.jpg", "not a photo we can read"),
    "svg named .png": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png", "not a photo we can read"),
    "truncated jpeg": (jpeg()[:1500], "cut.jpg", "not a photo we can read"),
    "decompression bomb": (png_bomb(), "bomb.png", "too large"),
    "too many pixels per side": (png((9000, 20), mode="L"), "strip.png", "too large (9000 × 20 pixels)"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_photos_are_refused_and_nothing_is_half_saved(app, client, auth, anne, case):
    data, filename, message = HOSTILE[case]
    auth.login(anne)
    mag_id = create_mag(client)
    # A good photo first: it is stored before the bad one is read, and must be removed again.
    response = post_article(client, mag_id, photos=[(upload(jpeg()), "Une bonne photo"), (upload(data, filename), "Une autre")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Choose the photos again." in page
    assert 'value="Le kougelhopf de Noël"' in page  # what was typed is kept
    assert count(app, Article) == 0 and count(app, ArticlePhoto) == 0
    assert files_in(app) == []


def test_a_heavy_photo_is_refused_before_decoding(make_app, auth_for):
    app = make_app(IMAGE_MAX_BYTES=300_000)
    client, _anne = auth_for(app)
    mag_id = create_mag(client)
    response = post_article(client, mag_id, photos=[(upload(noise_png(400), "big.png"), "Du bruit")])
    assert response.status_code == 422
    assert "This photo is too heavy" in response.get_data(as_text=True)
    assert count(app, Article) == 0 and files_in(app) == []


def test_a_request_larger_than_the_upload_allowance_is_refused(make_app, auth_for):
    app = make_app(IMAGE_MAX_BYTES=100_000)
    client, _anne = auth_for(app)
    mag_id = create_mag(client)
    huge = b"\xff\xd8" + os.urandom(1_200_000)
    response = post_article(client, mag_id, photos=[(upload(huge), "Trop gros")])
    assert response.status_code == 413
    assert count(app, Article) == 0 and files_in(app) == []


def test_a_polyglot_is_neutralised_by_re_encoding(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    payload = b"<script>alert('polyglot')</script>"
    # A real JPEG with HTML in its comment segment and a script (and a zip) glued after it.
    polyglot = jpeg(comment=payload) + payload + b"PK\x03\x04" + payload
    assert polyglot.count(payload) == 3
    create_article(client, mag_id, photos=[(upload(polyglot, "innocent.jpg"), "Un polyglotte")])
    stored = files_in(app)
    assert len(stored) == len(SIZES)
    for path in stored:
        data = path.read_bytes()
        assert payload not in data and b"<script" not in data and b"PK\x03\x04" not in data
        assert data.startswith(b"\xff\xd8") and data.rstrip(b"\x00").endswith(b"\xff\xd9")


def test_a_hostile_cover_leaves_no_mag(app, client, auth, anne):
    auth.login(anne)
    response = send(client, "/mags/new", {**MAG_FORM, "cover": upload(b"GIF89a/*<script>*/", "c.gif"),
                                              "cover_alt": "Couverture"})
    assert response.status_code == 422
    assert "not a photo we can read" in response.get_data(as_text=True)
    assert count(app, Mag) == 0 and files_in(app) == []


def test_every_photo_needs_a_description_and_ten_at_most(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    response = post_article(client, mag_id, photos=[(upload(jpeg()), "  ")])
    assert response.status_code == 422
    assert "Describe each photo for people who cannot see it." in response.get_data(as_text=True)
    assert count(app, Article) == 0 and files_in(app) == []

    cover = send(client, "/mags/new", {**MAG_FORM, "cover": upload(jpeg())})
    assert cover.status_code == 422
    assert "Describe the cover picture" in cover.get_data(as_text=True)

    article_id = create_article(client, mag_id, photos=[(upload(jpeg((40, 30))), f"Photo {i}") for i in range(3)])
    for _ in range(2):
        response = send(
            client, f"/mags/{mag_id}/articles/{article_id}/edit",
            article_form(photos=[(upload(jpeg((40, 30))), f"Photo {i}") for i in range(3)]),
        )
        assert_see_other(response)
    response = send(
        client, f"/mags/{mag_id}/articles/{article_id}/edit",
        article_form(photos=[(upload(jpeg((40, 30))), "Une de trop"), (upload(jpeg((40, 30))), "Deux de trop")]),
    )
    assert response.status_code == 422
    assert "An article has 10 photos at most" in response.get_data(as_text=True)
    assert count(app, ArticlePhoto) == 9 and len(files_in(app)) == 9 * len(SIZES)


# --- article bodies ---------------------------------------------------------------------

ATTACKS = """# Titre

<script>alert('xss')</script>
<img src=x onerror="alert('img')">
<svg onload=alert('svg')></svg>
<a href="javascript:alert('a')">clic</a>
<style>body{display:none}</style>
<iframe src="https://evil.example"></iframe>
[lien piégé](javascript:alert('md'))
[encore](JaVaScRiPt:alert('md2'))
[données](data:text/html;base64,PHNjcmlwdD4=)
[vrai lien](https://www.mulhouse.fr "Mulhouse")
<div onclick="alert('div')" style="color:red">div</div>

**gras** et *italique*
"""


def test_article_bodies_are_rendered_and_sanitised(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    article_id = create_article(client, mag_id, body=ATTACKS)
    html = client.get(f"/mags/{mag_id}/articles/{article_id}").get_data(as_text=True)
    prose = re.search(r'<div class="prose">(.*?)</div>\s*</article>', html, re.DOTALL).group(1)
    assert "<script" not in prose and "<style" not in prose and "<iframe" not in prose and "<svg" not in prose
    assert "<img" not in prose and "<div" not in prose
    # Event handlers only survive as escaped text, never as attributes of real tags.
    assert not re.search(r"<[^>]*\son\w+\s*=", prose)
    assert not re.search(r'<a[^>]+href="\s*(javascript|data|vbscript):', prose, re.IGNORECASE)
    assert not re.search(r"<[^>]*\sstyle\s*=", prose)
    assert '<a href="https://www.mulhouse.fr" title="Mulhouse" rel="nofollow noopener noreferrer ugc">vrai lien</a>' in prose
    assert "<strong>gras</strong>" in prose and "<em>italique</em>" in prose
    assert "<h2>Titre</h2>" in prose  # the page keeps a single h1
    # Typed tags are shown as text, harmless.
    assert "&lt;script&gt;" in prose
    # The whole page stays free of inline script (strict CSP).
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


# --- reading, comments, authorization ---------------------------------------------------


def test_members_comment_and_the_right_people_delete_comments(app, client, auth, anne, bruno, factory):
    auth.login(anne)
    mag_id = create_mag(client)
    article_id = create_article(client, mag_id)
    url = f"/mags/{mag_id}/articles/{article_id}"
    auth.logout()

    auth.login(bruno)
    response = send(client, f"{url}/comments", {"body": "  "})
    assert response.status_code == 422 and "Write a comment of 1 to 2,000 characters." in response.get_data(as_text=True)
    response = client.post(f"{url}/comments", data={"body": "J'en prends deux !\n<b>vite</b>"})
    assert_see_other(response)
    page = client.get(url).get_data(as_text=True)
    assert "J&#39;en prends deux !\n&lt;b&gt;vite&lt;/b&gt;" in page
    assert "Bruno D." in page
    client.post(f"{url}/comments", data={"body": "Et un pour Anne."})
    with app.app_context():
        first, second = db.session.scalars(select(Comment.id).order_by(Comment.id)).all()
    auth.logout()

    # A third member cannot delete Bruno's comment on Anne's mag.
    carla = factory.member(first_name="Carla")
    auth.login(carla)
    assert client.post(f"/mags/comments/{first}/delete").status_code == 404
    assert count(app, Comment) == 2
    auth.logout()

    # Bruno deletes his own; Anne, owner of the mag, deletes the other.
    auth.login(bruno)
    assert client.post(f"/mags/comments/{first}/delete").status_code == 303
    auth.logout()
    auth.login(anne)
    assert client.post(f"/mags/comments/{second}/delete").status_code == 303
    assert count(app, Comment) == 0
    assert client.post("/mags/comments/2147483647/delete").status_code == 404
    assert client.post("/mags/comments/2147483648/delete").status_code == 404


def test_another_member_cannot_touch_a_mag_or_its_articles(app, client, auth, anne, bruno):
    auth.login(anne)
    mag_id = create_mag(client, cover=upload(jpeg()), cover_alt="Vitrine")
    article_id = create_article(client, mag_id, photos=[(upload(jpeg()), "Pain")])
    with app.app_context():
        photo_id = db.session.scalars(select(ArticlePhoto.id)).one()
    auth.logout()
    files_before = files_in(app)

    auth.login(bruno)
    base = f"/mags/{mag_id}"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/edit", data={**MAG_FORM, "title": "Volé"}).status_code == 404
    assert client.post(f"{base}/delete").status_code == 404
    assert client.get(f"{base}/articles/new").status_code == 404
    assert post_article(client, mag_id).status_code == 404
    assert client.get(f"{base}/articles/{article_id}/edit").status_code == 404
    assert send(client, f"{base}/articles/{article_id}/edit", article_form(title="Volé")).status_code == 404
    assert client.post(f"{base}/articles/{article_id}/delete").status_code == 404
    assert client.post(f"/mags/photos/{photo_id}/delete").status_code == 404
    # Bruno's own mag id with Anne's article id does not open it either.
    own_mag = create_mag(client, title="Le mag de Bruno")
    assert client.get(f"/mags/{own_mag}/articles/{article_id}/edit").status_code == 404
    with app.app_context():
        assert db.session.get(Mag, mag_id).title == MAG_FORM["title"]
        assert db.session.get(Article, article_id).title == "Le kougelhopf de Noël"
    assert count(app, ArticlePhoto) == 1 and files_in(app) == files_before


def test_the_owner_edits_unpublishes_and_deletes_and_files_go_with_them(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client, cover=upload(jpeg()), cover_alt="Vitrine")
    article_id = create_article(client, mag_id, photos=[(upload(jpeg()), "Pain"), (upload(jpeg()), "Bretzel")])
    assert len(files_in(app)) == 3 * len(SIZES)
    edit = client.get(f"/mags/{mag_id}/articles/{article_id}/edit").get_data(as_text=True)
    assert 'value="Le kougelhopf de Noël"' in edit and "Bretzel" in edit
    # The new photo slots start empty; existing photos are listed apart, with their own button.
    assert 'value="Bretzel"' not in edit and edit.count('name="new_photos-') == 6
    with app.app_context():
        photo_id = db.session.scalars(select(ArticlePhoto.id).where(ArticlePhoto.alt == "Pain")).one()
    assert client.post(f"/mags/photos/{photo_id}/delete").status_code == 303
    assert len(files_in(app)) == 2 * len(SIZES)
    response = send(client, f"/mags/{mag_id}/articles/{article_id}/edit",
                    article_form(title="Nouveau titre", status="draft"))
    assert_see_other(response)
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.title == "Nouveau titre" and article.status == "draft"
    # A new cover replaces the old one, whose files go.
    response = send(client, f"/mags/{mag_id}/edit", {**MAG_FORM, "cover": upload(jpeg((500, 500))),
                                                         "cover_alt": "Nouvelle vitrine"})
    assert_see_other(response)
    assert len(files_in(app)) == 2 * len(SIZES)
    assert client.post(f"/mags/{mag_id}/articles/{article_id}/delete").status_code == 303
    assert len(files_in(app)) == len(SIZES) and count(app, Article) == 0
    assert client.post(f"/mags/{mag_id}/delete").status_code == 303
    assert files_in(app) == [] and count(app, Mag) == 0


# --- drafts never leak ------------------------------------------------------------------


def test_drafts_never_leak(app, client, auth, anne, bruno):
    auth.login(anne)
    mag_id = create_mag(client)
    client.post(f"/mags/{mag_id}/follow")  # owners cannot follow themselves; harmless
    draft_id = create_article(client, mag_id, title="Secret de fabrication", status="draft",
                              photos=[(upload(jpeg()), "Le secret")])
    public_id = create_article(client, mag_id, title="Horaires de Noël")
    draft_url = f"/mags/{mag_id}/articles/{draft_id}"
    assert client.get(draft_url).status_code == 200  # the owner reads her draft
    assert "Secret de fabrication" in client.get(f"/mags/{mag_id}").get_data(as_text=True)
    auth.logout()

    def leaks(response) -> bool:
        return "Secret de fabrication" in response.get_data(as_text=True) or "Le secret" in response.get_data(as_text=True)

    # Logged out: the public URL, the mag page.
    assert client.get(draft_url).status_code == 404
    assert not leaks(client.get(f"/mags/{mag_id}"))
    assert client.get(f"/mags/{mag_id}/articles/{public_id}").status_code == 200
    # Another member: guessed URL, lists, the map, comments.
    auth.login(bruno)
    assert client.get(draft_url).status_code == 404
    assert not leaks(client.get(f"/mags/{mag_id}"))
    assert not leaks(client.get("/mags/"))
    assert not leaks(client.get("/mags/?south=47.7&west=7.2&north=47.8&east=7.4"))
    assert not leaks(client.get("/map/markers?south=47.7&west=7.2&north=47.8&east=7.4"))
    assert send(client, f"{draft_url}/comments", {"body": "Je devine"}).status_code == 404
    # The same article id under another mag is not a way round.
    other = create_mag(client, title="Autre")
    assert client.get(f"/mags/{other}/articles/{draft_id}").status_code == 404
    assert client.get(f"/mags/{other}/articles/{public_id}").status_code == 404
    assert count(app, Comment) == 0


# --- sharing ----------------------------------------------------------------------------


def test_a_published_article_is_public_with_an_open_graph_card(app, client, auth, anne):
    auth.login(anne)
    mag_id = create_mag(client)
    article_id = create_article(client, mag_id, body="Le **marché de Noël** ouvre samedi place de la Réunion.",
                                photos=[(upload(jpeg()), "Les chalets du marché")])
    auth.logout()
    response = client.get(f"/mags/{mag_id}/articles/{article_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    url = f"http://localhost/mags/{mag_id}/articles/{article_id}"
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:title" content="Le kougelhopf de Noël">' in html
    assert '<meta property="og:description" content="Le marché de Noël ouvre samedi place de la Réunion.">' in html
    image = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    assert re.fullmatch(r"http://localhost/images/[0-9a-f]{32}_\d+x\d+/large\.jpg", image)
    served = client.get(image.removeprefix("http://localhost"))
    served.close()
    assert served.status_code == 200
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    # The share button (shown by app.js) and the plain link for everyone else.
    assert f'data-share-url="{url}"' in html and f'id="share-url" type="url" value="{url}" readonly' in html
    # Visitors see how many comments there are, not who wrote them.
    assert "0 comments" in html or "0 commentaire" in html
    assert 'name="body"' not in html


# --- following and notifications --------------------------------------------------------


def test_followers_are_told_once_about_a_new_article(app, client, auth, anne, bruno, outbox):
    auth.login(anne)
    mag_id = create_mag(client)
    assert "This is your own mag." in client.post(f"/mags/{mag_id}/follow", follow_redirects=True).get_data(as_text=True)
    auth.logout()
    auth.login(bruno)
    assert client.post(f"/mags/{mag_id}/follow").status_code == 303
    assert client.post(f"/mags/{mag_id}/follow").status_code == 303  # twice changes nothing
    assert count(app, MagFollow) == 1
    assert "Stop following" in client.get(f"/mags/{mag_id}").get_data(as_text=True)
    auth.logout()

    auth.login(anne)
    draft_id = create_article(client, mag_id, title="Bientôt", status="draft")
    assert count(app, Notification) == 0
    send(client, f"/mags/{mag_id}/articles/{draft_id}/edit", article_form(title="Bientôt", status="published"))
    send(client, f"/mags/{mag_id}/articles/{draft_id}/edit", article_form(title="Bientôt !", status="published"))
    with app.app_context():
        notes = db.session.scalars(select(Notification)).all()
        told = [(n.member_id, n.kind, n.target_type, n.target_id) for n in notes]
        assert told == [(bruno.id, "new_article", "article", draft_id)]
    mails = sorted(outbox.glob("*.eml"))
    assert len(mails) == 1
    mail = mails[0].read_text()
    assert "New in Boulangerie du Rebberg" in mail or "Boulangerie du Rebberg" in mail
    assert f"/mags/{mag_id}/articles/{draft_id}" in mail
    auth.logout()

    auth.login(bruno)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Boulangerie du Rebberg published “Bientôt !”" in page
    assert f'href="/mags/{mag_id}/articles/{draft_id}"' in page
    assert client.post(f"/mags/{mag_id}/unfollow").status_code == 303
    assert count(app, MagFollow) == 0
    auth.logout()

    # Taken back to draft (and renamed), the article leaves Bruno's notifications.
    auth.login(anne)
    send(client, f"/mags/{mag_id}/articles/{draft_id}/edit", article_form(title="Secret", status="draft"))
    assert count(app, Notification) == 0


def test_excerpts_are_plain_text():
    from onemile.mags.markup import plain_excerpt

    assert plain_excerpt("## Horaires\n\nOuvert **lundi**.") == "Horaires – Ouvert lundi."
    assert plain_excerpt("<b>x</b> & y") == "<b>x</b> & y"  # text, escaped where it is shown
    assert plain_excerpt("mot " * 100, 20) == "mot mot mot mot…"


# --- lists and the map -------------------------------------------------------------------


def test_mags_show_on_the_map_and_in_the_lists(app, client, auth, anne, bruno):
    auth.login(anne)
    mag_id = create_mag(client)
    create_article(client, mag_id, title="Nos bretzels")
    far = create_mag(client, title="Le mag de Strasbourg", latitude="48.5734", longitude="7.7521")
    auth.logout()

    auth.login(bruno)
    listing = client.get("/mags/").get_data(as_text=True)
    assert "Boulangerie du Rebberg" in listing and "Nos bretzels" in listing
    assert "Le mag de Strasbourg" not in listing  # not in Bruno's mile
    boxed = client.get("/mags/?south=48.5&west=7.7&north=48.6&east=7.8").get_data(as_text=True)
    assert "Le mag de Strasbourg" in boxed and "Boulangerie du Rebberg" not in boxed
    markers = client.get("/map/markers?south=47.70&west=7.25&north=47.80&east=7.40",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'data-id="mags-{mag_id}"' in markers and f'href="/mags/{mag_id}"' in markers
    assert f"mags-{far}" not in markers
    area = re.search(r'href="(/mags/\?[^"]+)">Mags of this area', markers).group(1).replace("&amp;", "&")
    assert "Boulangerie du Rebberg" in client.get(area).get_data(as_text=True)
    send(client, "/map/layers", {"layer": ["offers"]})
    markers = client.get("/map/markers?south=47.70&west=7.25&north=47.80&east=7.40",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "mags-" not in markers
    auth.logout()

    # Visitors exploring the map go straight to the mag (its page is public).
    markers = client.get("/map/markers?south=47.70&west=7.25&north=47.80&east=7.40",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'href="/mags/{mag_id}"' in markers
    assert client.get(f"/mags/{mag_id}").status_code == 200
    assert client.get("/mags/").status_code == 302  # the "around me" list is for members


def test_mag_form_rules_keep_what_was_typed(app, client, auth, anne):
    auth.login(anne)
    response = send(client, "/mags/new", {**MAG_FORM, "title": " ", "kind": "casino"})
    assert response.status_code == 422
    response = send(client, "/mags/new", {**MAG_FORM, "latitude": "95"})
    assert response.status_code == 422
    assert "Give a latitude from -90 to 90" in response.get_data(as_text=True)
    assert 'Pain au levain' in response.get_data(as_text=True)
    assert count(app, Mag) == 0
    page = client.get("/mags/new").get_data(as_text=True)
    assert 'for="cover_alt"' in page and 'for="cover"' in page and 'data-picker="mag"' in page


# --- CSRF and rate limits ----------------------------------------------------------------


@pytest.fixture
def auth_for(factory):
    """Log a fresh client of another app in as a new member: (client, member)."""
    from conftest import AuthActions, Factory

    def make(app):
        member = Factory(app).member(language="en", first_name="Anne")
        client = app.test_client()
        AuthActions(client).login(member)
        return client, member

    return make


def test_every_post_needs_the_csrf_token(make_app, auth_for):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    from conftest import Factory

    member = Factory(app).member()
    page = client.get("/auth/login").get_data(as_text=True)
    token = csrf_token_in(page)
    send(client, "/auth/login", {"email": member.email, "password": member.password, "csrf_token": token})
    assert client.post("/mags/new", data=MAG_FORM).status_code == 400
    page = client.get("/mags/new").get_data(as_text=True)
    token = csrf_token_in(page)
    response = send(client, "/mags/new", {**MAG_FORM, "csrf_token": token})
    assert_see_other(response)
    mag_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for path in (f"/mags/{mag_id}/delete", f"/mags/{mag_id}/follow", "/mags/comments/1/delete",
                 f"/mags/{mag_id}/articles/new"):
        assert client.post(path).status_code == 400, path
    assert count(app, Mag) == 1

    # A photo above the site-wide 2 MB body limit goes through on the upload routes, even
    # though CSRF protection reads the form before the view runs...
    heavy = noise_png(900)
    assert 2 * 1024 * 1024 < len(heavy) < app.config["IMAGE_MAX_BYTES"]
    fields = {**article_form(photos=[(upload(heavy, "big.png"), "Du bruit")]), "csrf_token": token}
    response = send(client, f"/mags/{mag_id}/articles/new", fields)
    assert_see_other(response)  # response.status_code
    article_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # ...and nowhere else.
    response = send(client, f"/mags/{mag_id}/articles/{article_id}/comments",
                     {"body": "x", "csrf_token": token, "junk": upload(heavy)})
    assert response.status_code == 413


def test_commenting_is_rate_limited(make_app, auth_for):
    app = make_app(RATELIMIT_ENABLED=True)
    client, _ = auth_for(app)
    mag_id = create_mag(client)
    article_id = create_article(client, mag_id)
    url = f"/mags/{mag_id}/articles/{article_id}/comments"
    statuses = [client.post(url, data={"body": f"Commentaire {i}"}).status_code for i in range(21)]
    assert statuses[:20] == [303] * 20 and statuses[20] == 429
    assert count(app, Comment) == 20


# --- demo data ----------------------------------------------------------------------------


def test_demo_mags_are_illustrated_and_keep_their_draft(app, factory, outbox):
    from onemile.demo import Story
    from onemile.mags.demo import MAGS, load_demo_mags
    from onemile.models import Member, utcnow

    keys = {spec.owner for spec in MAGS} | {key for spec in MAGS for key in spec.followers} | {
        key for spec in MAGS for article in spec.articles for key, _ in article.comments}
    refs = {key: factory.member(first_name=key.capitalize()) for key in sorted(keys)}
    with app.test_request_context():
        members = {key: db.session.get(Member, ref.id) for key, ref in refs.items()}
        counts = load_demo_mags(Story(random.Random(2026), utcnow(), members))
        # As the demo loader does: the commit decides the e-mails, so it comes while they are off.
        for member in members.values():
            member.email_notifications = False
        db.session.commit()
        for member in members.values():
            member.email_notifications = True
        assert counts == {"mags": 3, "articles": 6, "photos": 5, "comments": 7}
        assert {mag.kind for mag in db.session.scalars(select(Mag))} == {"shop", "association", "event"}
        assert all(mag.cover_image for mag in db.session.scalars(select(Mag)))
        drafts = db.session.scalars(select(Article).where(Article.status == "draft")).all()
        assert [draft.title for draft in drafts] == ["Bientôt : le pain de la Fonderie"]
        demo_notes = db.session.scalars(select(Notification).where(Notification.member_id == refs["demo"].id)).all()
        assert {note.kind for note in demo_notes} == {"new_article"} and len(demo_notes) == 5
        assert all(member.email_notifications for member in members.values())
    # 3 covers and 5 photos, every size of each; no e-mail to fake addresses.
    assert len(files_in(app)) == 8 * len(SIZES)
    assert not list(outbox.glob("*.eml"))


# --- the spatial index --------------------------------------------------------------------


def test_mag_queries_use_the_spatial_index(app, ctx, factory):
    """The map layer (a box) and "mags in my mile" (metres) reach the mags through the
    spatial index on both backends, among 3,000 mags around Mulhouse."""
    import random

    from sqlalchemy import event, insert, text

    from onemile.geo import LatLon, destination
    from onemile.mags.services import mag_markers, mags_near
    from onemile.map.services import Box
    from onemile.models import utcnow

    mulhouse = LatLon(47.7508, 7.3359)
    owner = factory.member()
    rng = random.Random(1609)
    now = utcnow()
    db.session.execute(insert(Mag), [
        {"owner_id": owner.id, "title": f"mag {i}", "about": "a", "kind": "shop", "created_at": now, "updated_at": now,
         "point": destination(mulhouse, rng.uniform(0, 360), 30_000 * rng.random() ** 0.5).wkt()}
        for i in range(3000)
    ])
    db.session.commit()
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        db.session.execute(text("ANALYZE mag"))
        db.session.commit()
    else:
        db.session.remove()
        db.engine.dispose()

    def plans(call):
        seen = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if " mag" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert call()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert seen
        cursor = db.session.connection().connection.driver_connection.cursor()
        found = []
        for statement, parameters in seen:
            cursor.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, parameters)
            found.append("\n".join(" | ".join(str(col) for col in row) for row in cursor.fetchall()))
        return found

    for plan in plans(lambda: mag_markers(Box.around(mulhouse, 2000), None, 300)):
        if postgres:
            assert "idx_mag_point" in plan and "Seq Scan on mag" not in plan, plan
        else:
            assert "SpatialIndex" in plan and "SCAN mag" not in plan.replace("SCAN mag_", ""), plan
    # As a member, so that the block and suspension filters are in the query too.
    for plan in plans(lambda: mags_near(mulhouse, owner.id)):
        if postgres:
            assert "ix_mag_point_geog" in plan and "Seq Scan on mag" not in plan, plan
        else:
            assert "SpatialIndex" in plan and "SCAN mag" not in plan.replace("SCAN mag_", ""), plan

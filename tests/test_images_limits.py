"""What one photo may cost the server: decoding is bounded in memory and time.

Each measured upload runs the real ``store_image`` in a child process of its own, so that
its peak resident memory (Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` just
before the call) counts Pillow's C buffers, which ``tracemalloc`` does not see, and nothing
left over by another upload. Every picture is made here with Pillow (or zlib, for the
16-bit PNGs Pillow cannot write), as a real file.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageStat
from test_mags import count, create_mag, files_in, post_article, upload

from onemile.models import Article

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
# The worst accepted upload may raise the process's peak memory by this much over idle.
PEAK_ALLOWED = 150 * MB

# --- the files -------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_16_bit(width: int, height: int, colour_type: int) -> bytes:
    """A genuine 16-bit PNG (colour type 6: RGBA, 0: grey), nearly uniform, so that it
    weighs a few hundred KB whatever its size."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + b"\x11\x80" * (width * channels)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


COLOURS = {  # background, vertical stripes, horizontal stripes (transparent where there is alpha)
    "RGBA": ((200, 120, 40, 200), (30, 60, 90, 40), (0, 0, 0, 0)),
    "RGB": ((200, 120, 40), (30, 60, 90), (250, 250, 250)),
    "CMYK": ((10, 80, 200, 0), (200, 10, 10, 30), (0, 0, 0, 0)),
    "P": (3, 7, 0),
}


def picture(size: tuple[int, int], mode: str) -> Image.Image:
    """A picture with detail (stripes both ways) that still compresses well."""
    background, vertical, horizontal = COLOURS[mode]
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 97):
        draw.rectangle((x, 0, x + 13, size[1]), fill=vertical)
    for y in range(0, size[1], 89):
        draw.rectangle((0, y, size[0], y + 7), fill=horizontal)
    return image


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


W25, H25 = 6124, 4082  # 24.998 megapixels, 3:2 like most cameras

FILES = {
    # Refused from the header, before any pixel is decompressed.
    "16-bit RGBA PNG 6300×6300": lambda: png_16_bit(6300, 6300, 6),
    "16-bit grey PNG 5000×5000": lambda: png_16_bit(5000, 5000, 0),
    "8-bit RGBA PNG of 40 megapixels": lambda: encoded(picture((6300, 6300), "RGBA"), "PNG", compress_level=1),
    "progressive 4:4:4 JPEG of 25 megapixels": lambda: encoded(
        picture((W25, H25), "RGB"), "JPEG", quality=90, progressive=True, subsampling=0
    ),
    "WebP of 25 megapixels": lambda: encoded(picture((W25, H25), "RGBA"), "WEBP", quality=80, method=0),
    # The largest accepted, each at its format's limit.
    "8-bit RGBA PNG of 25 megapixels": lambda: encoded(picture((W25, H25), "RGBA"), "PNG"),
    "JPEG of 25 megapixels": lambda: encoded(picture((W25, H25), "RGB"), "JPEG", quality=90),
    "progressive JPEG of 25 megapixels": lambda: encoded(picture((W25, H25), "RGB"), "JPEG", quality=90, progressive=True),
    "progressive 4:4:4 JPEG of 16.7 megapixels": lambda: encoded(
        picture((5000, 3340), "RGB"), "JPEG", quality=90, progressive=True, subsampling=0
    ),
    "CMYK JPEG of 12.9 megapixels": lambda: encoded(picture((4400, 2940), "CMYK"), "JPEG", quality=90),
    "WebP of 7 megapixels": lambda: encoded(picture((3240, 2160), "RGBA"), "WEBP", quality=80),
    "GIF of 25 megapixels with transparency": lambda: encoded(picture((W25, H25), "P"), "GIF", transparency=0),
}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The path of one of FILES, made on first use."""
    folder = tmp_path_factory.mktemp("pictures")

    def make(name: str) -> str:
        path = folder / (name.replace(" ", "_").replace("×", "x").replace(":", "") + ".bin")
        if not path.exists():
            path.write_bytes(FILES[name]())
        return str(path)

    return make


# --- the measuring child ---------------------------------------------------------------

CHILD = r"""
import io, json, sys, threading, time
from pathlib import Path
from PIL import Image
from werkzeug.datastructures import FileStorage
from onemile import create_app
from onemile.extensions import db
from onemile.images import delete_image, store_image

job = json.loads(sys.stdin.read())
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "UPLOAD_FOLDER": job["folder"]})


def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024


def store(data):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        try:
            name = store_image(FileStorage(io.BytesIO(data), filename="photo"))
            # As the request that stores a picture does: a picture of a transaction that
            # does not commit is removed (onemile.images).
            db.session.commit()
            return name
        except Exception as error:
            return f"{type(error).__name__}: {error}"


def measured(action):
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS, the idle figure
    idle = status("VmRSS")
    start = time.perf_counter()
    outcome = action()
    return {"seconds": time.perf_counter() - start, "peak": status("VmHWM") - idle, "outcome": outcome}


for kind in ("JPEG", "PNG", "WEBP", "GIF"):  # every codec loaded before measuring
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, kind)
    with app.test_request_context():
        delete_image(store(buffer.getvalue()))
uploads = [Path(path).read_bytes() for path in job["files"]]
if job["mode"] == "one by one":
    results = [measured(lambda: store(data)) for data in uploads]
elif job["mode"] == "at once":
    outcomes = []
    def both():
        threads = [threading.Thread(target=lambda d=data: outcomes.append(store(d))) for data in uploads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcomes
    results = [measured(both)]
else:  # "webp": the WebP copies of a stored picture, made on first request
    name = store(uploads[0])
    # Serving asks whether the picture is an ad's (onemile.listings: ad photos are guarded).
    from onemile.models import Listing, ListingPhoto
    with app.app_context():
        db.metadata.create_all(db.engine, tables=[Listing.__table__, ListingPhoto.__table__])
    client = app.test_client()
    def fetch():
        statuses = []
        for size in ("large", "phone"):
            response = client.get(f"/images/{name}/{size}.webp")
            statuses.append(response.status_code)
            response.close()
        return statuses
    results = [measured(fetch)]
print(json.dumps(results))
"""


def run_child(folder: Path, files: list[str], mode: str = "one by one") -> list[dict]:
    """Run CHILD on `files`; one result per file (or one for all, `at once` and `webp`)."""
    job = json.dumps({"folder": str(folder), "files": files, "mode": mode})
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=job, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def stored(folder: Path, name: str, size: str = "large") -> Image.Image:
    return Image.open(folder / "images" / f"{name}-{size}.jpg")


# --- refused from the header: quickly, without decoding --------------------------------

REFUSED = {
    "16-bit RGBA PNG 6300×6300": "This photo has more than 8 bits per colour",
    "16-bit grey PNG 5000×5000": "This photo has more than 8 bits per colour",
    "8-bit RGBA PNG of 40 megapixels": "This photo is too large (6300 × 6300 pixels): 8000 pixels per side and 25 megapixels at most.",
    # libjpeg may keep 6 bytes of DCT coefficients a pixel; libwebp and Pillow 16 bytes.
    "progressive 4:4:4 JPEG of 25 megapixels": "This photo is too large (6124 × 4082 pixels): 8000 pixels per side and 17 megapixels at most.",
    "WebP of 25 megapixels": "This photo is too large (6124 × 4082 pixels): 8000 pixels per side and 7 megapixels at most.",
}


def test_costly_pictures_are_refused_from_the_header_quickly_without_decoding(made, tmp_path):
    names = list(REFUSED)
    for name, result in zip(names, run_child(tmp_path, [made(name) for name in names]), strict=True):
        assert result["outcome"].startswith("ImageError: " + REFUSED[name]), (name, result)
        assert result["seconds"] < 1, (name, result)  # 2.3 s and more when it was decoded
        assert result["peak"] < 10 * MB, (name, result)  # 318 MB and more when it was decoded
    assert files_in_folder(tmp_path) == []


def files_in_folder(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


# --- accepted: the largest of each kind, within the memory allowed ---------------------

ACCEPTED = {
    "8-bit RGBA PNG of 25 megapixels": (1600, 1066),
    "JPEG of 25 megapixels": (1600, 1066),
    "progressive JPEG of 25 megapixels": (1600, 1066),
    "progressive 4:4:4 JPEG of 16.7 megapixels": (1600, 1069),
    "CMYK JPEG of 12.9 megapixels": (1600, 1069),
    "WebP of 7 megapixels": (1600, 1067),
    "GIF of 25 megapixels with transparency": (1600, 1066),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_the_largest_accepted_pictures_stay_within_the_memory_allowed(made, tmp_path, name):
    (result,) = run_child(tmp_path, [made(name)])
    width, height = ACCEPTED[name]
    assert result["outcome"].endswith(f"_{width}x{height}"), result
    assert result["peak"] <= PEAK_ALLOWED, result
    assert result["seconds"] < 15, result
    with stored(tmp_path, result["outcome"]) as large:
        assert large.size == ACCEPTED[name] and large.mode == "RGB"


def test_two_uploads_at_once_decode_one_after_the_other(made, tmp_path):
    """Two threads of one worker: the second decode waits for the first, so the peak is
    about that of one upload (125 MB), not the sum (245 MB measured without the lock). Each
    thread's malloc arena keeps a few buffers of its own: some 25 MB more."""
    png = made("8-bit RGBA PNG of 25 megapixels")
    (result,) = run_child(tmp_path, [png, png], mode="at once")
    assert len(result["outcome"]) == 2 and all(name.endswith("_1600x1066") for name in result["outcome"]), result
    assert result["peak"] <= PEAK_ALLOWED + 30 * MB, result


def test_webp_copies_made_on_first_request_stay_small(made, tmp_path):
    (result,) = run_child(tmp_path, [made("JPEG of 25 megapixels")], mode="webp")
    assert result["outcome"] == [200, 200], result
    assert result["peak"] <= 50 * MB, result
    assert len(list((tmp_path / "images").glob("*.webp"))) == 2


# --- what is kept of what is accepted --------------------------------------------------


def test_reduced_while_loading_the_picture_matches_pillows_own_thumbnail(tmp_path):
    """Converting and reducing a band of rows at a time gives the picture a plain
    full-size thumbnail would (transparency flattened on white)."""
    original = picture((4000, 2700), "RGBA")
    (result,) = run_child(tmp_path, [write(tmp_path, "a.png", encoded(original, "PNG"))])
    flat = Image.new("RGB", original.size, (255, 255, 255))
    flat.paste(original, mask=original.getchannel("A"))
    flat.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
    reference = Image.open(io.BytesIO(encoded(flat, "JPEG", quality=82)))  # as it would be stored
    with stored(tmp_path, result["outcome"]) as large:
        assert large.size == reference.size == (1600, 1080)
        difference = ImageStat.Stat(ImageChops.difference(large, reference)).mean
    # The box average before Lanczos softens the stripes' sharp edges a little, evenly: no
    # seam where bands meet (they would show as rows far off the rest).
    assert max(difference) < 3, difference


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_animations_give_their_first_frame_and_long_ones_cost_nothing_more(tmp_path):
    red = (220, 20, 20)
    # Consecutive frames differ (Pillow would merge equal ones).
    frames = [Image.new("RGB", (120, 80), red if index == 0 else (20, index * 37 % 256, 220)) for index in range(3000)]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20)
    webp = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:3], duration=20)
    assert Image.open(io.BytesIO(gif)).n_frames == 3000 and Image.open(io.BytesIO(webp)).n_frames == 3
    results = run_child(tmp_path, [write(tmp_path, "a.gif", gif), write(tmp_path, "a.webp", webp)])
    for result in results:
        assert result["seconds"] < 1, result
        with stored(tmp_path, result["outcome"]) as large:
            assert large.size == (120, 80)
            red_level, _, blue_level = large.getpixel((60, 40))
            assert red_level > 180 and blue_level < 60, result


def test_cmyk_palette_and_rotated_pictures_come_out_upright_in_rgb(tmp_path):
    palette = Image.new("P", (3300, 2000), 1)
    palette.putpalette([0, 0, 0, 20, 160, 20] + [0] * 762)
    ImageDraw.Draw(palette).rectangle((0, 0, 1649, 1999), fill=0)  # the transparent half
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # turn 90° clockwise to stand upright
    paths = [
        write(tmp_path, "cmyk.jpg", encoded(Image.new("CMYK", (4000, 3000), (0, 255, 255, 0)), "JPEG")),
        write(tmp_path, "palette.png", encoded(palette, "PNG", transparency=0)),
        write(tmp_path, "turned.jpg", encoded(picture((6000, 4000), "RGB"), "JPEG", exif=exif)),
    ]
    cmyk, transparent, turned = (result["outcome"] for result in run_child(tmp_path, paths))
    with stored(tmp_path, cmyk) as large:
        red, green, blue = large.getpixel((800, 600))
        assert large.size == (1600, 1200) and red > 200 and green < 60 and blue < 60
    with stored(tmp_path, transparent) as large:
        assert large.size == (1600, 970)
        assert min(large.getpixel((300, 500))) > 240  # transparent: white
        red, green, blue = large.getpixel((1300, 500))
        assert green > 130 and red < 60 and blue < 60
    assert turned.endswith("_1067x1600")
    with stored(tmp_path, turned, "phone") as phone:
        assert phone.size == (480, 720)


# --- through the form: a clear refusal, what was typed is kept, nothing is stored ------


def test_a_16_bit_photo_is_refused_on_the_form_and_nothing_is_kept(app, client, auth, anne, made):
    auth.login(anne)
    mag_id = create_mag(client)
    deep = Path(made("16-bit RGBA PNG 6300×6300")).read_bytes()
    response = post_article(client, mag_id, photos=[(upload(deep, "deep.png"), "Une photo en 16 bits")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This photo has more than 8 bits per colour: save it as JPEG, or as a PNG with 8 bits per colour." in page
    assert 'value="Le kougelhopf de Noël"' in page
    assert count(app, Article) == 0 and files_in(app) == []

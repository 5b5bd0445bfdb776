"""Photos uploaded by members: decoded, checked, re-encoded, stored, served.

The original file is never kept nor served: Pillow decodes it (so a file that only claims
to be an image is refused), the pixels are re-encoded to WebP without any metadata (GPS
positions in EXIF stay behind), at most MAX_SIDE pixels on the long side, under a random
name in the upload folder (config UPLOAD_FOLDER, default instance/uploads).

API:
    store_image(file_storage) -> str     the stored name; raises ImageRejected
    delete_image(name) -> None           forget a stored photo (missing is fine)
    url_for("images.show", name=name)    where the browser fetches it
"""

from __future__ import annotations

import os
import re
import secrets
import warnings
from io import BytesIO
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import RuleError

bp = Blueprint("images", __name__)

MAX_SIDE = 1600
# Uploaded file size (config IMAGE_MAX_BYTES overrides), and decoded size: a small PNG can
# unpack to gigabytes (a "decompression bomb"), so the pixel count is checked before the
# pixels are decoded.
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
NAME = re.compile(r"^[A-Za-z0-9_-]{22}\.webp$")


class ImageRejected(RuleError):
    """The upload is not a photo we accept; the message says why, in the member's language."""


def upload_folder() -> Path:
    """Where photos are stored (created on first use)."""
    folder = Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_image(file_storage, field: str | None = "photo") -> str:
    """Decode an uploaded image, re-encode it without metadata and store it; return its name.

    Raises ImageRejected (with `field` for the form) for anything that is not a JPEG, PNG,
    WebP or GIF image, is larger than MAX_BYTES, or has more than MAX_PIXELS pixels.
    """
    limit = current_app.config.get("IMAGE_MAX_BYTES", MAX_BYTES)
    data = file_storage.stream.read(limit + 1)
    if len(data) > limit:
        megabytes = max(1, round(limit / 2**20))
        raise ImageRejected(_("This photo is too large: send one under %(n)d MB.", n=megabytes), field)
    if not data:
        raise ImageRejected(_("This file is empty."), field)
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit: every bomb must be an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or width < 1 or height < 1:
                    raise ImageRejected(_("This image has too many pixels."), field)
                image.load()
                picture = _cleaned(image)
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(_("This image has too many pixels."), field) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageRejected(_("This file is not a photo we can read: send a JPEG, PNG or WebP image."), field) from None
    name = f"{secrets.token_urlsafe(16)}.webp"
    target = upload_folder() / name
    temporary = target.with_suffix(".tmp")
    # Written aside then renamed, so a half-written photo is never served.
    picture.save(temporary, "WEBP", quality=82, method=4)
    os.replace(temporary, target)
    return name


def _cleaned(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied), RGB or RGBA, at most MAX_SIDE: a new image that
    carries no metadata of the original."""
    upright = ImageOps.exif_transpose(image)
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
    pixels = upright.convert(mode)
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def delete_image(name: str | None) -> None:
    """Remove a stored photo; nothing happens for an unknown or malformed name."""
    if name and NAME.match(name):
        (upload_folder() / name).unlink(missing_ok=True)


@bp.get("/images/<name>")
def show(name: str):
    """Serve a stored (re-encoded) photo. Names are random: they cannot be listed or guessed."""
    if not NAME.match(name):
        abort(404)
    response = send_from_directory(upload_folder(), name, mimetype="image/webp", max_age=31536000)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

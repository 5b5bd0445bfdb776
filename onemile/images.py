"""Uploaded pictures: checked by decoding, re-encoded without metadata, stored in sizes.

One way for every feature to take a picture from a member and show it:

- ``store_image(file_storage) -> name`` decodes the upload (whatever its file name says),
  refuses what is not a JPEG, PNG, WebP or GIF picture, too heavy, too large or a
  decompression bomb, applies the EXIF orientation, then writes each size in ``SIZES`` as a
  fresh JPEG: no EXIF (GPS included), no ICC profile, no comment, nothing appended to the
  original survives. It raises ``ImageError`` (a ``RuleError``) with a translated message.
  The original upload is never written to disk.
- The stored ``name`` is an unguessable token plus the largest variant's dimensions
  (``"3f…c1_1600x1067"``), so pages can give ``width``/``height`` and a correct ``srcset``
  without another column.
- ``delete_image(name)`` removes every size (missing files are fine), ``discard_images``
  removes several after a failed save. A picture stored in a transaction that does not
  commit is removed by itself (the rollback, or the end of the request, takes it), so no
  file outlives a refused save and no row names a file that is not there. A full or
  unwritable upload folder is an ``ImageError`` like a bad picture: a message on the form.
- ``image_url(name, size)``, ``image_srcset(name)`` and ``image_dimensions(name, size)`` are
  template globals; ``bp`` serves ``/images/<name>/<size>.jpg`` with a one-year immutable
  cache (a name never changes content).
- ``@accepts_uploads(file_count)`` marks a view that receives pictures: its requests may
  carry that many (the site-wide MAX_CONTENT_LENGTH stays small everywhere else). The
  allowance is known from the matched route, before CSRF protection reads the form.

Files live under ``UPLOAD_FOLDER`` (default ``instance/uploads``), in ``images/``.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from pathlib import Path

from flask import Blueprint, Request, abort, current_app, send_from_directory, url_for
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event

from .errors import RuleError
from .extensions import db

# Longest side of each stored variant, in pixels: "phone" fits a phone screen at 2x,
# "large" a desktop window. A picture smaller than a size is never enlarged.
SIZES = {"phone": 720, "large": 1600}
DEFAULT_SIZE = "phone"
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_QUALITY = 82
CACHE_SECONDS = 365 * 24 * 3600
# Room for the text fields of a form that also carries pictures.
FORM_TEXT_ALLOWANCE = 256 * 1024
_NAME = re.compile(r"^(?P<token>[0-9a-f]{32})_(?P<width>[1-9][0-9]{0,4})x(?P<height>[1-9][0-9]{0,4})$")

bp = Blueprint("images", __name__)


class ImageError(RuleError):
    """The upload is not a picture we accept; the message says why, in the member's language."""


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "images"


# Every size is stored as JPEG at upload; a WebP copy of it is made from that JPEG the first
# time a browser asks for it (smaller on the wire; pictures stored before WebP get one too).
FORMATS = {"jpg": "image/jpeg", "webp": "image/webp"}
WEBP_QUALITY = 80


def _path(name: str, size: str, ext: str = "jpg") -> Path:
    return _folder() / f"{name}-{size}.{ext}"


def is_image_name(name: str | None) -> bool:
    """True for a name store_image could have returned (nothing else reaches the disk)."""
    return bool(name) and _NAME.match(name) is not None


def accepts_uploads(file_count: int):
    """Decorator (put it right under the route decorator): this view receives up to
    `file_count` pictures, plus the form's text."""

    def mark(view):
        view.upload_file_count = file_count
        return view

    return mark


class UploadAwareRequest(Request):
    """A request whose body limit is larger on views marked with ``accepts_uploads``.

    Setting ``request.max_content_length`` in the view would be too late: CSRFProtect
    reads the form in ``before_request``, under the small site-wide limit.
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.endpoint:
            view = current_app.view_functions.get(self.endpoint)
            file_count = getattr(view, "upload_file_count", None)
            if file_count:
                return file_count * current_app.config["IMAGE_MAX_BYTES"] + FORM_TEXT_ALLOWANCE
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def _read_upload(file_storage) -> bytes:
    limit = current_app.config["IMAGE_MAX_BYTES"]
    data = file_storage.stream.read(limit + 1) if file_storage else b""
    if not data:
        raise ImageError(_("The file is empty. Choose a photo."))
    if len(data) > limit:
        raise ImageError(_("This photo is too heavy: %(n)d MB at most.", n=limit // (1024 * 1024)))
    return data


def _check_dimensions(width: int, height: int) -> None:
    max_side = current_app.config["IMAGE_MAX_SIDE"]
    max_pixels = current_app.config["IMAGE_MAX_PIXELS"]
    if width > max_side or height > max_side or width * height > max_pixels:
        raise ImageError(
            _(
                "This photo is too large (%(width)d × %(height)d pixels): "
                "%(side)d pixels per side and %(mp)d megapixels at most.",
                width=width,
                height=height,
                side=max_side,
                mp=max_pixels // 1_000_000,
            )
        )


def _decode(data: bytes) -> Image.Image:
    """The fully decoded first frame, upright, as RGB; ImageError for anything else."""
    not_a_picture = ImageError(_("This file is not a photo we can read (JPEG, PNG, WebP or GIF)."))
    try:
        with warnings.catch_warnings():
            # Pillow only warns below its own bomb limit: ours is stricter and checked first,
            # from the header, before a single pixel is decompressed.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                _check_dimensions(*probe.size)
                probe.verify()
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                _check_dimensions(*image.size)
                image.seek(0)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _as_rgb(upright)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_("This photo is too large to be opened safely.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        # Pillow reports truncated or forged files with any of these.
        raise not_a_picture from None


def _as_rgb(image: Image.Image) -> Image.Image:
    """Pixels only: flatten transparency on white, convert any mode to 8-bit RGB, and
    forget everything the decoder read besides pixels (Pillow's JPEG writer would copy a
    comment segment from `info`, which is where a polyglot hides its script)."""
    rgb = _rgb_pixels(image)
    rgb.info = {}
    return rgb


def _rgb_pixels(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit and float greyscale: scale to 8 bits before colour conversion.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    return image.convert("RGB")


def _fitted(image: Image.Image, longest: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return copy


def store_image(file_storage) -> str:
    """Check, re-encode and store an uploaded picture in every size; return its name.

    Raises ImageError (a RuleError) with a message for the member; nothing stays on disk
    then. Only pixels are kept: metadata and any bytes hidden around the picture are gone.
    """
    image = _decode(_read_upload(file_storage))
    largest = _fitted(image, max(SIZES.values()))
    name = f"{secrets.token_hex(16)}_{largest.width}x{largest.height}"
    written: list[Path] = []
    try:
        _folder().mkdir(parents=True, exist_ok=True)
        for size, longest in SIZES.items():
            variant = largest if longest == max(SIZES.values()) else _fitted(image, longest)
            target = _path(name, size)
            temporary = target.with_suffix(".part")
            # No exif=, icc_profile= or comment=: Pillow writes none of them unless asked.
            variant.save(temporary, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
            os.replace(temporary, target)
            written.append(target)
    except BaseException as error:
        for path in (*written, *(_path(name, size).with_suffix(".part") for size in SIZES)):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # the folder itself is what failed (a file in its place, gone)
        if isinstance(error, OSError):
            # A full disk or an unwritable folder: the member's form says so and keeps what
            # was typed; the operator learns why from the log.
            current_app.logger.error("photo not stored in %s: %s", _folder(), error)
            raise ImageError(_("Your photo could not be saved just now. Please try again later.")) from error
        raise
    _until_committed(name)
    return name


# A stored picture belongs to the transaction that stores it: if that transaction does not
# commit (the database refused, went away, or the request failed after the upload), no row
# can name the picture, so its files go. Pictures of a committed transaction stay.
_PENDING = "onemile_pending_images"


def _until_committed(name: str) -> None:
    session = db.session()
    if not session.in_transaction():
        # Nothing open yet: open the transaction the picture belongs to, so that its end
        # (a commit, or the rollback when the request's session is closed) decides.
        session.begin()
    session.info.setdefault(_PENDING, []).append(name)


@event.listens_for(db.session, "after_commit")
def _keep_committed(session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(db.session, "after_transaction_end")
def _remove_uncommitted(session, transaction) -> None:
    # Only the outermost transaction decides (a savepoint rolled back inside a transaction
    # that then commits keeps its pictures); after a commit the list is already gone.
    if transaction.parent is None:
        discard_images(session.info.pop(_PENDING, []))



def delete_image(name: str | None) -> None:
    """Remove every stored size of a picture (nothing happens for an unknown name)."""
    if not is_image_name(name):
        return
    for size in SIZES:
        for ext in FORMATS:
            _path(name, size, ext).unlink(missing_ok=True)


def discard_images(names) -> None:
    """Remove pictures stored for a save that failed or for objects deleted."""
    for name in names:
        delete_image(name)


def image_dimensions(name: str, size: str = "large") -> tuple[int, int]:
    """Width and height of one stored size, without opening the file."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"not an image name: {name!r}")
    width, height = int(match["width"]), int(match["height"])
    longest = SIZES[size]
    if max(width, height) <= longest:
        return width, height
    scale = longest / max(width, height)
    # Pillow's thumbnail rounds each side the same way.
    return max(1, round(width * scale)), max(1, round(height * scale))


def image_url(name: str, size: str = DEFAULT_SIZE, external: bool = False, ext: str = "jpg") -> str:
    """The URL of one stored size (absolute for Open Graph and e-mails when asked)."""
    return url_for("images.serve", name=name, size=size, ext=ext, _external=external)


def image_srcset(name: str, ext: str = "jpg") -> str:
    """A `srcset` listing every size with its real width, smallest first."""
    return ", ".join(
        f"{image_url(name, size, ext=ext)} {image_dimensions(name, size)[0]}w"
        for size in sorted(SIZES, key=SIZES.get)
    )


def _webp_copy(name: str, size: str) -> None:
    """Make the WebP copy of a stored JPEG size, atomically (the JPEG holds pixels only)."""
    target = _path(name, size, "webp")
    temporary = target.with_suffix(".webp-part")
    with Image.open(_path(name, size)) as jpeg:
        jpeg.save(temporary, "WEBP", quality=WEBP_QUALITY, method=4)
    os.replace(temporary, target)


@bp.get("/images/<name>/<size>.<ext>")
def serve(name: str, size: str, ext: str):
    """One stored size, as JPEG or WebP. Names are unguessable and never reused, so it may
    be cached for a year by browsers and shared caches alike."""
    if not is_image_name(name) or size not in SIZES or ext not in FORMATS:
        abort(404)
    if ext == "webp" and not _path(name, size, "webp").exists():
        if not _path(name, size).exists():
            abort(404)
        _webp_copy(name, size)
    response = send_from_directory(_folder(), f"{name}-{size}.{ext}", mimetype=FORMATS[ext], max_age=CACHE_SECONDS)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response


def init_app(app) -> None:
    """Register the serving route and the template helpers (the factory installs
    UploadAwareRequest in the app's request class)."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        image_url=image_url, image_srcset=image_srcset, image_dimensions=image_dimensions
    )

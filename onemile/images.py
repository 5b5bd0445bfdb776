"""Uploaded pictures: checked by decoding, re-encoded without metadata, stored in sizes.

One way for every feature to take a picture from a member and show it:

- ``store_image(file_storage) -> name`` decodes the upload (whatever its file name says),
  refuses what is not a JPEG, PNG, WebP or GIF picture, too heavy, too large or a
  decompression bomb, applies the EXIF orientation, then writes each size in ``SIZES`` as a
  fresh JPEG: no EXIF (GPS included), no ICC profile, no comment, nothing appended to the
  original survives. It raises ``ImageError`` (a ``RuleError``) with a translated message.
  The original upload is never written to disk.
- Decoding is bounded: the header alone decides whether a picture may be decoded (bytes,
  sides, megapixels, 8 bits per colour at most, and the memory its format needs per pixel
  against ``IMAGE_DECODE_MEMORY``); a JPEG is decoded at a reduced scale, the first frame
  of an animation only, and the decoded picture is converted and reduced a band of rows at
  a time, never copied whole; one decode runs at a time per worker process. One upload
  raises a worker's peak memory by 150 MB at most (tests/test_images_limits.py).
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
  cache (a name never changes content). A size added later is made from the largest one
  the first time it is asked for.
- ``register_guard(guard)``: a feature whose pictures are seen only where their object is
  (an ad's photos) answers, for a viewer and a name, whether they may have it (True,
  False) or that the name is not its own (None). A refused picture answers 404 like an
  unknown one; a guarded one is cached by the browser only (``private``), never shared.
- ``@accepts_uploads(file_count)`` marks a view that receives pictures: its requests may
  carry that many (the site-wide MAX_CONTENT_LENGTH stays small everywhere else). The
  allowance is known from the matched route, before CSRF protection reads the form.

Files live under ``UPLOAD_FOLDER`` (default ``instance/uploads``), in ``images/``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Request, abort, current_app, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event

from .errors import RuleError
from .extensions import db

# Longest side of each stored variant, in pixels: "phone" fits a phone screen at 2x,
# "large" a desktop window. A picture smaller than a size is never enlarged.
# "small" is for thumbnails in lists, popups and panels.
SIZES = {"small": 360, "phone": 720, "large": 1600}
LARGEST_SIZE = "large"
DEFAULT_SIZE = "phone"
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
JPEG_QUALITY = 82
CACHE_SECONDS = 365 * 24 * 3600
GUARDED_CACHE_SECONDS = 24 * 3600
# Room for the text fields of a form that also carries pictures.
FORM_TEXT_ALLOWANCE = 256 * 1024
# Rows converted and reduced at a time (see _reduced_rgb).
_BAND_ROWS = 64
# One decode at a time in a worker process: two large uploads in parallel threads would add
# up their peaks. Other requests are not held up (only decoding takes the lock).
_DECODING = threading.Lock()
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


def _check_dimensions(width: int, height: int, max_pixels: int) -> None:
    max_side = current_app.config["IMAGE_MAX_SIDE"]
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


def _check_header(image: Image.Image, target: tuple[int, int]) -> None:
    """Refuse, from the header alone, what would take too much memory to decode."""
    if _bits_per_sample(image) > 8:
        raise ImageError(
            _("This photo has more than 8 bits per colour: save it as JPEG, or as a PNG with 8 bits per colour.")
        )
    memory = current_app.config["IMAGE_DECODE_MEMORY"]
    max_pixels = min(current_app.config["IMAGE_MAX_PIXELS"], int(memory / _decode_bytes_per_pixel(image, target)))
    _check_dimensions(*image.size, max_pixels)


def _bits_per_sample(image: Image.Image) -> int:
    # Pillow shows a 16-bit RGBA PNG as mode "RGBA" (raw mode "RGBA;16B") and a 16-bit grey
    # one as "I;16": the raw mode of the tiles tells, before anything is decompressed.
    raw_modes = [image.mode, *(tile.args for tile in image.tile if isinstance(tile.args, str))]
    if any(";16" in mode or mode in ("I", "F") for mode in raw_modes):
        return 16
    return getattr(image, "bits", 8)


def _decode_bytes_per_pixel(image: Image.Image, target: tuple[int, int]) -> float:
    """What Pillow holds in memory at most, per pixel of the upload, to bring it down to
    `target` (figures checked in tests/test_images_limits.py)."""
    reduction = min(image.width // target[0], image.height // target[1]) or 1
    # _reduced_rgb's copy, smaller by an integer factor on each side, beside the decoded picture.
    copy = 4 / reduction**2
    if image.format == "WEBP":
        # libwebp's two canvases, Pillow's bytes copy of the frame, and the picture.
        return 16 + copy
    if image.format == "JPEG":
        # Decoded at 1/scale on each side (see draft), but a progressive or multi-scan file
        # (the header does not tell which) keeps every DCT coefficient at full scale until
        # the end of decoding: 2 bytes a sample, per component. The copy comes after.
        scale = next(s for s in (8, 4, 2, 1) if reduction >= s)
        h_max = max(h for _, h, _, _ in image.layer)
        v_max = max(v for _, _, v, _ in image.layer)
        samples = sum(h * v for _, h, v, _ in image.layer) / (h_max * v_max)
        return 4 / scale**2 + max(2 * samples, copy)
    # Pillow keeps 1, L and P pictures in a byte a pixel, every other mode in 4.
    return (1 if image.mode in ("1", "L", "P") else 4) + copy


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """The size of a picture of `size` shrunk to fit `longest` pixels (never enlarged)."""
    width, height = size
    if max(width, height) <= longest:
        return width, height
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(data: bytes) -> Image.Image:
    """The first frame, upright, as 8-bit RGB no larger than the largest size; ImageError
    for anything else. One decode at a time per process (see _DECODING)."""
    # A message, not an ImageError made in advance: making one marks the request refused.
    not_a_picture = _("This file is not a photo we can read (JPEG, PNG, WebP or GIF).")
    try:
        with _DECODING, warnings.catch_warnings():
            # Pillow's own bomb guard is set to our limit (init_app): its warning only
            # repeats what _check_header says in plain words right after opening.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                target = _fit(probe.size, max(SIZES.values()))
                _check_header(probe, target)
                probe.verify()
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                # JPEG only: libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below the target.
                image.draft(None, target)
                image.seek(0)  # an animation gives its first frame only
                image.load()
                reduced = _reduced_rgb(image, max(1, min(image.width // target[0], image.height // target[1])))
                # exif_transpose reads the orientation where the decoder left it (_as_rgb
                # drops it afterwards).
                reduced.info = image.info
            # Closing the file freed the decoded picture: the final resize holds the reduced
            # copy only (resize keeps info).
            largest = reduced if reduced.size == target else reduced.resize(target, Image.Resampling.LANCZOS)
            return _as_rgb(ImageOps.exif_transpose(largest))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(_("This photo is too large to be opened safely.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
        # Pillow reports truncated or forged files with any of these.
        raise ImageError(not_a_picture) from None


def _reduced_rgb(image: Image.Image, factor: int) -> Image.Image:
    """The decoded picture as 8-bit RGB, `factor` times smaller on each side (box average).

    Converted and reduced a band of rows at a time, so that no second full-size copy is
    ever made: a 25-megapixel RGBA picture takes 100 MB once decoded, and Pillow's own
    convert or resize would hold another 100 MB beside it.
    """
    width, height = image.size
    reduced = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _BAND_ROWS // factor)
    for top in range(0, height, rows):
        band = _rgb_pixels(image.crop((0, top, width, min(top + rows, height))))
        reduced.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return reduced


def _as_rgb(image: Image.Image) -> Image.Image:
    """Pixels only: forget everything the decoder read besides pixels (Pillow's JPEG writer
    would copy a comment segment from `info`, which is where a polyglot hides its script)."""
    rgb = image.convert("RGB")
    rgb.info = {}
    return rgb


def _rgb_pixels(image: Image.Image) -> Image.Image:
    """Flatten transparency on white and convert any mode to 8-bit RGB."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def store_image(file_storage) -> str:
    """Check, re-encode and store an uploaded picture in every size; return its name.

    Raises ImageError (a RuleError) with a message for the member; nothing stays on disk
    then. Only pixels are kept: metadata and any bytes hidden around the picture are gone.
    """
    largest = _decode(_read_upload(file_storage))
    name = f"{secrets.token_hex(16)}_{largest.width}x{largest.height}"
    written: list[Path] = []
    try:
        _folder().mkdir(parents=True, exist_ok=True)
        for size, longest in SIZES.items():
            target_size = _fit(largest.size, longest)
            variant = largest if target_size == largest.size else largest.resize(target_size, Image.Resampling.LANCZOS)
            target = _path(name, size)
            # No exif=, icc_profile= or comment=: Pillow writes none of them unless asked.
            write_atomically(
                target,
                lambda path, variant=variant: variant.save(
                    path, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True
                ),
            )
            written.append(target)
    except BaseException as error:
        for path in written:
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



def with_uploaded_image(upload, action: Callable[[str | None], Any], field: str = "photo") -> Any:
    """Store the uploaded picture if one came, then `action(name or None)`; when the action
    (or the picture) is refused, forget the new picture and raise the refusal again, with
    `field` named on an ImageError, so that nothing half-written stays behind."""
    photo = None
    try:
        if upload and getattr(upload, "filename", ""):
            try:
                photo = store_image(upload)
            except ImageError as error:
                error.field = field
                raise
        return action(photo)
    except RuleError:
        delete_image(photo)
        raise


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
    # store_image makes the smaller sizes from the largest with the same _fit.
    return _fit((int(match["width"]), int(match["height"])), SIZES[size])


def image_url(name: str, size: str = DEFAULT_SIZE, external: bool = False, ext: str = "jpg") -> str:
    """The URL of one stored size (absolute for Open Graph and e-mails when asked)."""
    return url_for("images.serve", name=name, size=size, ext=ext, _external=external)


def image_srcset(name: str, ext: str = "jpg", largest: str = LARGEST_SIZE) -> str:
    """A `srcset` listing every size up to `largest` (a thumbnail never needs the largest)
    with its real width, smallest first (a small picture has several sizes of the same
    width: the first stands for them)."""
    widths: dict[int, str] = {}
    for size in sorted(SIZES, key=SIZES.get):
        if SIZES[size] <= SIZES[largest]:
            widths.setdefault(image_dimensions(name, size)[0], size)
    return ", ".join(f"{image_url(name, size, ext=ext)} {width}w" for width, size in widths.items())


def write_atomically(target: Path, write) -> None:
    """Make `target` with `write(path)` through a temporary file of this call's own, renamed
    into place: two processes making the same file at once (web workers serving the same new
    photo) each write their own, the last rename wins, and no one is ever served or left a
    half-written file."""
    temporary = target.with_suffix(f".{secrets.token_hex(8)}.part")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(OSError):  # gone, or the folder itself is what failed
            temporary.unlink(missing_ok=True)


def _missing_size(name: str, size: str) -> None:
    """Make a size added to SIZES after the picture was stored, from its largest size."""
    with _DECODING, Image.open(_path(name, LARGEST_SIZE), formats=("JPEG",)) as largest:
        variant = largest.resize(_fit(largest.size, SIZES[size]), Image.Resampling.LANCZOS)
        write_atomically(
            _path(name, size),
            lambda path: variant.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True),
        )


# Features whose pictures are seen only where their object is (see register_guard).
_GUARDS: list = []


def register_guard(guard) -> None:
    """`guard(viewer, name)` says whether `viewer` (the current user) may have the picture
    `name`: True, False (the URL answers 404), or None when the name is not the feature's."""
    if guard not in _GUARDS:  # every app the process makes registers it again
        _GUARDS.append(guard)


def _guarded(name: str) -> bool:
    """True when a feature guards this picture and lets the viewer have it; 404 when it
    refuses."""
    verdicts = [guard(current_user, name) for guard in _GUARDS]
    if False in verdicts:
        abort(404)
    return True in verdicts


def _webp_copy(name: str, size: str) -> None:
    """Make the WebP copy of a stored JPEG size, atomically (the JPEG holds pixels only)."""
    # A stored JPEG is 1600 pixels at most (a few MB decoded); it still waits its turn.
    with _DECODING, Image.open(_path(name, size), formats=("JPEG",)) as jpeg:
        write_atomically(
            _path(name, size, "webp"), lambda path: jpeg.save(path, "WEBP", quality=WEBP_QUALITY, method=4)
        )


@bp.get("/images/<name>/<size>.<ext>")
def serve(name: str, size: str, ext: str):
    """One stored size, as JPEG or WebP. Names are unguessable and never reused, so it may
    be cached for a year by browsers and shared caches alike."""
    if not is_image_name(name) or size not in SIZES or ext not in FORMATS:
        abort(404)
    guarded = _guarded(name)
    if not _path(name, size).exists():
        if not _path(name, LARGEST_SIZE).exists():
            abort(404)
        _missing_size(name, size)
    if ext == "webp" and not _path(name, size, "webp").exists():
        _webp_copy(name, size)
    response = send_from_directory(_folder(), f"{name}-{size}.{ext}", mimetype=FORMATS[ext], max_age=CACHE_SECONDS)
    if guarded:
        # Who may have it depends on the viewer and may change (the ad hidden, a block):
        # the browser keeps it a day for this member; shared caches never hold it.
        response.headers["Cache-Control"] = f"private, max-age={GUARDED_CACHE_SECONDS}"
        response.vary.add("Cookie")
    else:
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response


def init_app(app) -> None:
    """Register the serving route and the template helpers (the factory installs
    UploadAwareRequest in the app's request class)."""
    app.register_blueprint(bp)
    # Pillow's own guard at our limit, for any picture this process opens: it refuses
    # outright (DecompressionBombError) twice as many pixels, before our check can run.
    Image.MAX_IMAGE_PIXELS = app.config["IMAGE_MAX_PIXELS"]
    app.jinja_env.globals.update(
        image_url=image_url, image_srcset=image_srcset, image_dimensions=image_dimensions
    )

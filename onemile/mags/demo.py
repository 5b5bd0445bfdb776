"""Demo mags for the Mulhouse neighbourhood: a bakery, a community garden association and
a neighbourhood party, with illustrated articles, comments and followers.

Everything goes through the real services (mags, articles, photo uploads, comments,
follows), so the pictures are decoded, re-encoded and stored exactly as members' photos
are. The pictures are drawn here with Pillow: nothing is downloaded.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw
from werkzeug.datastructures import FileStorage

from ..demo import Story
from ..demo_data import read
from ..extensions import db
from ..geo import LatLon
from . import services

PHOTO_SIZE = (1200, 800)


# --- pictures --------------------------------------------------------------------------


def _canvas(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A picture with a vertical gradient from `top` to `bottom`."""
    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return image, draw


def _kougelhopf() -> Image.Image:
    """A golden kougelhopf on a wooden counter, dusted with sugar."""
    image, draw = _canvas((250, 236, 214), (182, 128, 78))
    draw.rectangle([0, 560, 1200, 800], fill=(140, 92, 52))
    cx, cy = 600, 430
    draw.ellipse([cx - 330, cy + 80, cx + 330, cy + 190], fill=(110, 70, 38))  # shadow
    for ring in range(9):
        radius = 300 - ring * 26
        shade = (196 - ring * 6, 128 - ring * 4, 52)
        draw.ellipse([cx - radius, cy - radius * 0.55, cx + radius, cy + radius * 0.55 + 120 - ring * 10],
                     fill=shade, outline=(120, 70, 30), width=3)
    for angle in range(0, 360, 30):  # the fluted sides
        x = cx + math.cos(math.radians(angle)) * 250
        y = cy + 40 + math.sin(math.radians(angle)) * 110
        draw.line([(cx, cy - 40), (x, y)], fill=(150, 90, 40), width=6)
    draw.ellipse([cx - 50, cy - 70, cx + 50, cy - 20], fill=(90, 55, 25))  # the hole
    for i in range(160):  # icing sugar
        x = cx - 260 + (i * 97) % 520
        y = cy - 120 + (i * 53) % 170
        draw.ellipse([x, y, x + 6, y + 6], fill=(255, 255, 250))
    return image


def _bread_shelf() -> Image.Image:
    """Loaves and bretzels on the shelves of the bakery."""
    image, draw = _canvas((235, 222, 200), (205, 180, 150))
    for shelf in (250, 500, 750):
        draw.rectangle([60, shelf, 1140, shelf + 24], fill=(120, 80, 45))
        for i in range(6):
            x = 110 + i * 175
            if (shelf // 250 + i) % 2:
                draw.ellipse([x, shelf - 110, x + 150, shelf], fill=(186, 120, 60), outline=(120, 70, 30), width=4)
                for cut in range(3):
                    draw.arc([x + 20 + cut * 35, shelf - 95, x + 60 + cut * 35, shelf - 30], 200, 340,
                             fill=(240, 210, 160), width=5)
            else:
                draw.arc([x, shelf - 120, x + 90, shelf - 20], 0, 360, fill=(150, 85, 35), width=18)
                draw.arc([x + 60, shelf - 120, x + 150, shelf - 20], 0, 360, fill=(150, 85, 35), width=18)
    return image


def _pumpkins() -> Image.Image:
    """Pumpkins and squash harvested in the shared garden."""
    image, draw = _canvas((170, 215, 240), (120, 170, 90))
    draw.rectangle([0, 520, 1200, 800], fill=(96, 70, 44))
    for row in range(3):
        draw.line([(0, 560 + row * 80), (1200, 540 + row * 80)], fill=(80, 58, 36), width=8)
    for i, (x, y, r, colour) in enumerate(
        [(250, 600, 120, (232, 120, 30)), (520, 640, 90, (240, 170, 40)), (760, 590, 140, (220, 100, 25)),
         (1000, 660, 80, (200, 190, 60)), (390, 700, 70, (235, 140, 35))]
    ):
        draw.ellipse([x - r, y - r * 0.8, x + r, y + r * 0.8], fill=colour, outline=(150, 70, 20), width=4)
        for k in (-0.5, 0, 0.5):
            draw.arc([x - r * (0.4 + abs(k)), y - r * 0.8, x + r * (0.4 - abs(k)) + r * k, y + r * 0.8], 270, 90,
                     fill=(170, 80, 20), width=3)
        draw.rectangle([x - 8, y - r * 0.8 - 30, x + 8, y - r * 0.8 + 4], fill=(70, 110, 40))
        draw.ellipse([x + 10 + i * 3, y - r * 0.8 - 40, x + 80, y - r * 0.8 - 5], fill=(60, 140, 50))
    return image


def _compost() -> Image.Image:
    """Three wooden compost bins in the garden."""
    image, draw = _canvas((200, 228, 240), (140, 180, 110))
    draw.rectangle([0, 600, 1200, 800], fill=(90, 140, 70))
    for i in range(3):
        x = 150 + i * 330
        draw.rectangle([x, 330, x + 260, 620], fill=(120, 90, 60))
        for plank in range(6):
            draw.rectangle([x, 340 + plank * 48, x + 260, 370 + plank * 48], fill=(160, 120, 80),
                           outline=(100, 70, 40), width=2)
        draw.polygon([(x + 20, 330), (x + 130, 250 + i * 20), (x + 240, 330)], fill=(70, 50, 30))
    return image


def _party() -> Image.Image:
    """Bunting, a stage and tables set for the neighbourhood party."""
    image, draw = _canvas((110, 170, 230), (250, 215, 150))
    colours = [(220, 50, 60), (250, 200, 40), (40, 150, 90), (50, 110, 200), (240, 120, 30)]
    for string in range(2):
        y0 = 90 + string * 120
        draw.line([(0, y0), (1200, y0 + 40)], fill=(60, 60, 60), width=3)
        for i in range(16):
            x = i * 78
            y = y0 + x * 40 / 1200
            draw.polygon([(x, y), (x + 60, y + 2), (x + 30, y + 70)], fill=colours[(i + string) % 5])
    draw.rectangle([380, 380, 820, 560], fill=(90, 50, 120))  # the stage
    draw.rectangle([360, 560, 840, 600], fill=(60, 35, 80))
    for i in range(4):
        x = 80 + i * 290
        draw.rectangle([x, 660, x + 220, 680], fill=(240, 240, 235))
        draw.rectangle([x + 10, 680, x + 22, 760], fill=(120, 120, 120))
        draw.rectangle([x + 198, 680, x + 210, 760], fill=(120, 120, 120))
    return image


def _upload(image: Image.Image, name: str) -> FileStorage:
    """The picture as a member's phone would send it."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    buffer.seek(0)
    return FileStorage(buffer, filename=name, content_type="image/jpeg")


# --- content (the text is in onemile/demo_data/mags.toml) ------------------------------


@dataclass(frozen=True)
class _Article:
    title: str
    body: str
    photos: tuple[tuple[object, str], ...]  # (drawing function, description)
    days_ago: float
    comments: tuple[tuple[str, str], ...] = ()  # (member key, text)
    published: bool = True


@dataclass(frozen=True)
class _Mag:
    owner: str
    title: str
    kind: str
    point: LatLon
    about: str
    cover: tuple[object, str]
    articles: tuple[_Article, ...]
    followers: tuple[str, ...]


_DRAWINGS = {"kougelhopf": _kougelhopf, "bread_shelf": _bread_shelf, "pumpkins": _pumpkins,
             "compost": _compost, "party": _party}


def _photo(spec: list[str]) -> tuple[object, str]:
    """(drawing function, description) from the data file's (drawing name, description)."""
    drawing, text = spec
    return _DRAWINGS[drawing], text


MAGS = tuple(
    _Mag(
        owner=mag["owner"], title=mag["title"], kind=mag["kind"], point=LatLon(*mag["point"]),
        about=mag["about"], cover=_photo(mag["cover"]), followers=tuple(mag["followers"]),
        articles=tuple(
            _Article(
                title=article["title"], body=article["body"],
                photos=tuple(_photo(photo) for photo in article.get("photos", ())),
                days_ago=article["days_ago"],
                comments=tuple(tuple(comment) for comment in article.get("comments", ())),
                published=article.get("published", True),
            )
            for article in mag["articles"]
        ),
    )
    for mag in read("mags")["mags"]
)


def load_demo_mags(story: Story) -> dict:
    """Create the demo mags of `members` (keyed as in onemile.demo) and return counts.

    Followers follow first, so the demo account finds "new article" notifications in its
    bell; e-mails are off meanwhile, since demo addresses are not real.
    """
    members, now = story.members, story.now
    saved = {key: member.email_notifications for key, member in members.items()}
    for member in members.values():
        member.email_notifications = False
    db.session.flush()
    counts = {"mags": 0, "articles": 0, "photos": 0, "comments": 0}
    for spec in MAGS:
        owner = members[spec.owner]
        draw, alt = spec.cover
        # Every demo mag stands at a public place (a shop, a garden, a square): shown exactly.
        data = services.MagData(spec.title, spec.about, spec.kind, spec.point, alt, public_place=True)
        mag = services.create_mag(owner, data, _upload(draw(), "cover.jpg"))
        counts["mags"] += 1
        for key in spec.followers:
            services.follow(members[key], mag.id)
        for article_spec in sorted(spec.articles, key=lambda a: -a.days_ago):
            photos = tuple(
                services.NewPhoto(_upload(drawing(), f"photo-{index}.jpg"), text)
                for index, (drawing, text) in enumerate(article_spec.photos)
            )
            article = services.create_article(
                owner, mag.id, services.ArticleData(article_spec.title, article_spec.body, article_spec.published, photos)
            )
            when = now - timedelta(days=article_spec.days_ago)
            article.created_at = article.updated_at = when
            if article.published_at:
                article.published_at = when
            for index, (key, text) in enumerate(article_spec.comments):
                comment = services.add_comment(members[key], mag.id, article.id, text)
                comment.created_at = when + timedelta(hours=2 + index * 3)
            db.session.flush()
            counts["articles"] += 1
            counts["photos"] += len(photos)
            counts["comments"] += len(article_spec.comments)
    for key, member in members.items():
        member.email_notifications = saved[key]
    db.session.flush()
    return counts

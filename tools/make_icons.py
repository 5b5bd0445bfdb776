"""Draw the 1Mile app icons (dev-time tool; needs Pillow, which is not a runtime dependency).

The mark is the product itself: a ring (your mile) around a dot (you), white on the theme green.
Shapes only, no font, so the output is the same on every machine.

    .venv/bin/pip install Pillow && .venv/bin/python tools/make_icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

GREEN = (11, 110, 79, 255)  # #0b6e4f, the theme colour
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parents[1] / "onemile" / "static" / "icons"
SUPERSAMPLE = 4  # draw large, then shrink: smooth edges without an anti-aliasing library


def draw_icon(size: int, maskable: bool) -> Image.Image:
    """One icon. `maskable` fills the whole square and keeps the mark in the central 80 % safe zone."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=GREEN)
        ring = 0.30  # outer radius as a share of the side: well inside the 0.40 safe radius
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.22), fill=GREEN)
        ring = 0.36
    centre = big / 2
    outer = big * ring
    width = big * ring * 0.26
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), fill=WHITE)
    inner = outer - width
    draw.ellipse((centre - inner, centre - inner, centre + inner, centre + inner), fill=GREEN)
    dot = outer * 0.30
    draw.ellipse((centre - dot, centre - dot, centre + dot, centre + dot), fill=WHITE)
    small = image.resize((size, size), Image.LANCZOS)
    # A small palette keeps the files tiny; the mark only needs green, white and their blends.
    return small.quantize(colors=32, method=Image.Quantize.FASTOCTREE)


def main() -> None:
    """Write icon-32.png (the tab's favicon: a tenth of the 192 px file on every first
    visit), icon-192.png, icon-512.png and icon-maskable-512.png."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-32.png", 32, False),
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        path = OUT / name
        draw_icon(size, maskable).save(path, optimize=True)
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

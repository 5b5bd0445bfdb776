"""Screenshots of a running 1Mile with its demo data (`make run`), made in Debian's Chromium.

    .venv/bin/python tools/make_screenshots.py http://127.0.0.1:5000            # both sets
    .venv/bin/python tools/make_screenshots.py http://127.0.0.1:5000 --docs after

- onemile/static/screenshots/map-narrow.webp (360 × 800) and map-wide.webp (1280 × 800): the
  manifest's screenshots, for the richer install dialog;
- docs/screenshots/<page>-<suffix>.webp: the map, an ad, a conversation and the post form on a
  360 × 800 phone, linked from the README (issue 15 keeps a "before" set beside the "after").
Small WebP files (quality 60): they travel only when someone installs or reads the docs.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DEMO = ("demo@1mile.local", "entraide-mulhouse")


def _save(png: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").save(path, "WEBP", quality=60, method=6)
    print(path.relative_to(ROOT), path.stat().st_size, "bytes")


def _logged_in(browser, base: str, **options):
    context = browser.new_context(locale="fr-FR", **options)
    page = context.new_page()
    page.goto(base + "/auth/login")
    page.fill("#email", DEMO[0])
    page.fill("#password", DEMO[1])
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/map**")
    return page


def _first_href(page, selector: str) -> str:
    return page.locator(selector).first.get_attribute("href")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="where the app runs, e.g. http://127.0.0.1:5000")
    parser.add_argument("--docs", metavar="SUFFIX", help="only the docs set, named <page>-SUFFIX.webp")
    options = parser.parse_args()
    base = options.base.rstrip("/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phone = _logged_in(browser, base, viewport={"width": 360, "height": 800}, is_mobile=True, has_touch=True)
        phone.goto(base + "/map")
        phone.wait_for_load_state("networkidle")
        listing = _first_href(phone, "#nearest ol.nearest li > a")
        phone.goto(base + "/conversations/")
        conversation = _first_href(phone, "main a[href^='/conversations/']")
        pages = {"map": "/map", "listing": listing, "conversation": conversation, "post": "/listings/new"}
        suffix = options.docs or "after"
        for name, path in pages.items():
            phone.goto(base + path)
            phone.wait_for_load_state("networkidle")
            phone.wait_for_timeout(800)  # tiles and markers
            _save(phone.screenshot(), ROOT / "docs" / "screenshots" / f"{name}-{suffix}.webp")
        if not options.docs:
            phone.goto(base + "/map")
            phone.wait_for_load_state("networkidle")
            phone.wait_for_timeout(800)
            _save(phone.screenshot(), ROOT / "onemile" / "static" / "screenshots" / "map-narrow.webp")
            wide = _logged_in(browser, base, viewport={"width": 1280, "height": 800})
            wide.goto(base + "/map")
            wide.wait_for_load_state("networkidle")
            wide.wait_for_timeout(800)
            _save(wide.screenshot(), ROOT / "onemile" / "static" / "screenshots" / "map-wide.webp")
        browser.close()


if __name__ == "__main__":
    main()

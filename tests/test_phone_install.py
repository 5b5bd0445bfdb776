"""Install like an app (issue 15, item 8): the manifest speaks the member's language, has an
id, shortcuts (Post, Around me, Messages) and narrow and wide screenshots that exist."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

STATIC = Path(__file__).resolve().parent.parent / "onemile" / "static"


def _status(client, url: str) -> int:
    response = client.get(url)
    response.close()  # a file answer: close it
    return response.status_code


def _manifest(client, path="/manifest.json", **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    return response, response.get_json(force=True)


def test_the_manifest_speaks_the_language_asked(client):
    _, french = _manifest(client, "/manifest.json?lang=fr")
    _, english = _manifest(client, "/manifest.json?lang=en")
    assert french["lang"] == "fr" and english["lang"] == "en"
    assert french["name"] == "1Mile – entraide de proximité"
    assert english["name"] == "1Mile – neighbours helping each other"
    assert [s["name"] for s in french["shortcuts"]] == ["Publier", "Autour de moi", "Messages"]
    assert [s["name"] for s in english["shortcuts"]] == ["Post", "Around me", "Messages"]
    for manifest in (french, english):
        assert manifest["id"] == "/map" and manifest["start_url"] == "/map" and manifest["short_name"] == "1Mile"


def test_without_lang_the_manifest_follows_the_browser_and_says_it_varies(client):
    response, manifest = _manifest(client, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert manifest["lang"] == "en" and manifest["shortcuts"][0]["name"] == "Post"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    response, manifest = _manifest(client, "/manifest.json?lang=xx", **{"Accept-Language": "fr-FR"})
    assert manifest["lang"] == "fr"


def test_pages_link_the_manifest_in_their_language(client):
    assert 'rel="manifest" href="/manifest.json?lang=en"' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_shortcuts_and_screenshots_point_at_real_pages_and_files(client):
    _, manifest = _manifest(client, "/manifest.json?lang=fr")
    assert [s["url"] for s in manifest["shortcuts"]] == ["/listings/new", "/listings/", "/conversations/"]
    factors = {}
    for shot in manifest["screenshots"]:
        path = urlsplit(shot["src"]).path
        assert _status(client, shot["src"]) == 200
        with Image.open(STATIC / path.removeprefix("/static/")) as image:
            assert f"{image.width}x{image.height}" == shot["sizes"] and image.format == "WEBP"
        assert shot["label"] and shot["type"] == "image/webp"
        factors[shot["form_factor"]] = image.width / image.height
    assert factors["narrow"] < 1 < factors["wide"]
    for icon in manifest["icons"] + [i for s in manifest["shortcuts"] for i in s["icons"]]:
        assert _status(client, icon["src"]) == 200

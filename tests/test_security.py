"""Security defaults shared by every page: headers, no inline script, CSRF on htmx."""

import re


def test_strict_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_policy_allows_every_tile_subdomain_and_nothing_else(make_app):
    app = make_app(TILE_URL="https://{s}.tiles.example/{z}/{x}/{y}{r}.png")
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.example;" in csp
    single = make_app(TILE_URL="https://tiles.example/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.example;" in single.test_client().get("/").headers[
        "Content-Security-Policy"
    ]


def test_pages_have_no_inline_script_or_style(client, auth, factory):
    auth.login(factory.member())
    for path in ("/map", "/listings/", "/listings/new", "/miles/"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert " hx-on" not in html and "onclick=" not in html, path


def test_htmx_requests_carry_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    refused = client.post("/map/layers", data={"layer": ["offers"]}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = client.post("/map/layers", data={"layer": ["offers"]},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200


def test_language_switch_is_a_post_and_only_redirects_locally(client):
    assert client.get("/language/en").status_code == 405
    response = client.post("/language/en", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    response = client.post("/language/en", data={"next": "/explore"})
    assert response.headers["Location"] == "/explore"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    client.post("/language/fr", data={"next": "/"})
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)
    assert client.post("/language/de").status_code == 404


def test_unknown_pages_get_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1>" in response.get_data(as_text=True)

"""Featherweight, measured in real Chromium: the map page and a listing page cost at most
80 KB on a first visit and 5 KB on a repeat visit (issue #7, item 3).

The measurement is bench/page_weight.py's, the one `make bench` reports: what Chromium
received for the page's own requests and what the server sent (the service worker's install
included). Map tiles go to an unreachable address, so they never count, as the budget says.
"""

from __future__ import annotations

import pytest
from conftest import Factory

from bench.page_weight import FIRST_BUDGET_KB, REPEAT_BUDGET_KB, measure, weighed_server

pytestmark = pytest.mark.browser


@pytest.fixture
def weighed(make_app):
    """A live server with tiles pointing nowhere and a byte counter in front of the app."""
    with weighed_server(make_app()) as server:
        yield server


def _measure(browser, server, member, path: str) -> tuple[dict, dict]:
    return measure(browser, server, member.email, member.password, path)


def _report(name: str, first: dict, repeat: dict) -> None:
    print(f"\n{name}: first {first['chromium_kb']} KB (Chromium) / {first['server_kb']} KB (server), "
          f"repeat {repeat['chromium_kb']} KB / {repeat['server_kb']} KB")
    for path, size in sorted(first["server"], key=lambda item: -item[1]):
        print(f"  {size / 1024:6.1f} KB  {path}")


def _check(first: dict, repeat: dict) -> None:
    # Both counts: Chromium's (the page's requests) and the server's (with the worker's).
    assert first["chromium_kb"] <= FIRST_BUDGET_KB, first["chromium"]
    assert first["server_kb"] <= FIRST_BUDGET_KB, first["server"]
    assert repeat["chromium_kb"] <= REPEAT_BUDGET_KB, repeat["chromium"]
    assert repeat["server_kb"] <= REPEAT_BUDGET_KB, repeat["server"]
    # The repeat visit takes no static file from the network: the worker or the HTTP cache has it.
    assert not [path for path, _ in repeat["server"] if path.startswith("/static/")], repeat["server"]


def test_the_map_page_is_featherweight(browser, weighed):
    factory = Factory(weighed.app)
    anne = factory.member(first_name="Anne")
    bruno = factory.member(first_name="Bruno")
    for i in range(5):
        factory.listing(bruno, title=f"Ladder number {i}")
    first, repeat = _measure(browser, weighed, anne, "/map")
    _report("map page", first, repeat)
    _check(first, repeat)


def test_a_listing_page_is_featherweight(browser, weighed):
    factory = Factory(weighed.app)
    anne = factory.member(first_name="Anne")
    bruno = factory.member(first_name="Bruno")
    listing_id = factory.listing(bruno, title="A ladder to lend")
    first, repeat = _measure(browser, weighed, anne, f"/listings/{listing_id}")
    _report("listing page", first, repeat)
    _check(first, repeat)


def test_the_nearby_list_comes_before_the_map(client, auth, factory):
    """The list of what is near renders first: it precedes the map in the page's source."""
    auth.login(factory.member())
    html = client.get("/map").get_data(as_text=True)
    assert 'id="nearest"' in html and 'id="map"' in html
    assert html.index('id="nearest"') < html.index('id="map"')

"""Places by name: the search (no app), its endpoint (fragment and page), and adding a mile
by town, neighbourhood or postal code, with and without JavaScript, on both backends."""

from __future__ import annotations

import re

import pytest
import test_miles
from helpers import html
from test_miles import miles_of
from test_places import km_between

from onemile import place_names
from onemile.geo import LatLon

HX = {"HX-Request": "true"}
member = test_miles.member  # the fixture: a logged-in member (pages in English) with one mile


# --- the search itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["saint etienne", "SAINT-ÉTIENNE", "St Etienne", "saint-etienne", "st étienne"])
def test_accents_case_and_saints_are_ignored(query: str) -> None:
    found = place_names.search("FR", query)
    assert found[0].name == "Saint-Étienne"
    assert found[0].area == "Loire"


def test_ranked_by_population_then_nearness() -> None:
    names = [f.name for f in place_names.search("FR", "saint e")]
    assert names[0] == "Saint-Étienne"  # the biggest first
    # Three French communes are called Montréal: from Carcassonne, the Aude's comes first.
    near_carcassonne = place_names.search("FR", "montreal", near=LatLon(43.21, 2.35))
    assert near_carcassonne[0].area == "Aude"
    near_agen = place_names.search("FR", "montreal", near=LatLon(44.2, 0.62))
    assert near_agen[0].area == "Gers"


def test_any_word_of_the_name_matches() -> None:
    assert "Le Plateau-Mont-Royal" in [f.name for f in place_names.search("CA", "plateau mont")]
    assert "Le Plateau-Mont-Royal" in [f.name for f in place_names.search("CA", "mont royal")]


def test_every_french_commune_and_arrondissement_is_there() -> None:
    assert place_names.search("FR", "mulhouse")[0].id == "FR:68224"
    assert [f.name for f in place_names.search("FR", "paris 11")] == ["Paris 11e Arrondissement"]
    tiny = place_names.search("FR", "Rochefourchat")  # the smallest commune of France: 1 inhabitant
    assert tiny and tiny[0].area == "Drôme"


def test_francophone_countries_without_postal_codes_are_found_by_name() -> None:
    for country, query, name in [("SN", "dakar", "Dakar"), ("CI", "abidjan", "Abidjan"), ("CM", "yaounde", "Yaoundé"),
                                 ("MA", "casa", "Casablanca"), ("MG", "antananarivo", "Antananarivo")]:
        assert place_names.search(country, query)[0].name == name


def test_a_postal_code_is_a_suggestion_too() -> None:
    first = place_names.search("FR", "68100")[0]
    assert first.id == "FR@68100" and first.name == "Mulhouse"
    assert place_names.get("FR@68100") == first


def test_ids_round_trip_and_bad_ids_give_none() -> None:
    found = place_names.search("FR", "strasbourg")[0]
    assert place_names.get(found.id) == found
    for bad in ["", "FR", "FR:", "FR:99999999", "XX:1", "fr/../x:1", "../../etc:1", "FR@", "FR@00000", ":" * 50]:
        assert place_names.get(bad) is None


def test_nothing_for_empty_or_unknown_queries() -> None:
    assert place_names.search("FR", "") == []
    assert place_names.search("FR", "  -- ") == []
    assert place_names.search("FR", "zzzzqqq") == []
    assert place_names.search("XX", "paris") == []
    assert place_names.search("../FR", "paris") == []


# --- the endpoint ---------------------------------------------------------------------------------


def test_suggestions_fragment_is_a_list_of_options(client) -> None:
    response = client.get("/places/search?place=saint+etienne&country=FR&list=signup-place-list", headers=HX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert 'role="option"' in body and 'id="signup-place-list-1"' in body
    assert "Saint-Étienne" in body and 'data-place-id="FR:42218"' in body


def test_without_javascript_the_search_is_a_page_of_results(client) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = html(client.get("/places/search?place=saint+etienne&country=FR"))
    assert "<h1>Find a place</h1>" in page
    links = re.findall(r'<a href="(/explore\?[^"]+)"', page)
    assert links and links[0].startswith("/explore?lat=45.4")
    assert "Saint-Étienne" in page
    empty = html(client.get("/places/search?place=zzzzqq&country=FR"))
    assert "No place found" in empty


def test_user_text_is_escaped_and_list_ids_are_checked(client) -> None:
    body = client.get('/places/search?place=<script>&country=FR&list="><b>x', headers=HX).get_data(as_text=True)
    assert "<script>" not in body and "<b>" not in body
    page = client.get("/places/search?place=<script>alert(1)</script>").get_data(as_text=True)
    assert "<script>alert(1)" not in page


def test_the_search_is_rate_limited(make_app) -> None:
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    codes = [client.get("/places/search?place=pa&country=FR", headers=HX).status_code for _ in range(62)]
    assert codes[:60] == [200] * 60
    assert codes[60:] == [429, 429]


# --- add a mile by place --------------------------------------------------------------------------


def _add(client, **fields):
    data = {"name": "", "latitude": "", "longitude": "", "place": "", "place_id": "", "country": "FR", **fields}
    return client.post("/miles/", data=data)


def test_add_a_mile_by_picked_place(app, client, member) -> None:
    strasbourg = place_names.search("FR", "strasbourg")[0]
    assert _add(client, place="Strasbourg", place_id=strasbourg.id).status_code == 303
    added = miles_of(app, member.id)[-1]
    assert added["name"] == "Strasbourg"  # the place's name when none is given
    assert km_between(added["center"].lat, added["center"].lon, strasbourg.latitude, strasbourg.longitude) < 0.01


def test_add_a_mile_by_postal_code_typed_without_javascript(app, client, member) -> None:
    assert _add(client, name="Travail", place="75011").status_code == 303
    added = miles_of(app, member.id)[-1]
    assert added["name"] == "Travail"
    assert km_between(added["center"].lat, added["center"].lon, 48.8589, 2.3801) < 5


def test_an_ambiguous_name_asks_which_one_and_writes_nothing(app, client, member) -> None:
    before = miles_of(app, member.id)
    response = _add(client, place="Montreal")
    assert response.status_code == 422
    page = html(response)
    radios = re.findall(r'<input type="radio" id="place-choice-\d+" name="place_id" value="([^"]+)"', page)
    assert len(radios) >= 3
    assert "Choose your place in the list." in page
    assert 'id="place" name="place" value="Montreal"' in page
    assert 'type="hidden" name="place_id"' not in page  # the radios replace it
    assert miles_of(app, member.id) == before
    # Choosing one of them (the second) adds the mile there.
    chosen = radios[1]
    assert _add(client, place="Montreal", place_id=chosen).status_code == 303
    assert miles_of(app, member.id)[-1]["center"] == place_names.get(chosen).point


def test_an_unknown_place_is_refused_on_the_form(app, client, member) -> None:
    before = miles_of(app, member.id)
    response = _add(client, name="Ailleurs", place="Zzyzxqq")
    assert response.status_code == 422
    assert "We do not know this place" in html(response)
    assert miles_of(app, member.id) == before


def test_nothing_at_all_asks_for_a_place_or_a_point(app, client, member) -> None:
    before = miles_of(app, member.id)
    response = _add(client, name="Vide")
    assert response.status_code == 422
    assert "Type a town or a postal code, or click the map." in html(response)
    assert miles_of(app, member.id) == before


def test_the_map_point_still_works(app, client, member) -> None:
    assert _add(client, name="Ici", latitude="47.7818", longitude="7.3465").status_code == 303
    assert miles_of(app, member.id)[-1]["center"] == LatLon(47.7818, 7.3465)


def test_the_add_form_is_a_labelled_combobox(client, member) -> None:
    page = html(client.get("/miles/"))
    box = re.search(r'<input id="place" [^>]*>', page, flags=re.DOTALL).group(0)
    assert 'role="combobox"' in box and 'aria-controls="place-list"' in box and 'aria-expanded="false"' in box
    assert 'hx-trigger="input changed delay:300ms"' in box and 'hx-include="#country"' in box
    assert '<label for="place">Town, neighbourhood or postal code</label>' in page
    assert '<ul id="place-list" role="listbox"' in page
    assert re.search(r'<option selected value="FR">|<option value="FR" selected>', page)


# --- the visitors' map ----------------------------------------------------------------------------


def test_visitors_explore_around_a_town_by_name(client) -> None:
    response = client.get("/explore?place=saint-etienne&country=FR&place_id=")
    assert response.status_code == 302  # one exact name: no need to ask
    assert "lat=45.4" in response.headers["Location"]
    picked = client.get("/explore?place=Plateau&country=CA&place_id=CA:13546316")
    assert "lat=45.52" in picked.headers["Location"]


def test_visitors_choose_among_homonyms_without_javascript(client) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get("/explore?place=montreal&country=FR")
    assert response.status_code == 422
    page = html(response)
    assert "Which one?" in page and page.count('name="place_id"') >= 3
    assert 'aria-invalid="true"' in page


def test_the_explore_form_is_a_combobox_that_goes_on_pick(client) -> None:
    page = html(client.get("/explore?lat=47.75&lon=7.33"))
    assert 'data-submit-on-pick' in page and 'role="combobox"' in page
    assert "js/places.js" in page


# --- sign-up --------------------------------------------------------------------------------------


def _signup(client, **changes):
    from conftest import SIGNUP

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client.post("/auth/signup", data={**SIGNUP, **changes})


def _member(app, address: str):
    from sqlalchemy import select

    from onemile.extensions import db
    from onemile.models import Member

    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.email == address))
        if member is None:
            return None
        return member.postal_code, member.country, [(m.name, m.center_latlon) for m in member.miles]


def test_sign_up_in_dakar_by_town_name_without_a_postal_code(app, client) -> None:
    response = _signup(client, email="awa@example.org", country="SN", postal_code="", place="Dakar")
    assert response.status_code == 303
    postal_code, country, miles = _member(app, "awa@example.org")
    assert (postal_code, country) == ("", "SN")
    [(name, center)] = miles
    assert name == "Dakar"
    assert km_between(center.lat, center.lon, 14.6937, -17.44406) < 1


def test_a_picked_neighbourhood_wins_over_the_postal_code(app, client) -> None:
    plateau = place_names.get("CA:13546316")
    response = _signup(client, email="luc@example.org", country="CA", postal_code="H3A 1A1",
                       place="Le Plateau-Mont-Royal", place_id=plateau.id)
    assert response.status_code == 303
    _, _, [(name, center)] = _member(app, "luc@example.org")
    assert (name, center) == ("Le Plateau-Mont-Royal", plateau.point)


def test_sign_up_needs_a_postal_code_or_a_place(app, client) -> None:
    response = _signup(client, email="nobody@example.org", postal_code="", place="")
    assert response.status_code == 422
    assert "Give your postal code, or the name of your town or neighbourhood." in html(response)
    assert _member(app, "nobody@example.org") is None


def test_sign_up_with_homonyms_asks_which_one_and_keeps_what_was_typed(app, client) -> None:
    response = _signup(client, email="marc@example.org", postal_code="", place="Montreal", first_name="Marc")
    assert response.status_code == 422
    page = html(response)
    assert "Which one?" in page and 'value="Marc"' in page and 'value="Montreal"' in page
    assert _member(app, "marc@example.org") is None
    chosen = re.findall(r'name="place_id" value="(FR:[^"]+)"', page)[0]
    assert _signup(client, email="marc@example.org", postal_code="", place="Montreal", place_id=chosen).status_code == 303
    _, _, [(_, center)] = _member(app, "marc@example.org")
    assert center == place_names.get(chosen).point


def test_countries_are_named_and_sorted_in_the_members_language(client) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    page = html(client.get("/auth/signup"))
    names = re.findall(r'<option (?:selected )?value="[A-Z]{2}"(?: selected)?>([^<]+)</option>', page)
    for name in ["Sénégal", "Côte d’Ivoire", "Cameroun", "Maroc", "Madagascar", "Algérie", "Tunisie", "Belgique",
                 "Suisse", "Émirats arabes unis", "Égypte"]:
        assert name in names, name
    # Accents do not send "Émirats" or "Égypte" after "Zimbabwe": they sort with E.
    assert names.index("Danemark") < names.index("Égypte") < names.index("Émirats arabes unis") < names.index("Espagne")
    assert names.index("Érythrée") < names.index("Espagne") < names.index("Zimbabwe")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    english = re.findall(r'<option (?:selected )?value="[A-Z]{2}"(?: selected)?>([^<]+)</option>', html(client.get("/auth/signup")))
    assert "Senegal" in english and "Côte d’Ivoire" in english
    assert english.index("Afghanistan") < english.index("Åland Islands") < english.index("Albania")


# --- privacy ----------------------------------------------------------------------------------------


def test_moving_a_mile_from_a_place_centre_does_not_reveal_the_home(app, factory) -> None:
    """The difference attack of test_privacy_difference, from a town picked by name: the
    place's centre is public, and public points after the move are unrelated to those before."""
    import statistics

    from conftest import PASSWORD, MemberRef
    from test_privacy_difference import _by_difference, _login, _move, public_points

    from onemile.auth.services import SignupData, mark_verified, register
    from onemile.extensions import db
    from onemile.geo import destination, haversine_m

    dakar = place_names.search("SN", "Dakar")[0]
    observer = _login(app, factory.member(first_name="Curieux", postal_code="68200"))
    minimum = app.config["PUBLIC_OFFSET_MIN_M"]
    by_difference = []
    for i in range(8):
        with app.test_request_context():
            member = register(SignupData(
                email=f"cible{i}@example.org", password=PASSWORD, first_name=f"Cible{i}", last_name="Diop",
                postal_code="", country="SN", kind="person", organisation_name=None, language="fr",
                place_point=dakar.point, place_name=dakar.name,
            ))
            mark_verified(member)
            db.session.commit()
            assert member.miles[0].center_latlon == dakar.point  # the public centre, exactly
            victim = MemberRef(member.id, member.email, PASSWORD, member.miles[0].id)
        title = f"Perceuse {i}"
        factory.listing(victim, title=title)
        before = public_points(observer, dakar.point)[title]
        home = destination(dakar.point, i * 45 + 7, 300 + 90 * i)
        _move(_login(app, victim), victim.mile_id, home)
        after = public_points(observer, home)[title]
        assert haversine_m(after, home) >= minimum
        by_difference.append(haversine_m(_by_difference(dakar.point, before, after), home))
    assert min(by_difference) > 1, by_difference
    assert statistics.median(by_difference) >= minimum, by_difference

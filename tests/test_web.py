"""The web glue (onemile/web.py, Box in onemile/geo.py): the map's box, refusals on forms,
see-other redirects, page or fragment. A small Flask app of its own: no database needed."""

from __future__ import annotations

import math

import pytest
from flask import Flask, get_flashed_messages
from flask_wtf import FlaskForm
from helpers import assert_see_other
from jinja2 import DictLoader
from wtforms import StringField

from onemile.errors import ConflictError, RuleError
from onemile.geo import MILE_METRES, Box, InvalidBox, LatLon
from onemile.web import flash_refusal, page_or_fragment, refuse, see_other, submitted

# --- Box.from_args --------------------------------------------------------------------------


def _args(south, west, north, east) -> dict:
    return {"south": south, "west": west, "north": north, "east": east}


def test_a_box_is_parsed_from_the_map_s_four_sides():
    assert Box.from_args(_args("47.7", "7.25", "47.8", "7.4")) == Box(47.7, 7.25, 47.8, 7.4)


def test_a_french_decimal_comma_is_a_box_too():
    assert Box.from_args(_args("47,7", "7,25", "47,8", "7,4")) == Box(47.7, 7.25, 47.8, 7.4)


@pytest.mark.parametrize("args", [{}, {"south": "1", "west": "2", "north": "3"}, {"lat": "1", "lon": "2"}])
def test_no_box_or_a_side_missing_is_no_box(args):
    assert Box.from_args(args) is None


@pytest.mark.parametrize(
    "sides",
    [
        ("abc", "1", "2", "3"),  # not a number
        ("nan", "0", "1", "1"),  # NaN
        ("0", "-inf", "1", "inf"),  # infinite
        ("91", "0", "92", "1"),  # off the globe (latitude)
        ("0", "-181", "1", "0"),  # off the globe (longitude)
        ("10", "0", "5", "1"),  # south above north
        ("0", "10", "1", "5"),  # west east of east
        ("", "", "", ""),
    ],
)
def test_a_box_that_is_no_area_on_the_globe_is_refused(sides):
    with pytest.raises(InvalidBox):
        Box.from_args(_args(*sides))


def test_the_whole_globe_is_the_largest_box():
    assert Box.from_args(_args("-90", "-180", "90", "180")) == Box(-90.0, -180.0, 90.0, 180.0)


def test_a_box_around_a_point_is_a_mile_unless_told():
    box = Box.around(LatLon(47.75, 7.33))
    assert box == Box.around(LatLon(47.75, 7.33), MILE_METRES)
    assert math.isclose((box.north - box.south) / 2 * 110_574.0, MILE_METRES)


# --- A small app for the request-bound helpers ----------------------------------------------

PAGE = "<html><body>{% block content %}<p id=part>{{ word }}</p>{% endblock %}</body></html>"


class WordForm(FlaskForm):
    word = StringField()


@pytest.fixture
def web_app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False, TESTING=True)
    app.jinja_loader = DictLoader({"page.html": PAGE})

    @app.get("/target/<int:thing>")
    def target(thing):
        return str(thing)

    @app.get("/page")
    def page():
        return page_or_fragment("page.html", "content", word="hello")

    return app


def test_see_other_answers_303_to_the_endpoint_and_varies_on_htmx(web_app):
    with web_app.test_request_context("/", method="POST"):
        response = see_other("target", thing=7, _anchor="here")
    assert_see_other(response)
    assert response.location == "/target/7#here"
    assert "HX-Request" in response.vary


def test_a_refusal_goes_next_to_its_field_with_the_error_s_status(web_app):
    with web_app.test_request_context("/", method="POST", data={"word": "x"}):
        form = WordForm()
        form.validate()
        assert refuse(form, RuleError("Too short.", "word")) == 422
        assert form.word.errors == ["Too short."]
        assert form.form_errors == []
        assert refuse(form, ConflictError("Taken meanwhile.", "word")) == 409
        assert form.word.errors == ["Too short.", "Taken meanwhile."]


def test_a_general_refusal_goes_above_the_form_to_a_fallback_field_or_to_a_flash(web_app):
    with web_app.test_request_context("/", method="POST", data={"word": "x"}):
        form = WordForm()
        form.validate()
        refuse(form, RuleError("Not now."))
        refuse(form, RuleError("No such field.", "nothing_like_it"))
        assert form.form_errors == ["Not now.", "No such field."]
        refuse(form, RuleError("About the word.", None), fallback="word")
        assert form.word.errors == ["About the word."]
        refuse(form, RuleError("Closed meanwhile."), flash_general=True)
        assert form.form_errors == ["Not now.", "No such field."]
        assert get_flashed_messages(with_categories=True) == [("error", "Closed meanwhile.")]


def test_submitted_returns_what_the_action_made_or_none_with_the_refusal_on_the_form(web_app):
    with web_app.test_request_context("/", method="POST", data={"word": "x"}):
        form = WordForm()
        assert submitted(form, lambda: "made") == "made"

        def refused():
            raise RuleError("No.", "word")

        assert submitted(form, refused) is None
        assert form.word.errors == ["No."]
    with web_app.test_request_context("/", method="GET"):
        assert submitted(WordForm(), lambda: pytest.fail("nothing was sent")) is None


@pytest.mark.parametrize(
    "headers, fragment",
    [
        ({}, False),
        ({"HX-Request": "true"}, True),
        ({"HX-Request": "true", "HX-Boosted": "true"}, False),
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, False),
    ],
    ids=["plain", "htmx", "boosted", "history-restore"],
)
def test_page_or_fragment_follows_htmx_and_always_varies(web_app, headers, fragment):
    response = web_app.test_client().get("/page", headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<p id=part>hello</p>" in body
    assert ("<html>" not in body) is fragment
    assert "HX-Request" in response.vary


def test_a_one_click_refusal_is_flashed_and_a_success_said(web_app):
    def refused():
        raise RuleError("Closed meanwhile.")

    with web_app.test_request_context("/", method="POST"):
        assert flash_refusal(refused, "Done.") is False
        assert flash_refusal(lambda: "Anne", lambda name: f"You blocked {name}.") is True
        assert flash_refusal(lambda: None) is True
        assert get_flashed_messages(with_categories=True) == [
            ("error", "Closed meanwhile."),
            ("success", "You blocked Anne."),
        ]

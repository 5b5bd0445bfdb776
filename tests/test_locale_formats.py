"""Numbers, money, dates and distances written the reader's way, and e-mails in the
recipient's language (issue #7, item 1).

The expected strings come from Babel itself (babel.numbers/babel.dates with an explicit
locale) or are spelled out, so a helper that forgot the locale cannot agree with them by
accident. French groups thousands with a narrow no-break space (U+202F) and puts a no-break
space (U+00A0) before the euro sign.
"""

from __future__ import annotations

import email
import re
from datetime import UTC
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date as babel_format_date
from flask import render_template_string
from flask_babel import force_locale

from onemile.extensions import db
from onemile.models import Listing, Member
from onemile.privacy import distance_band

NNBSP = "\u202f"  # French thousands separator
NBSP = "\xa0"  # before the euro sign in French


def _mails(outbox: Path) -> list[email.message.EmailMessage]:
    files = sorted(outbox.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns) if outbox.exists() else []
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]


def _render(app, locale: str, source: str, **context) -> str:
    with app.test_request_context(), force_locale(locale):
        return render_template_string(source, **context)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr", f"1{NNBSP}500,00{NBSP}€"), ("en", "€1,500.00")],
)
def test_money_is_grouped_and_placed_per_locale(app, locale, expected):
    # The `euros` filter every project page uses (amounts are stored in cents).
    assert _render(app, locale, "{{ 150000 | euros }}") == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", f"Vous avez 1{NNBSP}500 smiles.|1 tâche sur 2{NNBSP}000 a un bénévole"),
        ("en", "You have 1,500 smiles.|1 of 2,000 tasks has a volunteer"),
    ],
)
def test_counts_in_plural_messages_are_grouped_per_locale(app, locale, expected):
    # Templates' ngettext: the plural form is chosen from the number, then every count
    # (num and the others) is written with the locale's grouping.
    source = (
        '{{ ngettext("You have %(num)d smile.", "You have %(num)d smiles.", 1500) }}|'
        '{{ ngettext("%(num)d of %(total)d tasks has a volunteer",'
        ' "%(num)d of %(total)d tasks have a volunteer", 1, total=2000) }}'
    )
    assert _render(app, locale, source) == expected


def test_plural_messages_stay_escaped(app):
    rendered = _render(app, "en", '{{ ngettext("%(num)d of %(total)s", "%(num)d of %(total)s", 2, total=title) }}',
                       title="<b>x</b>")
    assert rendered == "2 of &lt;b&gt;x&lt;/b&gt;"


@pytest.mark.parametrize(
    ("metres", "french", "english"),
    [
        (120, "moins de 500\u00a0m", "less than 500\u00a0m"),
        (800, "moins de 1\u00a0km", "less than 1\u00a0km"),
        (3_200, "environ 3\u00a0km", "about 3\u00a0km"),
        (36_000, "environ 40\u00a0km", "about 40\u00a0km"),
        (250_000, "plus de 100\u00a0km", "more than 100\u00a0km"),
    ],
)
def test_distance_bands_per_locale(app, metres, french, english):
    with app.test_request_context():
        with force_locale("fr"):
            assert distance_band(metres) == french
        with force_locale("en"):
            assert distance_band(metres) == english


def test_listing_labels_follow_the_readers_language(app):
    # Translated once per language and kept (onemile.i18n): every language still reads its own.
    source = "{{ kind_labels['offer'] }} · {{ offer_type_labels['lend'] }} · {{ category_labels['repairs'] }}"
    for _round in range(2):
        assert _render(app, "fr", source) == "Offre · À prêter · Dépannage et coups de main"
        assert _render(app, "en", source) == "Offer · To lend · Repairs and help"


def test_listing_dates_follow_the_readers_language(app, client, auth, factory):
    # The same listing read by a French and an English member: dates in each one's format.
    author = factory.member(language="fr", first_name="Léa")
    listing_id = factory.listing(author, title="Prête une perceuse")
    with app.app_context():
        created = db.session.get(Listing, listing_id).created_at
    readers = {"fr": factory.member(language="fr"), "en": factory.member(language="en")}
    zones = {"fr": "Europe/Paris", "en": "America/New_York"}
    with app.app_context():
        for locale, reader in readers.items():
            db.session.get(Member, reader.id).timezone = zones[locale]
        db.session.commit()
    for locale, reader in readers.items():
        auth.login(reader)
        page = client.get(f"/listings/{listing_id}").get_data(as_text=True)
        # Stored times are naive UTC; each reader sees the day it is in their own zone (after
        # 23:00 UTC it is already tomorrow in Paris, and still today in New York).
        local = created.replace(tzinfo=UTC).astimezone(ZoneInfo(zones[locale]))
        assert babel_format_date(local, locale=locale) in page, locale
        auth.logout()
    # Sanity: the two formats really differ ("25 nov. 2026" / "Nov 25, 2026").
    assert babel_format_date(created, locale="fr") != babel_format_date(created, locale="en")


def test_password_reset_mail_is_in_the_members_language(client, factory, outbox):
    # Asked from an English browser, for a member who reads 1Mile in French.
    francoise = factory.member(language="fr", first_name="Françoise", email="francoise@example.org")
    english_member = factory.member(language="en", first_name="John", email="john@example.org")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert client.post("/auth/reset", data={"email": francoise.email}).status_code == 303
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert client.post("/auth/reset", data={"email": english_member.email}).status_code == 303

    french_mail, english_mail = _mails(outbox)
    assert french_mail["To"] == francoise.email
    assert french_mail["Subject"] == "Réinitialisation de votre mot de passe 1Mile"
    assert french_mail["Content-Language"] == "fr"
    assert "Bonjour Françoise" in french_mail.get_content()
    assert english_mail["Subject"] == "Reset your 1Mile password"
    assert english_mail["Content-Language"] == "en"
    assert "Hello John" in english_mail.get_content()


def test_notification_mails_say_their_language(app, client, auth, factory, outbox):
    # Notification e-mails were already written in the recipient's language
    # (tests/test_notifications.py); they now also say so to the mail client.
    author = factory.member(language="fr", first_name="Françoise")
    listing_id = factory.listing(author, kind="request", category="diy", title="Une échelle")
    answerer = factory.member(language="en", first_name="Bruno")
    auth.login(answerer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(f"/conversations/answer/{listing_id}", data={"body": "I have one."})
    assert response.status_code in (303, 303), response.get_data(as_text=True)[:500]
    (sent,) = _mails(outbox)
    assert sent["To"] == author.email
    assert sent["Content-Language"] == "fr"
    assert sent["Subject"] == "Bruno D. a répondu à votre annonce"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", f"Écrivez un commentaire de 1 à 2{NNBSP}000 caractères."),
     ("en", "Write a comment of 1 to 2,000 characters.")],
)
def test_validation_messages_write_their_limits_per_locale(client, auth, factory, language, expected):
    from test_mags import create_article, create_mag, send

    owner = factory.member(language="en", kind="business", organisation_name="Boulangerie")
    auth.login(owner)
    mag_id = create_mag(client)
    article_id = create_article(client, mag_id)
    auth.logout()
    reader = factory.member(language=language)
    auth.login(reader)
    response = send(client, f"/mags/{mag_id}/articles/{article_id}/comments", {"body": "x" * 2001})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert expected in page, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', page)

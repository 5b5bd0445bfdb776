"""The digest e-mail: what it holds, in whose language, its one-click unsubscribe, and
`flask digest send` sending each digest once, even killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import psycopg
import pytest
from conftest import Factory
from helpers import count, html
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from onemile.extensions import db
from onemile.mail.delivery import wait_until_delivered
from onemile.models import AdAlert, Digest, Member, OutgoingMail

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def digest_app(make_app):
    """Digests due at any hour of the day."""
    return make_app(DIGEST_HOUR=0)


def _send(app) -> str:
    result = app.test_cli_runner().invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _digests(app, outbox: Path, to: str) -> list:
    wait_until_delivered()
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == to and message["List-Unsubscribe"]:
            found.append(message)
    return found


def _offer_near(factory, anne, bruno, title="Donne un vélo"):
    """Anne posts an offer: Bruno, in the same mile, hears of it in his digest (the default)."""
    return factory.listing(anne, kind="offer", title=title)


def test_the_digest_lists_new_ads_with_bands_and_unsubscribes_in_one_click(digest_app):
    app, factory = digest_app, Factory(digest_app)
    anne, bruno = factory.member(language="en"), factory.member(language="en", first_name="Bruno")
    listing_id = _offer_near(factory, anne, bruno)
    assert "1 digest(s) written" in _send(app)
    outbox = Path(app.config["MAIL_OUTBOX"])
    (message,) = _digests(app, outbox, bruno.email)
    body = message.get_content()
    assert message["Subject"] == "1 new ad near you"
    assert "Hello Bruno," in body and "Offer: “Donne un vélo”" in body
    assert any(band in body for band in ("(less than 500\u00a0m)", "(less than 1\u00a0km)", "(about 2\u00a0km)"))
    assert f"/listings/{listing_id}" in body and "/alerts/settings" in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe in body
    # Anne, the author, gets no digest about her own ad (nor anything else to say).
    assert _digests(app, outbox, anne.email) == []
    with app.app_context():
        assert db.session.scalar(select(AdAlert.digest_id)) is not None

    # RFC 8058: the mail client POSTs, without a session nor a CSRF token.
    path = unsubscribe.split("://", 1)[1].split("/", 1)[1]
    strict = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True
    assert strict.get("/" + path).status_code == 200  # the page the link opens
    with app.app_context():
        assert db.session.get(Member, bruno.id).digest_frequency == "daily"
    assert strict.post("/" + path).status_code == 200
    with app.app_context():
        assert db.session.get(Member, bruno.id).digest_frequency == "never"
    assert strict.post("/" + path[:-3] + "abc").status_code == 404  # a forged token


def test_run_twice_sends_each_digest_once_and_an_empty_one_never(digest_app):
    app, factory = digest_app, Factory(digest_app)
    anne, bruno = factory.member(), factory.member()
    _offer_near(factory, anne, bruno)
    _send(app)
    assert "0 digest(s) written" in _send(app)
    assert count(app, Digest) == 1 and count(app, OutgoingMail, OutgoingMail.headers.is_not(None)) == 1
    # A new ad the same day waits for tomorrow's digest.
    _offer_near(factory, anne, bruno, "Donne une chaise")
    _send(app)
    assert count(app, Digest) == 1
    with app.app_context():
        waiting = db.session.scalars(select(AdAlert).where(AdAlert.digest_id.is_(None))).all()
        assert len(waiting) == 1


def test_the_digest_holds_project_news_articles_of_followed_mags_and_unread_messages_in_french(digest_app):
    from onemile.mags import services as mags
    from onemile.projects import services as projects

    app, factory = digest_app, Factory(digest_app)
    owner = factory.member(postal_code="75001")  # far away: no ad alerts for Bruno
    bruno = factory.member(language="fr", first_name="Bruno")
    moderator = factory.moderator()
    project_id = factory.project(owner, title="Jardin partagé", approved_by=moderator)
    factory.pledge(bruno, project_id)
    factory.act(lambda m: projects.post_update(m, project_id, "Les bacs sont montés."), owner)
    mag_id = factory.mag(owner, title="Le mag du marché")
    factory.act(lambda m: mags.follow(m, mag_id), bruno)
    factory.article(owner, mag_id, title="Les cerises sont là")
    listing_id = factory.listing(bruno, kind="request", offer_type=None, title="Besoin d'aide")
    factory.conversation(owner, listing_id, "Je peux aider")
    with app.app_context():  # nothing from alerts: what is tested is the rest
        db.session.execute(update(AdAlert).values(delivery="held"))
        # Bruno turned notification e-mails off: the digest is where he reads the news.
        db.session.execute(update(Member).where(Member.id == bruno.id).values(email_notifications=False))
        db.session.commit()
    _send(app)
    (message,) = _digests(app, Path(app.config["MAIL_OUTBOX"]), bruno.email)
    body = message.get_content()
    assert message["Subject"] == "Vos nouvelles de 1Mile"
    assert "Nouvelles des projets que vous soutenez :" in body and "“Jardin partagé”" in body
    assert "Nouveau dans les mags que vous suivez :" in body and "Le mag du marché: “Les cerises sont là”" in body
    assert "Vous avez 1 message non lu :" in body
    assert message["Content-Language"] == "fr"


def test_news_e_mailed_as_it_happened_is_not_told_again_in_the_digest(digest_app):
    from onemile.mags import services as mags
    from onemile.projects import services as projects

    app, factory = digest_app, Factory(digest_app)
    owner = factory.member()
    bruno = factory.member(language="en", first_name="Bruno")  # notification e-mails on, the default
    project_id = factory.project(owner, title="Shared garden", approved_by=factory.moderator())
    factory.pledge(bruno, project_id)
    factory.act(lambda m: projects.post_update(m, project_id, "The beds are up."), owner)
    mag_id = factory.mag(owner, title="Market mag")
    factory.act(lambda m: mags.follow(m, mag_id), bruno)
    factory.article(owner, mag_id, title="Cherries are in")
    outbox = Path(app.config["MAIL_OUTBOX"])
    wait_until_delivered()
    told = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.glob("*.eml"))]
    subjects = sorted(str(m["Subject"]) for m in told if m["To"] == bruno.email)
    assert len(subjects) == 2 and "News from “Shared garden”" in subjects, subjects
    # Both were e-mailed as they happened: the digest has nothing new to tell Bruno.
    with app.app_context():  # the new project and mag as ad alerts are not what is tested
        db.session.execute(update(AdAlert).values(delivery="held"))
        db.session.commit()
    _send(app)
    assert _digests(app, outbox, bruno.email) == []


def test_weekly_digests_are_one_a_week_and_never_means_never(digest_app):
    app, factory = digest_app, Factory(digest_app)
    anne, weekly, never = factory.member(), factory.member(), factory.member()
    with app.app_context():
        db.session.execute(update(Member).where(Member.id == weekly.id).values(digest_frequency="weekly"))
        db.session.execute(update(Member).where(Member.id == never.id).values(digest_frequency="never"))
        db.session.commit()
    _offer_near(factory, anne, weekly)
    _send(app)
    with app.app_context():
        periods = {member_id: period for member_id, period in db.session.execute(
            select(Digest.member_id, Digest.period))}
    assert list(periods) == [weekly.id] and "-W" in periods[weekly.id]


# --- Killed half-way ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgis"])
def test_a_digest_run_killed_half_way_then_run_again_sends_every_digest_once(make_app, tmp_path):
    app = make_app(DIGEST_HOUR=0)
    factory = Factory(app)
    anne = factory.member()
    readers = [factory.member() for _ in range(4)]
    _offer_near(factory, anne, readers[0])
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    database = make_url(uri).database
    with app.app_context():
        period = db.session.scalar(select(Member.timezone).where(Member.id == readers[2].id))
        from onemile.alerts import timing
        from onemile.models import utcnow

        period = timing.digest_period(utcnow(), period, "daily")
    env = dict(os.environ, DATABASE_URL=uri, SECRET_KEY="digest-test-secret", PUBLIC_URL="http://127.0.0.1",
               MAIL_DELIVERY="worker", DIGEST_HOUR="0", MAIL_OUTBOX=str(tmp_path / "outbox"),
               FLASK_APP="app")
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "flask", "digest", "send", "--batch", "1"]

    # Another transaction holds the third reader's digest key: the run commits the first two
    # readers' digests (one batch each), then waits on that key, and is killed there.
    with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database, connect_timeout=5) as holder:
        holder.execute("INSERT INTO digest (member_id, period, created_at, last_notification_id) "
                       "VALUES (%s, %s, now(), 0)", (readers[2].id, period))
        log = tmp_path / "killed-run.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database,
                                 autocommit=True, connect_timeout=5) as watcher:
                deadline = time.monotonic() + 60
                while not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (database,)
                ).fetchone():
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the run never reached the third reader"
                    time.sleep(0.1)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        holder.rollback()
    with app.app_context():
        sent = set(db.session.scalars(select(Digest.member_id)))
        assert sent == {readers[0].id, readers[1].id}  # committed before the kill, nothing half-written
        assert db.session.scalar(select(OutgoingMail.id).where(OutgoingMail.to_address == readers[2].email)) is None
    result = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, timeout=120, text=True)
    assert result.returncode == 0, result.stderr
    assert "2 digest(s) written" in result.stdout
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120, check=True)  # and again
    with app.app_context():
        to = list(db.session.scalars(select(OutgoingMail.to_address).where(OutgoingMail.headers.is_not(None))))
    assert sorted(to) == sorted(r.email for r in readers)


def test_the_unsubscribe_page_speaks_both_languages(digest_app):
    from onemile.alerts.digest import unsubscribe_token

    app = digest_app
    bruno = Factory(app).member()
    with app.test_request_context():
        token = unsubscribe_token(bruno.id)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert "Arrêter le résumé" in html(client.get(f"/alerts/unsubscribe/{token}"))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "Stop the digest" in html(client.get(f"/alerts/unsubscribe/{token}"))


def test_an_ad_hidden_or_of_a_blocked_author_before_the_digest_is_left_out(digest_app):
    from onemile.models import Listing, utcnow

    app, factory = digest_app, Factory(digest_app)
    anne, bruno, camille = factory.member(), factory.member(), factory.member()
    hidden = _offer_near(factory, anne, bruno, "Cachée")
    _offer_near(factory, camille, bruno, "De Camille")
    with app.app_context():
        db.session.get(Listing, hidden).hidden_at = utcnow()
        db.session.commit()
    factory.block(bruno, camille)  # after the alert was written
    _send(app)
    assert _digests(app, Path(app.config["MAIL_OUTBOX"]), bruno.email) == []
    # Anne still hears of Camille's offer: only Bruno is kept apart from Camille.
    (to_anne,) = _digests(app, Path(app.config["MAIL_OUTBOX"]), anne.email)
    assert "De Camille" in to_anne.get_content()

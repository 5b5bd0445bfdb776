"""`flask mail …`: see the outbox, send failed e-mails again, prune, run the worker."""

from __future__ import annotations

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import OUTGOING_MAIL_STATUSES, OutgoingMail, OutgoingMailStatus, utcnow
from . import MAIL_ADDED, delivery

mail_group = AppGroup("mail", help="The e-mail outbox.")


@mail_group.command("status")
@click.option("--limit", default=20, show_default=True, help="How many failed or stuck e-mails to list.")
def status(limit: int) -> None:
    """Count e-mails by status and list the failed and stuck ones with their last error."""
    counts = dict(db.session.execute(select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all())
    click.echo("  ".join(f"{name}: {counts.get(name, 0)}" for name in OUTGOING_MAIL_STATUSES))
    troubled = db.session.scalars(
        select(OutgoingMail)
        .where((OutgoingMail.status.in_((OutgoingMailStatus.FAILED, OutgoingMailStatus.SENDING))) | (OutgoingMail.last_error.is_not(None)
                                                                    & (OutgoingMail.status == OutgoingMailStatus.PENDING)))
        .order_by(OutgoingMail.id)
        .limit(limit)
    ).all()
    for row in troubled:
        click.echo(
            f"#{row.id} {row.status} to {row.to_address} after {row.attempts} attempt(s)"
            f" [{row.message_id}] {row.subject!r}: {row.last_error or 'claimed ' + str(row.claimed_at)}"
        )


@mail_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed e-mail.")
def retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Send failed e-mails (or those stuck in `sending`, named by id) again, now.

    A row stuck in `sending` belonged to a worker that stopped mid-send: check the mail
    server's log for its Message-ID before sending it again."""
    if not ids and not all_failed:
        raise click.UsageError("Name the e-mails (ids from `flask mail status`) or pass --failed.")
    chosen = OutgoingMail.status == OutgoingMailStatus.FAILED if all_failed else OutgoingMail.id.in_(ids)
    count = db.session.execute(
        update(OutgoingMail)
        .where(chosen, OutgoingMail.status.in_((OutgoingMailStatus.FAILED, OutgoingMailStatus.SENDING, OutgoingMailStatus.PENDING)))
        .values(status=OutgoingMailStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    ).rowcount
    db.session.info[MAIL_ADDED] = True  # wake this process's delivery thread, if any (the command's end commits)
    click.echo(f"{count} e-mail(s) queued again.")


@mail_group.command("prune")
@click.option("--days", type=int, default=None, help="Keep this many days (default MAIL_KEEP_DAYS).")
def prune(days: int | None) -> None:
    """Delete sent (and dropped) e-mails older than the retention."""
    count = delivery.prune(current_app.config["MAIL_KEEP_DAYS"] if days is None else days)
    click.echo(f"{count} old e-mail(s) deleted.")


@mail_group.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
def worker(once: bool) -> None:
    """Deliver the outbox until stopped (SIGTERM or Ctrl-C end it between two e-mails)."""
    stopping = []

    def stop(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = current_app._get_current_object()
    click.echo("Delivering e-mail" + (" (woken through Redis)" if app.config.get("REDIS_URL") else ""))
    delivery.run_worker(app, once=once, should_stop=lambda: bool(stopping))


def register(app: Flask) -> None:
    """Add `flask mail` to the app's commands."""
    app.cli.add_command(mail_group)

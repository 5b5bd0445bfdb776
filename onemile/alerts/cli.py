"""`flask alerts tick` and `flask digest send`, for cron or systemd timers (docs/deploy.md)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ..unit_of_work import job_step
from . import digest, reminders

alerts_group = AppGroup("alerts", help="Alerts for new ads and reminders.")
digest_group = AppGroup("digest", help="The digest e-mails.")


@alerts_group.command("tick")
def tick() -> None:
    """Remind authors of ads expiring soon and send the alerts held through quiet hours
    (idempotent: run it every few minutes)."""
    done = reminders.tick()
    click.echo(f"{done['reminders']} expiry reminder(s), {done['released']} held alert(s) sent.")


@digest_group.command("send")
@click.option("--batch", type=int, default=None, help="Members per transaction (default DIGEST_BATCH).")
def send(batch: int | None) -> None:
    """Write the digests that are due into the outbox (idempotent: run it every hour).

    Each batch of members is one transaction (unit_of_work.job_step): killed half-way, what was committed stands and the next run does the rest."""
    size = batch or current_app.config["DIGEST_BATCH"]
    last_id, seen, written = 0, 0, 0
    while True:
        with job_step():  # one batch, one unit of work
            last_id, looked, sent = digest.send_batch(last_id, size)
        if not looked:
            break
        seen, written = seen + looked, written + sent
    click.echo(f"{written} digest(s) written for {seen} member(s) looked at.")


def register(app: Flask) -> None:
    """Add `flask alerts` and `flask digest` to the app's commands."""
    app.cli.add_command(alerts_group)
    app.cli.add_command(digest_group)

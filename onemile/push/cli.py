"""`flask push …`: see the queue, run the worker."""

from __future__ import annotations

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from ..mail.delivery import run_worker
from ..models import PUSH_DELIVERY_STATUSES, PushDelivery, PushSubscription
from . import delivery

push_group = AppGroup("push", help="Web Push to members' devices.")


@push_group.command("status")
def status() -> None:
    """Count subscribed devices and queued pushes by status."""
    counts = dict(db.session.execute(select(PushDelivery.status, func.count()).group_by(PushDelivery.status)).all())
    devices = db.session.scalar(select(func.count()).select_from(PushSubscription))
    click.echo(f"devices: {devices}  " + "  ".join(f"{name}: {counts.get(name, 0)}" for name in PUSH_DELIVERY_STATUSES))


@push_group.command("worker")
@click.option("--once", is_flag=True, help="Push what is due, then exit.")
def worker(once: bool) -> None:
    """Push the queue until stopped (SIGTERM or Ctrl-C end it between two pushes)."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    app = current_app._get_current_object()
    click.echo("Pushing notifications" + (" (woken through Redis)" if app.config.get("REDIS_URL") else ""))
    run_worker(app, once=once, should_stop=lambda: bool(stopping), drain_pass=delivery.drain,
               wake_key=app.config["PUSH_WAKE_KEY"])


def register(app: Flask) -> None:
    """Add `flask push` to the app's commands."""
    app.cli.add_command(push_group)

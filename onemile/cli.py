"""Command-line tasks: `flask setup` (migrate, then demo data on an empty database) and
`flask demo load`."""

import click
from flask import Flask
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, select

from .auth.services import find_member_by_email
from .demo import load_demo
from .extensions import db
from .models import Member
from .smiles.services import verify


def _load_demo() -> None:
    try:
        counts = load_demo()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Demo data loaded: {counts}")


def register(app: Flask) -> None:
    """Attach the project's commands to the `flask` CLI."""

    @app.cli.command("setup")
    @click.option("--demo/--no-demo", default=True, help="Load demo data into an empty database.")
    def setup(demo: bool) -> None:
        """Create or migrate the database, then load demo data the first time."""
        upgrade()
        if demo and db.session.scalar(select(func.count()).select_from(Member)) == 0:
            _load_demo()
        else:
            click.echo("Database is up to date.")

    demo_group = AppGroup("demo", help="Demo data.")

    @demo_group.command("load")
    def demo_load() -> None:
        """Load the demo neighbourhood around Mulhouse (into an empty database)."""
        _load_demo()

    app.cli.add_command(demo_group)

    smiles_group = AppGroup("smiles", help="The smiles ledger.")

    @smiles_group.command("verify")
    def smiles_verify() -> None:
        """Recompute every balance from the ledger entries; exit 1 on any mismatch."""
        problems = verify()
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            raise SystemExit(1)
        click.echo("The ledger holds: every balance matches its entries.")

    app.cli.add_command(smiles_group)

    moderators_group = AppGroup("moderators", help="Who may moderate projects and reports.")

    def _set_moderator(email: str, value: bool) -> None:
        member = find_member_by_email(email)
        if member is None:
            raise click.ClickException(f"No member with the e-mail {email}.")
        member.is_moderator = value
        click.echo(f"{member.email} {'is now' if value else 'is no longer'} a moderator.")

    @moderators_group.command("grant")
    @click.argument("email")
    def moderators_grant(email: str) -> None:
        """Make the member with this e-mail a moderator."""
        _set_moderator(email, True)

    @moderators_group.command("revoke")
    @click.argument("email")
    def moderators_revoke(email: str) -> None:
        """Take moderation rights away from the member with this e-mail."""
        _set_moderator(email, False)

    app.cli.add_command(moderators_group)

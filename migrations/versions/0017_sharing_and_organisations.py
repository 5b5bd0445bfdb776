"""Shareable ads (an unguessable share token per listing); organisations: their SIRET or
RNA number and its verification, managers, invitations, and who acted on their behalf.

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


_ACTED_ON = ("listing", "mag", "article", "project", "project_update", "message")


def upgrade():
    op.add_column("listing", sa.Column("share_token", sa.String(32), nullable=True))
    op.create_index("ux_listing_share_token", "listing", ["share_token"], unique=True)
    op.add_column("member", sa.Column("registration_number", sa.String(14), nullable=True))
    op.add_column("member", sa.Column("registration_verified_at", sa.DateTime(), nullable=True))
    op.create_table(
        "organisation_manager",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("manager_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("organisation_id", "manager_id"),
    )
    op.create_index("ix_organisation_manager_organisation_id", "organisation_manager", ["organisation_id"])
    op.create_index("ix_organisation_manager_manager_id", "organisation_manager", ["manager_id"])
    op.create_table(
        "organisation_invitation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_organisation_invitation_organisation_id", "organisation_invitation", ["organisation_id"])
    for table in _ACTED_ON:
        if op.get_bind().dialect.name == "sqlite":
            # SQLite accepts a REFERENCES clause in ADD COLUMN; Alembic's helper does not.
            op.execute(f"ALTER TABLE {table} ADD COLUMN acted_by_id INTEGER REFERENCES member (id) ON DELETE SET NULL")
        else:
            op.add_column(table, sa.Column("acted_by_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL")))


def downgrade():
    for table in _ACTED_ON:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("acted_by_id")
    op.drop_table("organisation_invitation")
    op.drop_table("organisation_manager")
    op.drop_column("member", "registration_verified_at")
    op.drop_column("member", "registration_number")
    op.drop_index("ux_listing_share_token", table_name="listing")
    op.drop_column("listing", "share_token")

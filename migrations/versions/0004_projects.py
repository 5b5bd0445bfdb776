"""Projects of general interest: projects, tasks, pledges, volunteers, updates; the project
link of ledger accounts and of notifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _add_project_link(table: str, ondelete: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Plain ADD COLUMN with its REFERENCES clause (see 0002): no batch rebuild of tables
        # that others reference.
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN project_id INTEGER REFERENCES project (id) ON DELETE {ondelete}"
        )
    else:
        op.add_column(
            table, sa.Column("project_id", sa.Integer(), sa.ForeignKey("project.id", ondelete=ondelete))
        )


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("point", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.Column("money_target", sa.Integer(), nullable=True),
        sa.Column("photo", sa.String(80), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("charter_accepted_at", sa.DateTime(), nullable=False),
        sa.Column("moderated_by_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("moderated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_project_owner_id", "project", ["owner_id"])
    op.create_index("ix_project_status", "project", ["status"])
    if postgres:
        # The mile list measures metres on geography: index that exact expression (see 0001).
        op.execute("CREATE INDEX ix_project_point_geog ON project USING gist ((CAST(point AS geography)))")
    op.create_table(
        "project_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("skill", sa.String(80), nullable=False),
    )
    op.create_index("ix_project_task_project_id", "project_task", ["project_id"])
    op.create_table(
        "pledge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("submission_key", sa.String(80), nullable=True, unique=True),
        sa.CheckConstraint("amount_cents > 0", name="ck_pledge_positive"),
    )
    op.create_index("ix_pledge_project_id", "pledge", ["project_id"])
    op.create_index("ix_pledge_member_id", "pledge", ["member_id"])
    op.create_table(
        "volunteer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("project_task.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("task_id", "member_id"),
    )
    op.create_index("ix_volunteer_task_id", "volunteer", ["task_id"])
    op.create_index("ix_volunteer_member_id", "volunteer", ["member_id"])
    op.create_table(
        "project_update",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_project_update_project_id", "project_update", ["project_id"])
    _add_project_link("account", "SET NULL")
    op.create_index("ux_account_project_id", "account", ["project_id"], unique=True)
    _add_project_link("notification", "CASCADE")


def downgrade():
    op.drop_index("ux_account_project_id", table_name="account")
    for table in ("notification", "account"):
        # Plain DROP COLUMN (SQLite 3.35+): no rebuild of tables others reference.
        op.execute(f"ALTER TABLE {table} DROP COLUMN project_id")
    if op.get_bind().dialect.name == "sqlite":
        # SpatiaLite keeps the R*Tree and the geometry registration apart from the table.
        op.execute("SELECT DisableSpatialIndex('project', 'point')")
        op.execute("DROP TABLE IF EXISTS idx_project_point")
        op.execute("SELECT DiscardGeometryColumn('project', 'point')")
    for table in ("project_update", "volunteer", "pledge", "project_task", "project"):
        op.drop_table(table)

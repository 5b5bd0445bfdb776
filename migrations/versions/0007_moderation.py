"""Reports and moderation: report, moderation_action, suspended members, hidden listings
and messages, the text of a warning notification.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = "status = 'open'"


def upgrade():
    # Plain ADD COLUMN everywhere (see 0002): SQLite adds them in place, never a rebuild.
    op.add_column("member", sa.Column("suspended_at", sa.DateTime(), nullable=True))
    op.add_column("listing", sa.Column("hidden_at", sa.DateTime(), nullable=True))
    op.add_column("listing", sa.Column("hidden_reason", sa.String(12), nullable=True))
    op.add_column("message", sa.Column("hidden_at", sa.DateTime(), nullable=True))
    op.add_column("notification", sa.Column("detail", sa.Text(), nullable=True))

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reporter_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_type", sa.String(20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(12), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_report_reporter_id", "report", ["reporter_id"])
    op.create_index("ix_report_status_target", "report", ["status", "target_type", "target_id"])
    op.create_index(
        "ux_report_open_per_reporter",
        "report",
        ["reporter_id", "target_type", "target_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )

    op.create_table(
        "moderation_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("moderator_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("target_type", sa.String(20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_moderation_action_moderator_id", "moderation_action", ["moderator_id"])
    op.create_index("ix_moderation_action_created_at", "moderation_action", ["created_at"])


def downgrade():
    op.drop_table("moderation_action")
    op.drop_table("report")
    # SQLite 3.35+ drops a column in place.
    op.drop_column("notification", "detail")
    op.drop_column("message", "hidden_at")
    op.drop_column("listing", "hidden_reason")
    op.drop_column("listing", "hidden_at")
    op.drop_column("member", "suspended_at")

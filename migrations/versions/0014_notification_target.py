"""Notifications point at their object generically: target_type + target_id.

The kinds and their target types are registered by the features (onemile.notifications.kinds).
The rows written before get their pointer from the old per-feature columns, which stay in the
table, unused, for one release: dropping them on SQLite means a table rebuild.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Every notification that named a listing also named its conversation.
_POINTERS = (
    ("conversation", "conversation_id"),
    ("article", "article_id"),
    ("project", "project_id"),
)


def upgrade():
    op.add_column("notification", sa.Column("target_type", sa.String(24), nullable=True))
    op.add_column("notification", sa.Column("target_id", sa.Integer(), nullable=True))
    for target_type, column in _POINTERS:
        op.execute(
            sa.text(
                f"UPDATE notification SET target_type = :target_type, target_id = {column} "
                f"WHERE target_type IS NULL AND {column} IS NOT NULL"
            ).bindparams(target_type=target_type)
        )
    op.create_index("ix_notification_target", "notification", ["target_type", "target_id"])


def downgrade():
    op.drop_index("ix_notification_target", table_name="notification")
    op.drop_column("notification", "target_id")
    op.drop_column("notification", "target_type")

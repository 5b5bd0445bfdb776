"""Moderators: members who approve projects and handle reports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0002): SQLite adds it in place.
    op.add_column("member", sa.Column("is_moderator", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    # SQLite 3.35+ drops a column in place.
    op.drop_column("member", "is_moderator")

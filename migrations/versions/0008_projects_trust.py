"""Projects under the trust rules: a moderator can hide a project or one of its updates.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0002): SQLite adds them in place, never a rebuild.
    op.add_column("project", sa.Column("hidden_at", sa.DateTime(), nullable=True))
    op.add_column("project_update", sa.Column("hidden_at", sa.DateTime(), nullable=True))


def downgrade():
    # SQLite 3.35+ drops a column in place.
    op.drop_column("project_update", "hidden_at")
    op.drop_column("project", "hidden_at")

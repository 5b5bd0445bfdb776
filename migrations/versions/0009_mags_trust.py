"""Trust and safety for mags: moderators can hide a mag, an article or a comment.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("mag", "article", "comment")


def upgrade():
    # Plain ADD COLUMN (see 0002): SQLite adds them in place, never a table rebuild.
    for table in TABLES:
        op.add_column(table, sa.Column("hidden_at", sa.DateTime(), nullable=True))


def downgrade():
    # SQLite 3.35+ drops a column in place.
    for table in reversed(TABLES):
        op.drop_column(table, "hidden_at")

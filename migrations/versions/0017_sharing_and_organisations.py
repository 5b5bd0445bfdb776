"""Shareable ads (an unguessable share token per listing).

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("listing", sa.Column("share_token", sa.String(32), nullable=True))
    op.create_index("ux_listing_share_token", "listing", ["share_token"], unique=True)


def downgrade():
    op.drop_index("ux_listing_share_token", table_name="listing")
    op.drop_column("listing", "share_token")

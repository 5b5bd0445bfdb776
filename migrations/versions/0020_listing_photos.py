"""Photos on ads: up to four stored pictures per listing, the first is the cover.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "listing_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False),
        sa.Column("image", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_listing_photo_listing_id", "listing_photo", ["listing_id"])
    op.create_index("ux_listing_photo_image", "listing_photo", ["image"], unique=True)


def downgrade():
    op.drop_table("listing_photo")

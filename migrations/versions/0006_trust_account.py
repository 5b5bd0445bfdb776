"""Trust and account: e-mail verification, deleted-account tombstones, blocks, and how
precisely each listing is shown on the map.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0002): SQLite adds them in place, never a batch rebuild of member.
    op.add_column("member", sa.Column("email_verified_at", sa.DateTime(), nullable=True))
    op.add_column("member", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    # Members who joined before verification existed keep every right they had: their
    # address counts as verified since they joined.
    op.execute("UPDATE member SET email_verified_at = created_at")
    op.add_column(
        "listing",
        sa.Column("location_mode", sa.String(16), nullable=False, server_default="approximate"),
    )
    op.create_table(
        "block",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("blocker_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("blocked_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("blocker_id", "blocked_id"),
    )
    op.create_index("ix_block_blocked_id", "block", ["blocked_id"])


def downgrade():
    op.drop_index("ix_block_blocked_id", table_name="block")
    op.drop_table("block")
    # SQLite 3.35+ drops a column in place.
    op.drop_column("listing", "location_mode")
    op.drop_column("member", "deleted_at")
    op.drop_column("member", "email_verified_at")

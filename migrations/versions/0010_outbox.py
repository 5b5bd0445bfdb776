"""Offline outbox: a one-time key on messages and listings, so a reply or an ad sent again
after a lost connection is posted once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0002): SQLite adds it in place, never a table rebuild. NULL for
    # every message sent without a key (both databases let NULLs repeat in a unique index).
    op.add_column("message", sa.Column("client_key", sa.String(36), nullable=True))
    op.create_index(
        "ux_message_sender_client_key", "message", ["conversation_id", "sender_id", "client_key"], unique=True
    )
    op.add_column("listing", sa.Column("client_key", sa.String(36), nullable=True))
    op.create_index("ux_listing_author_client_key", "listing", ["author_id", "client_key"], unique=True)


def downgrade():
    op.drop_index("ux_listing_author_client_key", table_name="listing")
    op.drop_column("listing", "client_key")
    op.drop_index("ux_message_sender_client_key", table_name="message")
    op.drop_column("message", "client_key")

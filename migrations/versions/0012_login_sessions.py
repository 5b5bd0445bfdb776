"""Login sessions kept on the server, so that logging out ends them; single-use sign-in
links by e-mail.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("credential_fingerprint", sa.String(20), nullable=False),
        sa.Column("device", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_session_member_id", "login_session", ["member_id"])
    # Plain ADD COLUMN (see 0002): SQLite adds it in place, never a batch rebuild of member.
    op.add_column(
        "member", sa.Column("sign_in_link_serial", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade():
    op.drop_column("member", "sign_in_link_serial")
    op.drop_index("ix_login_session_member_id", table_name="login_session")
    op.drop_table("login_session")

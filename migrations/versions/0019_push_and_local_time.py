"""Web Push subscriptions and their delivery queue (the member's time zone came with 0018).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_push_subscription_member_id", "push_subscription", ["member_id"])
    op.create_table(
        "push_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notification_id", sa.Integer(), sa.ForeignKey("notification.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("push_subscription.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("notification_id", "subscription_id", name="uq_push_delivery_once"),
    )
    op.create_index("ix_push_delivery_status_due", "push_delivery", ["status", "next_attempt_at"])
    op.create_index("ix_push_delivery_subscription_id", "push_delivery", ["subscription_id"])


def downgrade():
    op.drop_index("ix_push_delivery_subscription_id", table_name="push_delivery")
    op.drop_index("ix_push_delivery_status_due", table_name="push_delivery")
    op.drop_table("push_delivery")
    op.drop_index("ix_push_subscription_member_id", table_name="push_subscription")
    op.drop_table("push_subscription")

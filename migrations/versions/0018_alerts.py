"""Alerts for new ads, digests and expiry reminders; the member's time zone; extra headers
of outgoing e-mails; offers ended as given or taken.

Adds `member.timezone` (IANA name, default Europe/Paris): not on main yet when written; the
`push` branch (local times) uses the same column name.

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("member", sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Paris"))
    op.add_column("member", sa.Column("digest_frequency", sa.String(8), nullable=False, server_default="daily"))
    op.add_column("member", sa.Column("quiet_start", sa.Integer(), nullable=False, server_default="22"))
    op.add_column("member", sa.Column("quiet_end", sa.Integer(), nullable=False, server_default="8"))
    op.add_column("listing", sa.Column("ended_as", sa.String(8), nullable=True))
    op.add_column("outgoing_mail", sa.Column("headers", sa.Text(), nullable=True))
    if postgres:
        # Alerts match a new ad's public point against every mile centre within a mile, in
        # metres on geography: index that exact expression (see onemile.geo.geography).
        op.execute("CREATE INDEX ix_mile_center_geog ON mile USING gist ((CAST(center AS geography)))")
    op.create_table(
        "alert_preference",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mile_id", sa.Integer(), sa.ForeignKey("mile.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("categories", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("mile_id", "subject", name="uq_alert_preference_mile_subject"),
    )
    op.create_index("ix_alert_preference_member_id", "alert_preference", ["member_id"])
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_notification_id", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("member_id", "period", name="uq_digest_member_period"),
    )
    op.create_table(
        "ad_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_type", sa.String(24), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("delivery", sa.String(8), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("digest_id", sa.Integer(), sa.ForeignKey("digest.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("member_id", "target_type", "target_id", name="uq_ad_alert_member_target"),
    )
    op.create_index("ix_ad_alert_delivery_due", "ad_alert", ["delivery", "due_at"])
    op.create_index("ix_ad_alert_target", "ad_alert", ["target_type", "target_id"])
    op.create_table(
        "expiry_reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("listing_id", "expires_at", name="uq_expiry_reminder_listing_expiry"),
    )


def downgrade():
    op.drop_table("expiry_reminder")
    op.drop_table("ad_alert")
    op.drop_table("digest")
    op.drop_table("alert_preference")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_mile_center_geog")
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_column("headers")
    with op.batch_alter_table("listing") as batch:
        batch.drop_column("ended_as")
    with op.batch_alter_table("member") as batch:
        for column in ("quiet_end", "quiet_start", "digest_frequency", "timezone"):
            batch.drop_column(column)

"""The exchange loop: conversations, completions, the smiles ledger, notifications,
referral codes and e-mail preferences.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'confirmed')"


def upgrade():
    # Plain ADD COLUMN: SQLite can do it in place, while a batch rebuild of `member` would
    # have to drop a table that every other table references.
    op.add_column("member", sa.Column("referral_code", sa.String(16), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite accepts a REFERENCES clause in ADD COLUMN; Alembic's helper does not.
        op.execute(
            "ALTER TABLE member ADD COLUMN referred_by_id INTEGER "
            "REFERENCES member (id) ON DELETE SET NULL"
        )
    else:
        op.add_column(
            "member",
            sa.Column("referred_by_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL")),
        )
    op.add_column(
        "member", sa.Column("email_notifications", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    bind = op.get_bind()
    member = sa.table("member", sa.column("id", sa.Integer), sa.column("referral_code", sa.String))
    for member_id in bind.execute(sa.select(member.c.id)).scalars().all():
        bind.execute(
            member.update().where(member.c.id == member_id).values(referral_code=secrets.token_urlsafe(9))
        )
    op.create_index("ux_member_referral_code", "member", ["referral_code"], unique=True)

    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False),
        sa.Column("responder_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("author_read_id", sa.Integer(), nullable=False),
        sa.Column("responder_read_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("listing_id", "responder_id"),
    )
    op.create_index("ix_conversation_listing_id", "conversation", ["listing_id"])
    op.create_index("ix_conversation_responder_id", "conversation", ["responder_id"])
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sender_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_message_conversation_id_id", "message", ["conversation_id", "id"])
    op.create_table(
        "completion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False),
        sa.Column("helper_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_completion_listing_id", "completion", ["listing_id"])
    op.create_index(
        "ux_completion_active_listing", "completion", ["listing_id"], unique=True,
        sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True, unique=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind = 'issuer' OR balance >= 0", name="ck_account_not_negative"),
    )
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("from_account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("to_account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_transfer_positive"),
    )
    op.create_index("ix_transfer_from_account_id", "transfer", ["from_account_id"])
    op.create_index("ix_transfer_to_account_id", "transfer", ["to_account_id"])
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("transfer_id", sa.Integer(), sa.ForeignKey("transfer.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
    )
    op.create_index("ix_ledger_entry_transfer_id", "ledger_entry", ["transfer_id"])
    op.create_index("ix_ledger_entry_account_id", "ledger_entry", ["account_id"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_notification_member_read", "notification", ["member_id", "read_at"])
    # Every existing member gets an account; the issuer mints bonuses from now on.
    bind.execute(sa.text(
        "INSERT INTO account (kind, member_id, balance, created_at) "
        "SELECT 'member', id, 0, CURRENT_TIMESTAMP FROM member"
    ))
    bind.execute(sa.text(
        "INSERT INTO account (kind, member_id, balance, created_at) "
        "VALUES ('issuer', NULL, 0, CURRENT_TIMESTAMP)"
    ))


def downgrade():
    for table in ("notification", "ledger_entry", "transfer", "account", "completion", "message", "conversation"):
        op.drop_table(table)
    op.drop_index("ux_member_referral_code", table_name="member")
    for column in ("email_notifications", "referred_by_id", "referral_code"):
        # Plain DROP COLUMN (SQLite 3.35+), for the same reason as in upgrade().
        op.execute(f"ALTER TABLE member DROP COLUMN {column}")

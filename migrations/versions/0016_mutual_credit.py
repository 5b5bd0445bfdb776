"""Mutual credit: member accounts may go down to a credit limit, a solidarity pot pays the
helper of a member at the limit, gifts carry a note, a completion says who paid. Profiles:
bio, skills, languages, photo, and the thank-you notes written when confirming a service.

Existing member accounts get the default limit (5). The CHECK on the balance is replaced,
which SQLite does with a table copy (batch mode).

Revision ID: 0016
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0018"
branch_labels = None
depends_on = None

DEFAULT_CREDIT_LIMIT = 5


def upgrade():
    with op.batch_alter_table("account", recreate="auto") as batch:
        batch.add_column(sa.Column("credit_limit", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("ck_account_not_negative", type_="check")
        batch.create_check_constraint("ck_account_within_limit", "kind = 'issuer' OR balance >= -credit_limit")
        batch.create_check_constraint("ck_account_limit_positive", "credit_limit >= 0")
    op.execute(sa.text(f"UPDATE account SET credit_limit = {DEFAULT_CREDIT_LIMIT} WHERE kind = 'member'"))
    op.create_index(
        "ux_account_pot", "account", ["kind"], unique=True,
        sqlite_where=sa.text("kind = 'pot'"), postgresql_where=sa.text("kind = 'pot'"),
    )
    op.add_column("transfer", sa.Column("note", sa.Text(), nullable=True))
    op.add_column("completion", sa.Column("paid_by", sa.String(12), nullable=True))
    op.execute(sa.text("UPDATE completion SET paid_by = 'beneficiary' WHERE status = 'confirmed'"))
    op.create_table(
        "profile",
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("skills", sa.String(300), nullable=True),
        sa.Column("languages", sa.String(200), nullable=True),
        sa.Column("photo", sa.String(80), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "thanks_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("completion_id", sa.Integer(), sa.ForeignKey("completion.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("helper_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_thanks_note_author_id", "thanks_note", ["author_id"])
    op.create_index("ix_thanks_note_helper_id", "thanks_note", ["helper_id"])


def downgrade():
    op.drop_table("thanks_note")
    op.drop_table("profile")
    op.drop_column("completion", "paid_by")
    op.drop_column("transfer", "note")
    op.drop_index("ux_account_pot", table_name="account")
    with op.batch_alter_table("account", recreate="auto") as batch:
        batch.drop_constraint("ck_account_limit_positive", type_="check")
        batch.drop_constraint("ck_account_within_limit", type_="check")
        batch.create_check_constraint("ck_account_not_negative", "kind = 'issuer' OR balance >= 0")
        batch.drop_column("credit_limit")

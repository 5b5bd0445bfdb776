"""Mutual credit: member accounts may go down to a credit limit, a solidarity pot pays the
helper of a member at the limit, gifts carry a note, a completion says who paid.

Existing member accounts get the default limit (5). The CHECK on the balance is replaced,
which SQLite does with a table copy (batch mode).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
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


def downgrade():
    op.drop_column("completion", "paid_by")
    op.drop_column("transfer", "note")
    op.drop_index("ux_account_pot", table_name="account")
    with op.batch_alter_table("account", recreate="auto") as batch:
        batch.drop_constraint("ck_account_limit_positive", type_="check")
        batch.drop_constraint("ck_account_within_limit", type_="check")
        batch.create_check_constraint("ck_account_not_negative", "kind = 'issuer' OR balance >= 0")
        batch.drop_column("credit_limit")

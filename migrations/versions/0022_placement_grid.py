"""The mile's list reads newest first from an index: listing_placement gets the grid cell of
its point and its listing's date, with a B-tree on (cell, listed_at, listing_id).

The cell is onemile.geo.grid_cell's arithmetic, done here in SQL: floor((lat + 90) / 0.01) *
36000 + floor((lon + 180) / 0.01) mod 36000. Both operands are positive, so SQLite's CAST (which
truncates) is a floor there; PostgreSQL's CAST rounds, so it uses floor().

Revision ID: 0022
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0014"
branch_labels = None
depends_on = None


def _cell_sql(dialect: str) -> str:
    if dialect == "postgresql":
        row, column = "floor((ST_Y(point) + 90.0) / 0.01)", "floor((ST_X(point) + 180.0) / 0.01)"
        return f"(CAST({row} AS INTEGER) * 36000 + CAST({column} AS INTEGER) % 36000)"
    row, column = "CAST((ST_Y(point) + 90.0) / 0.01 AS INTEGER)", "CAST((ST_X(point) + 180.0) / 0.01 AS INTEGER)"
    return f"({row} * 36000 + {column} % 36000)"


def upgrade():
    op.add_column("listing_placement", sa.Column("cell", sa.Integer(), nullable=True))
    op.add_column("listing_placement", sa.Column("listed_at", sa.DateTime(), nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(
        f"UPDATE listing_placement SET cell = {_cell_sql(dialect)}, "
        "listed_at = (SELECT created_at FROM listing WHERE listing.id = listing_placement.listing_id)"
    )
    op.create_index("ix_listing_placement_cell_listed", "listing_placement", ["cell", "listed_at", "listing_id"])


def downgrade():
    op.drop_index("ix_listing_placement_cell_listed", table_name="listing_placement")
    op.drop_column("listing_placement", "listed_at")
    op.drop_column("listing_placement", "cell")

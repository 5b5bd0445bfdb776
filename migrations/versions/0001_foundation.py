"""Foundation: members, miles, listings and their public placements.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(80), nullable=False),
        sa.Column("last_name", sa.String(80), nullable=False),
        sa.Column("postal_code", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("organisation_name", sa.String(120), nullable=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("map_layers", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "mile",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("center", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_mile_member_id", "mile", ["member_id"])
    op.create_table(
        "listing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("offer_type", sa.String(8), nullable=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_listing_author_id", "listing", ["author_id"])
    op.create_index("ix_listing_status_expires", "listing", ["status", "expires_at"])
    op.create_table(
        "listing_placement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mile_id", sa.Integer(), sa.ForeignKey("mile.id", ondelete="CASCADE"), nullable=False),
        sa.Column("point", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.UniqueConstraint("listing_id", "mile_id"),
    )
    op.create_index("ix_listing_placement_listing_id", "listing_placement", ["listing_id"])
    op.create_index("ix_listing_placement_mile_id", "listing_placement", ["mile_id"])
    if postgres:
        # Radius and nearest queries work in metres on geography: index that exact expression
        # (see onemile.geo.geography); the column's own GiST index serves map rectangles.
        op.execute(
            "CREATE INDEX ix_listing_placement_point_geog ON listing_placement "
            "USING gist ((CAST(point AS geography)))"
        )


def downgrade():
    op.drop_table("listing_placement")
    op.drop_table("listing")
    op.drop_table("mile")
    op.drop_table("member")

"""Mags: magazines on the map, their articles, photos, comments and followers; notifications
about new articles.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "mag",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("point", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.Column("cover_image", sa.String(64), nullable=True),
        sa.Column("cover_alt", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_mag_owner_id", "mag", ["owner_id"])
    if postgres:
        # "Mags in my mile" measures metres on geography: index that exact expression (see
        # onemile.geo.geography); the column's own GiST index serves map rectangles.
        op.execute("CREATE INDEX ix_mag_point_geog ON mag USING gist ((CAST(point AS geography)))")
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mag_id", sa.Integer(), sa.ForeignKey("mag.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_article_mag_status", "article", ["mag_id", "status"])
    op.create_table(
        "article_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("article.id", ondelete="CASCADE"), nullable=False),
        sa.Column("image", sa.String(64), nullable=False),
        sa.Column("alt", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_article_photo_article_id", "article_photo", ["article_id"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("article.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_comment_article_id", "comment", ["article_id"])
    op.create_index("ix_comment_author_id", "comment", ["author_id"])
    op.create_table(
        "mag_follow",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mag_id", sa.Integer(), sa.ForeignKey("mag.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("mag_id", "member_id"),
    )
    op.create_index("ix_mag_follow_member_id", "mag_follow", ["member_id"])
    if postgres:
        op.add_column(
            "notification",
            sa.Column("article_id", sa.Integer(), sa.ForeignKey("article.id", ondelete="CASCADE"), nullable=True),
        )
    else:
        # Plain ADD COLUMN (see 0002): SQLite accepts REFERENCES there, Alembic's helper does not.
        op.execute(
            "ALTER TABLE notification ADD COLUMN article_id INTEGER "
            "REFERENCES article (id) ON DELETE CASCADE"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("notification", "article_id")
    else:
        # SQLite cannot drop a column that holds a foreign key: rebuild the small
        # notification table (nothing references it).
        with op.batch_alter_table("notification") as batch:
            batch.drop_column("article_id")
    for table in ("mag_follow", "comment", "article_photo", "article"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        # SpatiaLite keeps the R*Tree and the geometry registration outside the table:
        # without this a later upgrade finds idx_mag_point still there.
        op.execute("SELECT DisableSpatialIndex('mag', 'point')")
        op.execute("DROP TABLE IF EXISTS idx_mag_point")
        op.execute("SELECT DiscardGeometryColumn('mag', 'point')")
    op.drop_table("mag")

"""Public points derived again: ads from (secret, author, ad, grid cell of the centre) instead
of an offset keyed on the mile alone, which a move of the mile revealed by difference; mags
and projects published exactly at one of their author's mile centres (the forms used to
prefill it) are shown approximately.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# A place saved within this distance of a mile centre was the prefilled point, unmoved.
PREFILLED_WITHIN_M = 20.0


def _set_point(bind, table: str, row_id: int, point) -> None:
    bind.execute(
        sa.text(f"UPDATE {table} SET point = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
        {"wkt": f"POINT({point.lon!r} {point.lat!r})", "id": row_id},
    )


def upgrade():
    # Imported here: the app's own derivation (and its secret) is the one thing to apply.
    from onemile.geo import LatLon, haversine_m
    from onemile.privacy import approximate_point, listing_point

    bind = op.get_bind()
    centres: dict[int, list[LatLon]] = {}
    for member_id, lat, lon in bind.execute(sa.text("SELECT member_id, ST_Y(center), ST_X(center) FROM mile")):
        centres.setdefault(member_id, []).append(LatLon(lat, lon))
    placements = bind.execute(sa.text(
        "SELECT p.id, p.listing_id, m.member_id, ST_Y(m.center), ST_X(m.center) FROM listing_placement p"
        " JOIN listing l ON l.id = p.listing_id JOIN mile m ON m.id = p.mile_id"
        " WHERE l.location_mode <> 'meeting_place'"
    )).all()
    for placement_id, listing_id, member_id, lat, lon in placements:
        _set_point(bind, "listing_placement", placement_id, listing_point(member_id, LatLon(lat, lon), listing_id))
    for table, prefix in (("mag", "mag"), ("project", "project")):
        rows = bind.execute(sa.text(f"SELECT id, owner_id, ST_Y(point), ST_X(point) FROM {table}")).all()
        for row_id, owner_id, lat, lon in rows:
            point = LatLon(lat, lon)
            at = [c for c in centres.get(owner_id, []) if haversine_m(c, point) < PREFILLED_WITHIN_M]
            if at:
                _set_point(bind, table, row_id, approximate_point(owner_id, at[0], f"{prefix}:{row_id}"))


def downgrade():
    # The old points revealed homes: they are not brought back.
    pass

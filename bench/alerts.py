"""Alert fan-out: the time to alert the neighbours of one new ad, at a number of members.

Members are placed like the listings' authors (80% around French towns, weighted by size,
the rest scattered), one mile each. The new ad is posted at the busiest point (the centre
of Paris, the largest town) and at random town points; each fan-out runs in the unit of work
of a post (one spatial query against every mile centre, then the notifications and alert
rows), timed up to its flush, then rolled back so that every repetition sees the same
database. Quiet hours are off for everyone: every instant alert is a notification, the
heaviest path.

    BENCH_ALERT_MEMBERS=10000,100000 BENCH_BACKENDS=postgis python -m bench.alerts

`make bench` runs it after the listing benchmark (BENCH_ALERT_MEMBERS, default 100000;
0 skips it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .dataset import clustered_points, scattered_points
from .measure import summary_ms
from .towns import TOWNS

PARIS = (TOWNS[0][1], TOWNS[0][2])


def _load_members(app, count: int, seed: int) -> int:
    """`count` members with one mile each (plus the author, member 1); returns the author's id."""
    from sqlalchemy import insert, text

    from onemile.extensions import db
    from onemile.geo import LatLon
    from onemile.models import Member, Mile

    rng = np.random.default_rng(seed)
    clustered = round(count * 0.8)
    c_lat, c_lon = clustered_points(rng, clustered)
    s_lat, s_lon = scattered_points(rng, count - clustered)
    lat, lon = np.concatenate([c_lat, s_lat]), np.concatenate([c_lon, s_lon])
    with app.app_context():
        chunk = 5000
        for start in range(0, count + 1, chunk):
            ids = range(start + 1, min(count + 1, start + chunk) + 1)
            db.session.execute(insert(Member), [
                {"id": i, "email": f"alert-{i}@1mile.local", "password_hash": "!", "first_name": "Voisin",
                 "last_name": "Banc", "postal_code": "75001", "country": "FR", "kind": "person",
                 "language": "fr", "map_layers": "requests", "referral_code": f"al{i}",
                 "email_notifications": False, "quiet_start": 0, "quiet_end": 0} for i in ids
            ])
            db.session.execute(insert(Mile), [
                {"id": i, "member_id": i, "name": "m", "is_primary": True,
                 "center": LatLon(float(lat[i - 2]) if i > 1 else PARIS[0],
                                  float(lon[i - 2]) if i > 1 else PARIS[1]).wkt()} for i in ids
            ])
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT setval('member_id_seq', (SELECT max(id) FROM member))"))
            db.session.execute(text("SELECT setval('mile_id_seq', (SELECT max(id) FROM mile))"))
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE member"))
                conn.execute(text("VACUUM ANALYZE mile"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return 1


def _one_fan_out(app, author_id: int, point) -> tuple[float, int]:
    """Post a request at point and fan it out; seconds taken by the fan-out, members reached."""
    from datetime import timedelta

    from onemile.alerts.services import fan_out
    from onemile.extensions import db
    from onemile.geo import LatLon
    from onemile.models import Listing, utcnow

    with app.test_request_context():
        listing = Listing(author_id=author_id, kind="request", category="diy", title="Besoin d'aide",
                          body="Banc d'essai", status="open", expires_at=utcnow() + timedelta(days=30))
        db.session.add(listing)
        db.session.flush()
        start = time.perf_counter()
        reached = fan_out("listing", listing.id, "requests", author_id, [LatLon(*point)], "diy")
        elapsed = time.perf_counter() - start
        db.session.rollback()
    return elapsed, reached


def measure(backend: str, members: int, workdir: Path, reps: int = 5, seed: int = 7) -> dict:
    """Load `members` on a fresh database of `backend` and time the fan-out."""
    from .databases import open_database

    database = open_database(backend, members, workdir)
    database.create()
    try:
        app = database.migrate()
        started = time.perf_counter()
        author = _load_members(app, members, seed)
        loaded = time.perf_counter() - started
        rng = np.random.default_rng(seed + 1)
        t_lat, t_lon = clustered_points(rng, reps)
        points = [PARIS] * reps + list(zip(t_lat.tolist(), t_lon.tolist()))
        _one_fan_out(app, author, PARIS)  # warm-up
        busiest = [_one_fan_out(app, author, p) for p in points[:reps]]
        towns = [_one_fan_out(app, author, p) for p in points[reps:]]
        return {
            "members": members, "load_s": round(loaded, 1),
            "busiest_reached": busiest[0][1],
            "busiest_ms": summary_ms([s for s, _ in busiest]),
            "towns_reached_max": max(r for _, r in towns),
            "towns_ms": summary_ms([s for s, _ in towns]),
        }
    finally:
        database.drop()


def run(sizes: list[int], backends: list[str], reps: int = 5) -> list[dict]:
    """Measure every size on every backend; print a line each; return the results."""
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    workdir = Path(tempfile.mkdtemp(prefix="onemile-bench-alerts-"))
    results = []
    for members in sizes:
        for backend in backends:
            result = {"backend": backend, **measure(backend, members, workdir, reps)}
            results.append(result)
            (b50, b95), (t50, t95) = result["busiest_ms"], result["towns_ms"]
            print(f"alert fan-out {backend} {members:>7} members: centre of Paris {result['busiest_reached']} "
                  f"reached, p50 {b50:.1f} ms p95 {b95:.1f} ms; town points (up to "
                  f"{result['towns_reached_max']} reached) p50 {t50:.1f} ms p95 {t95:.1f} ms "
                  f"(loaded in {result['load_s']} s; load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})", flush=True)
    return results


def main() -> int:
    sizes = [int(s) for s in os.environ.get("BENCH_ALERT_MEMBERS", "100000").split(",") if s.strip() and int(s)]
    backends = [b for b in os.environ.get("BENCH_BACKENDS", "spatialite,postgis").split(",") if b.strip()]
    run(sizes, backends, int(os.environ.get("BENCH_ALERT_REPS", "5")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

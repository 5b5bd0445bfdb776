"""The printed table, the targets of issue 8, the routing cost (issue 17) and results.json."""

from __future__ import annotations

from .measure import summary_ms

QUERIES = ("within", "nearest")


def _n(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 and size % 1_000_000 == 0 else (
        f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size))


def results_json(results: dict, page_weight: dict | None, routing: dict | None = None) -> dict:
    """The file's shape: {backend: {N: {within, nearest, http?}}, page_weight, routing}."""
    out: dict = {}
    for backend, sizes in results.items():
        out[backend] = {}
        for size, run in sizes.items():
            entry = {}
            for query in QUERIES:
                raw50, raw95 = summary_ms(run[query]["raw"])
                view50, view95 = summary_ms(run[query]["view"])
                entry[query] = {
                    "raw_ms_p50": round(raw50, 3), "view_ms_p50": round(view50, 3),
                    "raw_ms_p95": round(raw95, 3), "view_ms_p95": round(view95, 3),
                }
            if run.get("floor"):
                entry["floor_ms_p50"] = round(summary_ms(run["floor"])[0], 3)
            if run.get("http"):
                entry["http"] = {"rps": round(run["http"]["rps"], 1), "p95_ms": round(run["http"]["p95_ms"], 2)}
            out[backend][str(size)] = entry
    if page_weight:
        out["page_weight"] = {"first_kb": page_weight["first_kb"], "repeat_kb": page_weight["repeat_kb"]}
    if routing:
        out["routing"] = routing_json(routing)
    return out


def _replica_share(figures: dict) -> float:
    total = figures["primary_statements"] + figures["replica_statements"]
    return figures["replica_statements"] / total if total else 0.0


def routing_json(routing: dict) -> dict:
    """{listings, within: {primary, replica, ratio_p50, ratio_p95}, nearest: …}: view times of
    the app on the primary alone and of the app routing to the replica, the statements a
    request each sent to either server, and the replica's share of them."""
    out: dict = {"listings": routing["listings"]}
    for query in QUERIES:
        entry: dict = {}
        for name in ("primary", "replica"):
            figures = routing[query][name]
            p50, p95 = summary_ms(figures["view"])
            entry[name] = {
                "view_ms_p50": round(p50, 3), "view_ms_p95": round(p95, 3),
                "primary_statements": round(figures["primary_statements"], 2),
                "replica_statements": round(figures["replica_statements"], 2),
                "replica_share": round(_replica_share(figures), 3),
            }
        entry["ratio_p50"] = round(entry["replica"]["view_ms_p50"] / entry["primary"]["view_ms_p50"], 3)
        entry["ratio_p95"] = round(entry["replica"]["view_ms_p95"] / entry["primary"]["view_ms_p95"], 3)
        out[query] = entry
    return out


def routing_table(routing: dict) -> str:
    """The routing cost: view p50 / p95 without and with the replica, their ratio, and where
    the statements went."""
    lines = [(f"Routing (issue 17): {_n(routing['listings'])} listings, PostgreSQL primary + streaming replica on "
              f"this machine; view p50 / p95 in ms over {routing['reps']} runs, {routing['points']} query points, "
              f"logged-in member (htmx)"),
             (f"{'query':<9}{'primary only':>18}{'with replica':>18}{'ratio p50':>11}{'p95':>7}"
              f"  statements a request (primary + replica)")]
    for query in QUERIES:
        alone, routed = routing[query]["primary"], routing[query]["replica"]
        alone50, alone95 = summary_ms(alone["view"])
        routed50, routed95 = summary_ms(routed["view"])
        lines.append(f"{query:<9}{alone50:9.3f} /{alone95:7.3f}{routed50:9.3f} /{routed95:7.3f}"
                     f"{routed50 / alone50:10.2f}x{routed95 / alone95:6.2f}x  "
                     f"{routed['primary_statements']:.1f} + {routed['replica_statements']:.1f}: "
                     f"{_replica_share(routed):.0%} on the replica (alone: {alone['primary_statements']:.1f} "
                     f"+ {alone['replica_statements']:.1f})")
    lines.append(f"Loaded in {routing['load_s']:.1f} s on the primary, replayed by the replica {routing['replay_s']:.1f} s "
                 f"later. The login-session check always reads on the primary (onemile/replicas.py).")
    return "\n".join(lines)


def table(results: dict, reps: int, points: int) -> str:
    lines = [f"Queries: p50 / p95 in ms over {reps} runs after warm-up, {points} query points near towns",
             (f"{'backend':<11}{'N':>6}  {'query':<8}{'raw p50':>9}{'raw p95':>9}{'svc p50':>9}"
             f"{'view p50':>10}{'view p95':>10}{'view/raw':>10}")]
    for backend, sizes in results.items():
        for size, run in sizes.items():
            for query in QUERIES:
                raw50, raw95 = summary_ms(run[query]["raw"])
                svc50, _ = summary_ms(run[query]["service"])
                view50, view95 = summary_ms(run[query]["view"])
                lines.append(f"{backend:<11}{_n(size):>6}  {query:<8}{raw50:9.3f}{raw95:9.3f}{svc50:9.3f}"
                             f"{view50:10.3f}{view95:10.3f}{view50 / raw50:9.1f}x")
            if run.get("floor"):
                floor50, floor95 = summary_ms(run["floor"])
                lines.append(f"{backend:<11}{_n(size):>6}  floor: a logged-in request doing nothing of its own "
                             f"(GET /notifications/bell, 204) p50 {floor50:.3f}, p95 {floor95:.3f}")
    lines += ["", ("Load (seconds): bulk insert of N listings + placements, authors and miles; PostgreSQL COPY "
              "then VACUUM ANALYZE, SpatiaLite executemany in one transaction (R*Tree triggers on)"),
              (f"{'backend':<11}{'N':>6}{'members':>9}{'miles':>8}{'listings':>10}{'placem.':>9}{'commit':>8}"
              f"{'analyze':>9}{'total':>8}{'rows/s':>10}")]
    for backend, sizes in results.items():
        for size, run in sizes.items():
            t = run["load"]
            total = t["total"] + t.get("analyze", 0.0)
            lines.append(f"{backend:<11}{_n(size):>6}{t['members']:9.2f}{t['miles']:8.2f}{t['listings']:10.2f}"
                         f"{t['placements']:9.2f}{t['commit']:8.2f}{t.get('analyze', 0.0):9.2f}{total:8.1f}"
                         f"{2 * size / total:10.0f}")
    http_lines = []
    for backend, sizes in results.items():
        for size, run in sizes.items():
            if run.get("http"):
                h = run["http"]
                http_lines.append(f"{backend:<11}{_n(size):>6}  GET /map/nearest (htmx, logged in): "
                                  f"{h['rps']:.1f} req/s, p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms "
                                  f"({h['tool']}, {h['connections']} connections, {h['seconds']:.0f} s, gunicorn -w 2)")
    if http_lines:
        lines += ["", "HTTP"] + http_lines
    return "\n".join(lines)


def targets(results: dict) -> list[tuple[str, bool]]:
    """Issue 8's target ratios, each as (description, met)."""
    found = []
    for backend, sizes in results.items():
        if not sizes:
            continue
        largest = max(sizes)
        run = sizes[largest]
        for query in QUERIES:
            raw50, _ = summary_ms(run[query]["raw"])
            view50, _ = summary_ms(run[query]["view"])
            floor = f"; floor of a logged-in request {summary_ms(run['floor'])[0]:.2f} ms" if run.get("floor") else ""
            found.append(((f"{backend} {_n(largest)} {query}: view p50 {view50:.2f} ms <= 2 x raw p50 "
                          f"{raw50:.2f} ms (ratio {view50 / raw50:.1f}{floor})"), view50 <= 2 * raw50))
        if 1_000_000 in sizes and 100_000 in sizes:
            for mode in ("raw", "view"):
                big, _ = summary_ms(sizes[1_000_000]["nearest"][mode])
                small, _ = summary_ms(sizes[100_000]["nearest"][mode])
                found.append(((f"{backend} nearest-5 {mode} p50 at 1M {big:.2f} ms <= 1.5 x at 100k "
                              f"{small:.2f} ms (ratio {big / small:.2f})"), big <= 1.5 * small))
        if run.get("http"):
            view50, _ = summary_ms(run["nearest"]["view"])
            allowed = 2 / (view50 / 1000)
            rps = run["http"]["rps"]
            found.append(((f"{backend} {_n(largest)} HTTP {rps:.0f} req/s >= 50% of 2 cores / view p50 "
                          f"{view50:.2f} ms = {0.5 * allowed:.0f} req/s (reached {rps / allowed:.0%})"),
                          rps >= 0.5 * allowed))
    return found

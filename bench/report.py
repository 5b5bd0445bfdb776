"""The printed table, the targets of issue 8 and results.json."""

from __future__ import annotations

from .measure import summary_ms

QUERIES = ("within", "nearest")


def _n(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 and size % 1_000_000 == 0 else (
        f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size))


def results_json(results: dict, page_weight: dict | None) -> dict:
    """The file's shape: {backend: {N: {within, nearest, http?}}, page_weight}."""
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
            if run.get("http"):
                entry["http"] = {"rps": round(run["http"]["rps"], 1), "p95_ms": round(run["http"]["p95_ms"], 2)}
            out[backend][str(size)] = entry
    if page_weight:
        out["page_weight"] = {"first_kb": page_weight["first_kb"], "repeat_kb": page_weight["repeat_kb"]}
    return out


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
            found.append(((f"{backend} {_n(largest)} {query}: view p50 {view50:.2f} ms <= 2 x raw p50 "
                          f"{raw50:.2f} ms (ratio {view50 / raw50:.1f})"), view50 <= 2 * raw50))
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

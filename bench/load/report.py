"""Figures of a load-test run from locust's recorded requests, printed beside a baseline
run's when there is one (``bench/out/load/baseline.json``)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

KINDS = ("page", "image", "login", "author")
TARGET_PAGE_P95_MS = 300


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _latency(samples: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    ms = [s["ms"] for s in samples if s["error"] is None]
    return {
        "requests": len(samples),
        "rps": round(len(samples) / seconds, 2) if seconds else 0.0,
        "errors": sum(s["error"] is not None for s in samples),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms, default=0.0), 1),
        "mb": round(sum(s["bytes"] for s in samples) / 1e6, 1),
    }


def summarize(recorded: dict[str, Any]) -> dict[str, Any]:
    """Latencies over the steady part (from the moment every user was running until the
    stop; sign-ins happen during the ramp and are reported apart), errors over the whole
    run."""
    marks, samples = recorded["marks"], recorded["samples"]
    steady_from = marks.get("spawned", marks["start"])
    window = max(marks["stop"] - steady_from, 1e-9)
    steady = [s for s in samples if steady_from <= s["t"] <= marks["stop"]]
    result: dict[str, Any] = {
        "window_s": round(window, 1),
        "ramp_s": round(steady_from - marks["start"], 1),
        "throughput_rps": round(len(steady) / window, 2),
        "kinds": {},
        "endpoints": [],
        "errors_total": sum(s["error"] is not None for s in samples),
    }
    for kind in KINDS:
        of_kind = [s for s in steady if s["kind"] == kind]
        if kind in ("login", "author"):  # the whole run: they are few and not steady
            of_kind = [s for s in samples if s["kind"] == kind]
        result["kinds"][kind] = _latency(of_kind, window)
    by_endpoint: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in samples:
        by_endpoint[(s["kind"], s["method"], s["name"])].append(s)
    for (kind, method, name), group in sorted(by_endpoint.items()):
        errors = Counter(s["error"] for s in group if s["error"] is not None)
        result["endpoints"].append(
            {
                "kind": kind,
                "endpoint": f"{method} {name}",
                **_latency(group, window),
                "error_examples": [f"{n}x {e}" for e, n in errors.most_common(3)],
            }
        )
    rounds = recorded.get("author_rounds", [])
    done = [r for r in rounds if r.get("ok")]
    result["author"] = {
        "rounds_completed": len(done),
        "rounds_failed": sum(1 for r in rounds if "failed_at" in r),
        "rounds_cut_off": sum(1 for r in rounds if not r.get("ok") and "failed_at" not in r),
        "pull_publish_s": [round(r["total_s"], 1) for r in done],
        "pull_s": [round(r["pull_s"], 1) for r in done],
        "review_s": [round(r["review_s"], 1) for r in done],
        "publish_s": [round(r["publish_s"], 1) for r in done],
        "images": [r.get("images") for r in done],
        "failures": [f"{r['failed_at']}: {r['reason']}" for r in rounds if "failed_at" in r],
    }
    page_p95 = result["kinds"]["page"]["p95_ms"]
    result["targets"] = {
        "zero_errors": result["errors_total"] == 0,
        "page_p95_under_300_ms": page_p95 < TARGET_PAGE_P95_MS,
        "met": result["errors_total"] == 0 and page_p95 < TARGET_PAGE_P95_MS,
    }
    return result


def _ratio(now: float, base: float | None) -> str:
    if base in (None, 0):
        return ""
    return f"{now / base:5.2f}x"


def print_report(result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    cfg = result["config"]
    print(
        f"\nLoad test: {cfg['users']} trainees (think {cfg['think_min']:g}-{cfg['think_max']:g} s)"
        f" + 1 author, {cfg['duration_s']} s, gunicorn {cfg['web_workers']} sync workers,"
        f" Celery worker x{cfg['worker_concurrency']}, {result['machine']['cpus']} CPUs"
    )
    print(
        f"Steady window {result['window_s']:.0f} s after a {result['ramp_s']:.0f} s ramp;"
        f" {result['throughput_rps']:.1f} req/s"
        + (f"   (baseline {baseline['throughput_rps']:.1f} req/s)" if baseline else "")
    )
    head = f"  {'':8} {'requests':>8} {'req/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
    print(head + f" {'errors':>6}" + ("   p95 vs baseline" if baseline else ""))
    for kind in KINDS:
        k = result["kinds"][kind]
        base = (baseline or {}).get("kinds", {}).get(kind)
        print(
            f"  {kind:8} {k['requests']:8d} {k['rps']:6.1f} {k['p50_ms']:6.0f}ms"
            f" {k['p95_ms']:6.0f}ms {k['p99_ms']:6.0f}ms {k['max_ms']:6.0f}ms {k['errors']:6d}"
            + (f"   {_ratio(k['p95_ms'], base and base['p95_ms'])}" if base else "")
        )
    print("  (page and image: steady window; login and author: the whole run)")
    print("Slowest endpoints by p95:")
    for e in sorted(result["endpoints"], key=lambda e: -e["p95_ms"])[:8]:
        print(
            f"  {e['kind']:6} {e['endpoint'][:52]:52} {e['requests']:6d}"
            f" p50 {e['p50_ms']:6.0f} p95 {e['p95_ms']:6.0f} p99 {e['p99_ms']:6.0f} ms"
        )
    failing = [e for e in result["endpoints"] if e["errors"]]
    print(f"Errors: {result['errors_total']}")
    for e in failing:
        print(f"  {e['endpoint']}: {e['errors']}  {'; '.join(e['error_examples'])}")
    a = result["author"]
    base_a = (baseline or {}).get("author", {}).get("pull_publish_s") or []
    print(
        f"Author: {a['rounds_completed']} round(s) of pull + publish in"
        f" {', '.join(f'{t:.1f}' for t in a['pull_publish_s']) or '-'} s"
        f" (pull {', '.join(f'{t:.1f}' for t in a['pull_s']) or '-'};"
        f" review {', '.join(f'{t:.1f}' for t in a['review_s']) or '-'};"
        f" publish {', '.join(f'{t:.1f}' for t in a['publish_s']) or '-'})"
        + (f"; baseline {', '.join(f'{t:.1f}' for t in base_a)} s" if base_a else "")
        + (f"; {a['rounds_cut_off']} cut off by the end" if a["rounds_cut_off"] else "")
    )
    for failure in a["failures"]:
        print(f"  failed: {failure}")
    if result.get("seed"):
        s = result["seed"]
        print(f"Seed: {s['cases']} cases pulled and published in {s['seconds']:.1f} s (no load)")
    cpu = result.get("cpu_seconds") or {}
    if cpu:
        m = result["machine"]
        parts = ", ".join(f"{name} {sec:.0f}" for name, sec in cpu.items())
        print(
            f"CPU seconds during the load: {parts}; the machine was {m['busy_percent']:.0f}%"
            f" busy (PostgreSQL and other work included); load average before"
            f" {m['loadavg_before'][0]:.1f}"
        )
    t = result["targets"]
    print(
        f"Targets: 0 errors {'met' if t['zero_errors'] else 'NOT met'}; page p95 under"
        f" {TARGET_PAGE_P95_MS} ms {'met' if t['page_p95_under_300_ms'] else 'NOT met'}"
    )

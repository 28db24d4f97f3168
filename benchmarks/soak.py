"""Soak: Closerr carrying a steady load of calls for an hour (``make soak``; not part of ``make bench`` or CI).

``--calls`` lines of simulated calls (default 24) run back to back, each line starting its next call as soon as
the last one ended, for ``--minutes`` (default 60). The run is cut into windows (``--window-minutes``, default 5):
each window is one batch through the same harness as the capacity benchmark, so it reports caller-side
voice-to-voice, engine underruns, caller-heard gaps and failed calls, and the engine's resident memory once the
window's calls have ended.

Verdict (targets): resident memory after the last window within 2 % of after the first (drift), no upward trend in
p95 (the least-squares slope over the windows, seconds per hour, at most ``TREND_TOLERANCE_S_PER_H``), no failed
call and no underrun in any window.

Writes ``benchmarks/results/soak.json`` and ``soak.md``.

    .venv/bin/python -m benchmarks.soak                                   # an hour at 24 calls
    .venv/bin/python -m benchmarks.soak --minutes 4 --window-minutes 2 --calls 4   # a quick check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.call_batch import BENCH_PERSONAS, WARMUP_PERSONAS, call_spec, run_batch, warm_up
from benchmarks.call_fleet import CallFleet, CallSpec
from benchmarks.report import RESULTS, exit_on_sigterm, fmt, machine, table, write_json, write_text
from benchmarks.servers import Server, engine_cpus, settle, start_server
from benchmarks.stats import fit_slope
from engine.directory import CallDirectory

TARGET_RSS_DRIFT = 0.02
# A p95 slope below this (seconds per hour) is noise, not a trend: a quarter of the windows' spread on a quiet box.
TREND_TOLERANCE_S_PER_H = 0.05
# One benchmark persona call lasts 35-40 s; a window's lines hold enough calls to fill it.
CALL_S_ESTIMATE = 37.0
# The engine keeps the records of its last 200 calls; a window fetches its calls' records at its end, so it may hold
# no more calls than that (a first hour's try lost 40 records of a 240-call window and counted them as failures).
RECORDS_KEPT = CallDirectory.keep_records
START_SPREAD_S = 4.0


def window_plan(calls: int, window_s: float) -> list[list[CallSpec]]:
    """``calls`` lines, each as many back-to-back calls as fill ``window_s`` (no more than the engine keeps records
    of), personas alternating, the lines' first calls spread over a few seconds."""
    per_line = max(1, min(round(window_s / CALL_S_ESTIMATE), RECORDS_KEPT // calls))
    return [
        [
            call_spec(
                "closerr",
                BENCH_PERSONAS[(line + n) % len(BENCH_PERSONAS)],
                START_SPREAD_S * line / calls if n == 0 else 0.0,
            )
            for n in range(per_line)
        ]
        for line in range(calls)
    ]


def verdict(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Drift of resident memory (after the last window over after the first), the p95 trend in seconds per hour,
    failures and underruns summed, and whether each target is met."""
    if not windows:
        return {"meets_target": False, "reason": "no window ran"}
    first, last = windows[0].get("rss_after_mb"), windows[-1].get("rss_after_mb")
    drift = round(last / first - 1, 4) if first and last else None
    hours = [w["ended_s"] / 3600 for w in windows if w.get("v2v_p95_s") is not None]
    p95 = [w["v2v_p95_s"] for w in windows if w.get("v2v_p95_s") is not None]
    slope = fit_slope(hours, p95)
    failed = sum(int(w.get("failed_calls") or 0) for w in windows)
    underruns = sum(int(w.get("underruns") or 0) for w in windows)
    out: dict[str, Any] = {
        "windows": len(windows),
        "calls": sum(int(w.get("calls") or 0) for w in windows),
        "rss_drift": drift,
        "p95_trend_s_per_hour": round(slope, 4) if slope is not None else None,
        "failed_calls": failed,
        "underruns": underruns,
        "caller_gaps": sum(int(w.get("caller_gaps") or 0) for w in windows),
        "cut_ins": sum(int(w.get("cut_ins") or 0) for w in windows),
        "lead_turns": sum(int(w.get("lead_turns") or 0) for w in windows),
    }
    out["meets_rss_drift"] = drift is not None and abs(drift) <= TARGET_RSS_DRIFT
    out["meets_p95_trend"] = slope is not None and slope <= TREND_TOLERANCE_S_PER_H
    out["meets_target"] = bool(out["meets_rss_drift"] and out["meets_p95_trend"] and not failed and not underruns)
    return out


def markdown(results: dict[str, Any]) -> str:
    meta, summary = results["meta"], results["summary"]
    rows = [
        [
            i + 1,
            w.get("calls"),
            w.get("v2v_p50_s"),
            w.get("v2v_p95_s"),
            f"{w.get('cut_ins')} of {w.get('lead_turns')}",
            w.get("underruns"),
            w.get("caller_gaps"),
            w.get("failed_calls"),
            w.get("engine_cpu_cores"),
            w.get("gc_full_collections"),
            w.get("gc_full_pause_max_ms_le"),
            w.get("rss_after_mb"),
        ]
        for i, w in enumerate(results["windows"])
    ]
    header = [
        "window",
        "calls",
        "v2v p50 (s)",
        "v2v p95 (s)",
        "cut-ins",
        "underruns",
        "gaps",
        "failed",
        "CPU cores",
        "full GCs",
        "longest GC (ms, bucket)",
        "RSS after",
    ]
    return (
        "# Soak: a steady load of calls\n\n"
        f"Run {meta.get('date_utc')} at {meta.get('git_rev')}, {meta.get('cpus')} CPUs, {meta.get('lines')} calls at "
        f"once for {meta.get('minutes')} minutes in {meta.get('window_minutes')}-minute windows; load average before "
        f"{meta.get('load_before')} / after {meta.get('load_after')}.\n\n"
        + table(header, rows)
        + f"\nResident memory drift (after the last window over after the first): {fmt(summary.get('rss_drift'), 4)} "
        f"(target within {TARGET_RSS_DRIFT}). p95 trend: {fmt(summary.get('p95_trend_s_per_hour'), 4)} s per hour "
        f"(at most {TREND_TOLERANCE_S_PER_H}). Failed calls {summary.get('failed_calls')}, underruns "
        f"{summary.get('underruns')}, caller-heard gaps {summary.get('caller_gaps')}, cut-ins "
        f"{summary.get('cut_ins')} of {summary.get('lead_turns')} turns. "
        f"{'Meets' if summary.get('meets_target') else 'Does NOT meet'} the target.\n"
    )


def run(calls: int, minutes: float, window_minutes: float, results_dir: Path) -> dict[str, Any]:
    meta = machine()
    meta.update(lines=calls, minutes=minutes, window_minutes=window_minutes, engine_cpus=sorted(engine_cpus()))
    windows: list[dict[str, Any]] = []
    server: Server | None = None
    started = time.monotonic()
    try:
        server = start_server("closerr")
        with CallFleet([*BENCH_PERSONAS, *WARMUP_PERSONAS]) as fleet:
            meta.update(fleet.info)
            warm_up(fleet, server)
            settle(server)
            meta["idle_rss_mb"] = round(server.rss_mb(), 1)
            meta["load_before"] = machine()["load_average"]
            window_s = 60 * window_minutes
            while time.monotonic() - started + window_s <= 60 * minutes + 60:
                window, _, _ = run_batch(fleet, server, window_plan(calls, window_s))
                window["ended_s"] = round(time.monotonic() - started, 1)
                windows.append(window)
                print(
                    f"soak: window {len(windows)}: {window['calls']} calls, p95 {fmt(window['v2v_p95_s'])} s, "
                    f"underruns {window['underruns']}, failed {window['failed_calls']}, "
                    f"rss after {fmt(window['rss_after_mb'], 1)} MiB",
                    flush=True,
                )
            meta["load_after"] = machine()["load_average"]
    finally:
        if server is not None:
            server.stop()
    meta["wall_s"] = round(time.monotonic() - started, 1)
    results = {"windows": windows, "summary": verdict(windows), "meta": meta}
    write_json("soak.json", results, results_dir)
    write_text("soak.md", markdown(results), results_dir)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=24, help="calls at once")
    parser.add_argument("--minutes", type=float, default=60.0, help="how long the load lasts")
    parser.add_argument("--window-minutes", type=float, default=5.0, help="the length of one measured window")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.minutes <= 0 or not 0 < args.window_minutes <= args.minutes:
        parser.error("--calls >= 1, --minutes > 0 and 0 < --window-minutes <= --minutes")
    exit_on_sigterm()
    summary = run(args.calls, args.minutes, args.window_minutes, args.results)["summary"]
    print(
        f"soak: rss drift {summary.get('rss_drift')}, p95 trend {summary.get('p95_trend_s_per_hour')} s/h, "
        f"failed {summary.get('failed_calls')}, underruns {summary.get('underruns')}; "
        f"{'meets' if summary.get('meets_target') else 'does NOT meet'} the target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

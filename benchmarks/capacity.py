"""Capacity benchmark: N simultaneous simulated calls, N = 1, 2, 4, 8, 16, 24, 32, ..., for Closerr
and the plain pipecat baseline in the same run.

Each step places N calls at once (starts spread over a few seconds, as real traffic is not in lockstep; the
single-call view with more samples is the latency benchmark's) and records caller-side voice-to-voice p50/p95/p99,
the stage breakdown from the call records, engine underruns and caller-side gaps, server CPU and resident memory,
and the STT queue wait. Steps alternate between the systems; a system's sweep stops after the first step that
misses its limit (p95 > 1.0 s, caller-heard gaps or failed calls) twice in a row, or when the time budget would
be exceeded. The target (and the admission limit) also requires zero engine underruns. The
baseline misses 1.0 s with one call and keeps no underrun count, so its sweep goes on until its p95 exceeds twice
its own one-call p95 or calls fail: that shows how it degrades, side by side.

Writes ``benchmarks/results/capacity.json``, ``capacity.md`` and the plots ``capacity_latency.png`` and
``capacity_memory.png``. Targets: >= 24 calls at p95 <= 1.0 s with zero underruns; <= 25 MB per extra call;
back to within 5 % of idle memory after the calls.

    .venv/bin/python -m benchmarks.capacity                       # the full sweep, about 10 minutes
    .venv/bin/python -m benchmarks.capacity --max-calls 2 --budget-s 120
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.call_batch import BENCH_PERSONAS, WARMUP_PERSONAS, call_spec, run_batch, warm_up
from benchmarks.call_fleet import CallFleet, CallSpec
from benchmarks.capacity_plots import plot_latency, plot_memory
from benchmarks.report import RESULTS, exit_on_sigterm, fmt, machine, table, write_json, write_text
from benchmarks.servers import SYSTEMS, Server, engine_cpus, settle, start_server
from benchmarks.stats import fit_slope

SWEEP = (1, 2, 4, 8, 16, 24, 32, 40, 48, 64)
TARGET_P95_S = 1.0
TARGET_CALLS = 24
TARGET_MB_PER_CALL = 25.0
TARGET_IDLE_RETURN = 0.05
START_SPREAD_S = 4.0


def plan(system: str, calls: int, spread_s: float = START_SPREAD_S) -> list[list[CallSpec]]:
    """``calls`` lines of one call each, alternating personas, starts spread evenly over ``spread_s``."""
    return [[call_spec(system, BENCH_PERSONAS[i % len(BENCH_PERSONAS)], spread_s * i / calls)] for i in range(calls)]


def step_ok(step: dict[str, Any], limit_s: float) -> bool:
    """Within the limit: p95 at most ``limit_s``, no engine underruns, no failed calls. A system that keeps no
    underrun count (the baseline: None) is judged on latency and failures only."""
    p95 = step.get("v2v_p95_s")
    return p95 is not None and p95 <= limit_s and not step.get("underruns") and not step.get("failed_calls")


def step_audible_ok(step: dict[str, Any], limit_s: float) -> bool:
    """What the sweep stops on: p95 over the limit, gaps the caller heard, or failed calls. The engine's underrun
    count is stricter (every frame sent over 20 ms late counts, even when the 60 ms pre-buffer hides it), so it
    decides the target but does not cut the sweep short."""
    p95 = step.get("v2v_p95_s")
    return p95 is not None and p95 <= limit_s and not step.get("caller_gaps") and not step.get("failed_calls")


def largest_passing(steps: list[dict[str, Any]], limit_s: float, check: Any = step_ok) -> int | None:
    """The largest N such that it and every smaller measured N passed ``check``."""
    best = None
    for step in sorted(steps, key=lambda s: s["calls"]):
        if not check(step, limit_s):
            break
        best = step["calls"]
    return best


def memory_summary(steps: list[dict[str, Any]], idle_mb: float | None, final_mb: float | None) -> dict[str, Any]:
    xs = [float(s["calls"]) for s in steps if s.get("rss_mb") is not None]
    ys = [float(s["rss_mb"]) for s in steps if s.get("rss_mb") is not None]
    slope = fit_slope(xs, ys)
    back = (final_mb - idle_mb) / idle_mb if idle_mb and final_mb is not None else None
    return {
        "idle_rss_mb": idle_mb,
        "final_rss_mb": final_mb,
        "mb_per_extra_call": round(slope, 2) if slope is not None else None,
        "final_over_idle": round(back, 4) if back is not None else None,
        "meets_mb_per_call": slope is not None and slope <= TARGET_MB_PER_CALL,
        "returns_to_idle": back is not None and back <= TARGET_IDLE_RETURN,
    }


def saturation(steps: list[dict[str, Any]], limit_s: float, cores: int) -> list[str]:
    """Plain statements of what grew between one call and the first step over the limit (or the last step)."""
    if not steps:
        return []
    ordered = sorted(steps, key=lambda s: s["calls"])
    base = ordered[0]
    failing = next((s for s in ordered if not step_ok(s, limit_s)), ordered[-1])
    n = failing["calls"]
    notes = []
    cpu = failing.get("engine_cpu_cores")
    if cpu is not None:
        notes.append(f"server CPU at {n} calls: {cpu:.2f} of {cores} usable cores ({100 * cpu / cores:.0f} %)")
    for key, label in (("stt_busy", "the STT inference threads"), ("tts_busy", "the Piper TTS thread(s)")):
        busy = failing.get(key)
        if busy is not None:
            state = "saturated" if busy >= 0.8 else "not saturated"
            notes.append(f"{label} busy {100 * busy:.0f} % of the time at {n} calls ({state})")
    if failing.get("loop_lag_mean_ms") is not None:
        notes.append(
            f"server event-loop lag at {n} calls: mean {failing['loop_lag_mean_ms']:.1f} ms, "
            f"p99 <= {fmt(failing.get('loop_lag_p99_ms_le'), 0)} ms"
        )
    growth = []
    for key, label in (
        ("stt_queue_p50_s", "STT queue wait"),
        ("stt_p50_s", "STT (pause -> transcript)"),
        ("endpoint_p50_s", "endpointing"),
        ("tts_p50_s", "TTS first audio"),
    ):
        a, b = base.get(key), failing.get(key)
        if a is not None and b is not None:
            growth.append((b - a, f"{label} p50 {a:.3f} s -> {b:.3f} s"))
    growth.sort(reverse=True)
    notes += [text for _, text in growth]
    if failing.get("stt_queue_p95_s") is not None:
        notes.append(f"STT queue wait p95 at {n} calls: {failing['stt_queue_p95_s']:.3f} s")
    for key, label in (("underruns", "engine underruns"), ("caller_gaps", "caller-side gaps")):
        if failing.get(key):
            notes.append(f"{label} at {n} calls: {failing[key]}")
    lag = failing.get("caller_loop_lag_p99_ms")
    if lag is not None and lag > 10:
        notes.append(f"caller loop lag p99 {lag:.0f} ms at {n} calls: the measuring side was also short of CPU")
    return notes


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    out = [
        "# Capacity: concurrent calls on one machine\n",
        f"Run {meta.get('date_utc')} at {meta.get('git_rev')}, {meta.get('cpus')} CPUs (servers on cores "
        f"{meta.get('engine_cpus')}, callers on core {meta.get('caller_cpu')} at nice {meta.get('caller_nice')}), "
        f"load average before {meta.get('load_before')} / after {meta.get('load_after')}.\n",
    ]
    header = ["calls", "turns", "p50", "p95", "p99", "STT queue p95", "TTS p50", "underruns", "gaps", "failed"]
    header += ["CPU cores", "CPU s per call-min", "STT busy", "TTS busy", "loop lag mean ms", "peak RSS MiB"]
    header += ["after MiB"]
    for system in SYSTEMS:
        steps = results.get(system) or []
        if not steps:
            continue
        summary = results["summary"][system]
        rows = [
            [
                s["calls"],
                s["turns"],
                s["v2v_p50_s"],
                s["v2v_p95_s"],
                s["v2v_p99_s"],
                s.get("stt_queue_p95_s"),
                s.get("tts_p50_s"),
                s.get("underruns"),
                s.get("caller_gaps"),
                s.get("failed_calls"),
                s.get("engine_cpu_cores"),
                s.get("engine_cpu_s_per_call_minute"),
                s.get("stt_busy"),
                s.get("tts_busy"),
                s.get("loop_lag_mean_ms"),
                s.get("rss_mb"),
                s.get("rss_after_mb"),
            ]
            for s in steps
        ]
        mem = summary["memory"]
        out += [
            f"\n## {system}\n",
            table(header, rows),
            f"\nLargest N within the limit (p95 <= {fmt(summary['limit_s'], 2)} s, no engine underruns, no failed "
            f"calls): **{summary['largest_passing_calls']}**"
            + (
                f" (target >= {TARGET_CALLS}: {'met' if summary['meets_target'] else 'NOT met'})"
                if system == "closerr"
                else ""
            )
            + f"; counting only what a caller hears (p95, gaps, failures): "
            f"**{summary.get('largest_within_latency_calls')}**. Stopped: {summary['stopped']}.\n",
            f"\nMemory: idle {fmt(mem['idle_rss_mb'], 1)} MiB, {fmt(mem['mb_per_extra_call'], 1)} MiB per extra call "
            f"(least-squares slope of peak RSS), {fmt(mem['final_rss_mb'], 1)} MiB after all calls "
            f"({fmt(100 * mem['final_over_idle'] if mem['final_over_idle'] is not None else None, 1)} % over idle).\n",
            "\nWhat grows first:\n\n" + "".join(f"- {line}\n" for line in summary["saturation"]),
        ]
    closerr = results.get("summary", {}).get("closerr", {})
    if closerr.get("largest_passing_calls"):
        out.append(
            f"\nAdmission limit: `CLOSERR_MAX_CONCURRENT_CALLS` = {closerr['largest_passing_calls']} on this machine "
            "(the largest N within the target).\n"
        )
    out.append(
        "\nVoice-to-voice is the caller's (last voiced frame sent -> first voiced bot frame received). Gaps are "
        "counted by the caller: bot audio ran out while a voiced frame was playing. Plots: capacity_latency.png, "
        "capacity_memory.png.\n"
    )
    return "".join(out)


def run(max_calls: int, budget_s: float, systems: list[str], results_dir: Path) -> dict[str, Any]:
    meta = machine()
    meta["engine_cpus"] = sorted(engine_cpus())
    results: dict[str, Any] = {s: [] for s in systems}
    summary: dict[str, Any] = {}
    servers: dict[str, Server] = {}
    idle: dict[str, float] = {}
    limit = dict.fromkeys(systems, TARGET_P95_S)
    stopped = dict.fromkeys(systems, "")
    started = time.monotonic()
    try:
        for system in systems:
            servers[system] = start_server(system)
        with CallFleet([*BENCH_PERSONAS, *WARMUP_PERSONAS]) as fleet:
            meta.update(fleet.info)
            for system in systems:
                warm_up(fleet, servers[system])
                settle(servers[system])
                idle[system] = round(servers[system].rss_mb(), 1)
            meta["load_before"] = machine()["load_average"]
            for calls in [n for n in SWEEP if n <= max_calls]:
                for system in systems:
                    if stopped[system]:
                        continue
                    steps = results[system]
                    estimate = 1.2 * steps[-1]["wall_s"] if steps else 60.0
                    if time.monotonic() - started + estimate > budget_s:
                        stopped[system] = f"time budget ({budget_s:.0f} s) before {calls} calls"
                        continue
                    step, _, _ = run_batch(fleet, servers[system], plan(system, calls))
                    step["calls"] = calls
                    steps.append(step)
                    print(
                        f"capacity: {system} {calls} calls: p50 {fmt(step['v2v_p50_s'])} p95 {fmt(step['v2v_p95_s'])}"
                        f" underruns {step['underruns']} gaps {step['caller_gaps']} failed {step['failed_calls']}"
                        f" cpu {fmt(step['engine_cpu_cores'], 2)} rss {fmt(step['rss_mb'], 0)} MiB"
                        f" ({step['wall_s']:.0f} s)",
                        flush=True,
                    )
                    if system == "pipecat_baseline" and len(steps) == 1 and step["v2v_p95_s"]:
                        limit[system] = max(TARGET_P95_S, round(2 * step["v2v_p95_s"], 3))
                    # Two misses in a row end the sweep: one miss alone may be a burst of background load.
                    lim = limit[system]
                    if not step_audible_ok(step, lim) and len(steps) >= 2 and not step_audible_ok(steps[-2], lim):
                        stopped[system] = f"limit missed at {steps[-2]['calls']} and {calls} calls"
            meta["load_after"] = machine()["load_average"]
            for system in systems:
                settle(servers[system], 5.0)
                final = round(servers[system].rss_mb(), 1)
                steps = results[system]
                summary[system] = {
                    "limit_s": limit[system],
                    "largest_passing_calls": largest_passing(steps, limit[system]),
                    "largest_within_latency_calls": largest_passing(steps, limit[system], step_audible_ok),
                    "stopped": stopped[system] or f"sweep end ({max_calls} calls)",
                    "memory": memory_summary(steps, idle.get(system), final),
                    "saturation": saturation(steps, limit[system], len(engine_cpus())),
                }
                summary[system]["meets_target"] = (summary[system]["largest_passing_calls"] or 0) >= TARGET_CALLS
    finally:
        for server in servers.values():
            server.stop()
    meta["wall_s"] = round(time.monotonic() - started, 1)
    results["summary"] = summary
    results["target"] = {
        "calls": TARGET_CALLS,
        "v2v_p95_s": TARGET_P95_S,
        "mb_per_extra_call": TARGET_MB_PER_CALL,
        "idle_return": TARGET_IDLE_RETURN,
    }
    results["meta"] = meta
    write_json("capacity.json", results, results_dir)
    plot_latency(results, TARGET_P95_S, results_dir / "capacity_latency.png")
    plot_memory(results, results_dir / "capacity_memory.png")
    write_text("capacity.md", markdown(results), results_dir)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-calls", type=int, default=SWEEP[-1], help="largest N of the sweep")
    parser.add_argument("--budget-s", type=float, default=600.0, help="start no step that would end after this")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: closerr,pipecat_baseline")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown system(s): {', '.join(sorted(unknown))}")
    exit_on_sigterm()
    results = run(args.max_calls, args.budget_s, systems, args.results)
    for system in systems:
        s = results["summary"][system]
        print(f"{system}: largest N within limit {s['largest_passing_calls']}; {s['stopped']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

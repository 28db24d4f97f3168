"""Latency benchmark: caller-side voice-to-voice of Closerr and of the plain pipecat baseline, one call
at a time, measured side by side in one run.

Both servers run at once (idle between their calls); calls alternate between them (Closerr, baseline, Closerr,
...) over the benchmark personas, so drifting background load hits both alike. Each system gets one unmeasured
warm-up call first. Voice-to-voice is measured by the simulated caller: last voiced frame sent -> first voiced
bot frame received; the stage breakdown comes from each call's record.

Writes ``benchmarks/results/latency.json`` and ``latency.md``. Target (Closerr): median <= 0.5 s, p95 <= 0.8 s.

    .venv/bin/python -m benchmarks.latency              # 4 calls per system, then the 12 pause-heavy personas
    .venv/bin/python -m benchmarks.latency --calls 1 --pause-calls 0   # a quick check
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchmarks.call_batch import (
    BENCH_PERSONAS,
    PAUSE_PERSONAS,
    WARMUP_PERSONAS,
    call_spec,
    run_batch,
    summarize,
    warm_up,
)
from benchmarks.call_fleet import CallFleet
from benchmarks.report import RESULTS, exit_on_sigterm, fmt, machine, table, write_json, write_text
from benchmarks.servers import SYSTEMS, Server, start_server

TARGET_P50_S = 0.5
TARGET_P95_S = 0.8


Collected = dict[str, tuple[list[dict[str, Any]], dict[str, dict[str, Any] | None]]]


def build_results(per_system: Collected, meta: dict[str, Any], pauses: Collected | None = None) -> dict[str, Any]:
    """``latency.json``: one summary per system (with its summary on the pause-heavy personas under ``pauses``),
    the baseline/Closerr ratios, the target verdict."""
    results: dict[str, Any] = {}
    for system, (calls, records) in per_system.items():
        results[system] = summarize(calls, records)
        if pauses and pauses.get(system, ([], {}))[0]:
            results[system]["pauses"] = summarize(*pauses[system])
        # The raw samples, for a reader who wants more than two percentiles.
        results[system]["samples"] = {
            "v2v_s": [v for c in calls for v in c.get("v2v_s", [])],
            "engine_turns": [t for r in records.values() if r for t in r.get("turns", [])],
        }
    closerr, baseline = results.get("closerr"), results.get("pipecat_baseline")
    ratios: dict[str, float | None] = {}
    if closerr and baseline:
        for key in ("v2v_p50_s", "v2v_p95_s"):
            a, b = closerr.get(key), baseline.get(key)
            ratios[key.removesuffix("_s")] = round(b / a, 2) if a and b else None
    results["baseline_over_closerr"] = ratios
    results["target"] = {"v2v_p50_s": TARGET_P50_S, "v2v_p95_s": TARGET_P95_S}
    results["closerr_meets_target"] = bool(
        closerr
        and closerr.get("v2v_p50_s") is not None
        and closerr["v2v_p50_s"] <= TARGET_P50_S
        and closerr["v2v_p95_s"] <= TARGET_P95_S
    )
    results["meta"] = meta
    return results


def markdown(results: dict[str, Any]) -> str:
    systems = [s for s in SYSTEMS if s in results]
    rows = []
    fields = [
        ("turns (caller v2v samples)", "turns"),
        ("v2v p50 (s)", "v2v_p50_s"),
        ("v2v p95 (s)", "v2v_p95_s"),
        ("v2v max (s)", "v2v_max_s"),
        ("engine-side v2v p50 (s)", "engine_v2v_p50_s"),
        ("endpoint p50: last voice -> turn decided + transcribed (s)", "endpoint_p50_s"),
        ("VAD stop p50 (s)", "vad_stop_p50_s"),
        ("STT p50 (s)", "stt_p50_s"),
        ("STT queue wait p50 (s)", "stt_queue_p50_s"),
        ("policy p50 (s)", "policy_p50_s"),
        ("TTS first audio p50 (s)", "tts_p50_s"),
        ("engine underruns", "underruns"),
        ("caller-side gaps", "caller_gaps"),
        ("cut-ins: bot spoke before the lead finished (share of lead turns)", "cut_in_rate"),
        ("failed calls", "failed_calls"),
    ]
    for label, key in fields:
        rows.append([label, *[results[s].get(key) for s in systems]])
    pause_fields = [
        ("calls", "calls"),
        ("lead turns", "lead_turns"),
        ("cut-ins", "cut_ins"),
        ("cut-in rate", "cut_in_rate"),
        ("v2v p50 (s)", "v2v_p50_s"),
        ("v2v p95 (s)", "v2v_p95_s"),
        ("failed calls", "failed_calls"),
    ]
    pause_rows = [[label, *[(results[s].get("pauses") or {}).get(key) for s in systems]] for label, key in pause_fields]
    pauses = ""
    if any(results[s].get("pauses") for s in systems):
        pauses = (
            "\n## Pause-heavy personas\n\nLeads who pause inside a turn (lists, slow numbers, hesitations, an "
            "afterthought after 0.45-0.7 s) and some fast one-word answers (`benchmarks/personas/pauses/`), one call "
            "each per system. A cut-in: the bot's first voiced frame arrived while the lead's planned turn was still "
            "being said.\n\n" + table(["", *systems], pause_rows)
        )
    meta = results.get("meta", {})
    ratio = results.get("baseline_over_closerr", {})
    verdict = "meets" if results.get("closerr_meets_target") else "does NOT meet"
    return (
        "# Latency: caller-side voice-to-voice, one call at a time\n\n"
        f"Run {meta.get('date_utc')} at {meta.get('git_rev')}, {meta.get('cpus')} CPUs, "
        f"load average before {meta.get('load_before')} / after {meta.get('load_after')}. "
        f"Calls alternate between the systems; {meta.get('calls_per_system')} calls each.\n\n"
        + table(["", *systems], rows)
        + f"\nBaseline / Closerr: p50 x{fmt(ratio.get('v2v_p50'), 2)}, p95 x{fmt(ratio.get('v2v_p95'), 2)}. "
        f"Closerr {verdict} the target (p50 <= {TARGET_P50_S} s, p95 <= {TARGET_P95_S} s).\n\n"
        "Stages are medians of each call record's per-turn values (Closerr: `TurnLatency`; baseline: frames "
        "stamped by an observer). Closerr's endpoint includes the speculative STT that runs during the VAD pause; "
        "the baseline's is Silero's 0.6 s stop plus a full Whisper pass.\n" + pauses
    )


def _measure(fleet: CallFleet, servers: dict[str, Server], persona: str, into: Collected, label: str) -> None:
    """One call of ``persona`` on each system, one after the other."""
    for system, server in servers.items():
        _, calls, records = run_batch(fleet, server, [[call_spec(system, persona)]])
        into[system][0].extend(calls)
        into[system][1].update(records)
        v2v = calls[0]["v2v_s"] if calls else []
        cut = calls[0].get("cut_ins") if calls else None
        print(f"latency: {system} {label}: v2v {v2v}, cut-ins {cut}", flush=True)


def run(calls_per_system: int, systems: list[str], results_dir: Path, pause_calls: int = 0) -> dict[str, Any]:
    meta = machine()
    servers: dict[str, Server] = {}
    collected: Collected = {s: ([], {}) for s in systems}
    pauses: Collected = {s: ([], {}) for s in systems}
    pause_personas = [PAUSE_PERSONAS[i % len(PAUSE_PERSONAS)] for i in range(pause_calls)]
    try:
        for system in systems:
            servers[system] = start_server(system)
        with CallFleet([*BENCH_PERSONAS, *WARMUP_PERSONAS, *sorted(set(pause_personas))]) as fleet:
            meta.update(fleet.info)
            for system in systems:
                warm_up(fleet, servers[system])
            meta["load_before"] = machine()["load_average"]
            for i in range(calls_per_system):
                persona = BENCH_PERSONAS[i % len(BENCH_PERSONAS)]
                _measure(fleet, servers, persona, collected, f"call {i + 1}/{calls_per_system}")
            for persona in pause_personas:
                _measure(fleet, servers, persona, pauses, f"pause persona {Path(persona).stem}")
            meta["load_after"] = machine()["load_average"]
    finally:
        for server in servers.values():
            server.stop()
    meta["calls_per_system"] = calls_per_system
    meta["pause_calls_per_system"] = pause_calls
    results = build_results(collected, meta, pauses)
    write_json("latency.json", results, results_dir)
    write_text("latency.md", markdown(results), results_dir)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=4, help="measured calls per system (personas alternate)")
    parser.add_argument(
        "--pause-calls",
        type=int,
        default=len(PAUSE_PERSONAS),
        help="calls per system over the pause-heavy personas (0: none)",
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: closerr,pipecat_baseline")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown system(s): {', '.join(sorted(unknown))}")
    exit_on_sigterm()
    results = run(args.calls, systems, args.results, args.pause_calls)
    for system in systems:
        r = results[system]
        pauses = r.get("pauses") or {}
        print(
            f"{system}: v2v p50 {fmt(r['v2v_p50_s'])} s, p95 {fmt(r['v2v_p95_s'])} s over {r['turns']} turns, "
            f"cut-ins {r.get('cut_in_rate')}; pause-heavy: cut-ins {pauses.get('cut_in_rate')}, "
            f"v2v p50 {fmt(pauses.get('v2v_p50_s'))} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

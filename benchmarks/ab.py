"""A/B: the engine of two code trees side by side, for a lever that has no switch (not part of ``make bench``).

Both trees' engines are started (each from its own checkout; ``--base`` is a ``git worktree`` of the commit to
compare against), warmed up, then take the same batch of N simultaneous calls in turn, alternating, ``--rounds``
times per N, so that background load falls on both alike. Reports per tree and N the medians over the rounds of the
engine's CPU-seconds per call-minute, speech-to-text runs per lead turn, caller-side voice-to-voice p50/p95, and the
sums of engine underruns, caller-heard gaps and failed calls; and the ratio of the CPU per call-minute (this tree
over the base).

Writes ``benchmarks/results/ab.json`` and ``ab.md``.

    git worktree add /tmp/base <commit> && ln -s "$PWD/.venv" /tmp/base/.venv
    .venv/bin/python -m benchmarks.ab --base /tmp/base --calls 24,40 --rounds 2
    .venv/bin/python -m benchmarks.ab --base . --env CLOSERR_VAD_STOP_S=0.25    # a setting against its default
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.call_batch import BENCH_PERSONAS, WARMUP_PERSONAS, run_batch, warm_up
from benchmarks.call_fleet import CallFleet
from benchmarks.capacity import plan
from benchmarks.report import RESULTS, exit_on_sigterm, fmt, machine, table, write_json, write_text
from benchmarks.servers import Server, settle, start_server

TREES = ("base", "this")


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """The engine server is started with ``python -m``, which imports from the working directory: the tree's."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def git_rev(path: Path) -> str:
    out = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


def combine(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One tree at one N: medians over the rounds, sums of the counts."""

    def median(key: str) -> float | None:
        values = [float(s[key]) for s in steps if s.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    for s in steps:
        if s.get("stt_requests") is not None and s.get("turns"):
            s["stt_runs_per_turn"] = s["stt_requests"] / s["turns"]
    return {
        "rounds": len(steps),
        "cpu_s_per_call_minute": median("engine_cpu_s_per_call_minute"),
        "stt_runs_per_turn": median("stt_runs_per_turn"),
        "engine_cpu_cores": median("engine_cpu_cores"),
        "v2v_p50_s": median("v2v_p50_s"),
        "v2v_p95_s": median("v2v_p95_s"),
        "stt_queue_p95_s": median("stt_queue_p95_s"),
        "underruns": sum(int(s.get("underruns") or 0) for s in steps),
        "caller_gaps": sum(int(s.get("caller_gaps") or 0) for s in steps),
        "failed_calls": sum(int(s.get("failed_calls") or 0) for s in steps),
    }


def ratio(this: float | None, base: float | None) -> float | None:
    return round(this / base, 3) if this is not None and base else None


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    header = ["calls", "tree", "CPU s per call-min", "CPU cores", "STT runs per turn", "v2v p50", "v2v p95"]
    header += ["STT queue p95"]
    header += ["underruns", "gaps", "failed"]
    rows = []
    for n, by_tree in results["steps"].items():
        for tree in TREES:
            s = by_tree[tree]
            rows.append([n, f"{tree} ({meta['revs'][tree]})", s["cpu_s_per_call_minute"], s["engine_cpu_cores"]])
            rows[-1].append(s["stt_runs_per_turn"])
            rows[-1] += [s["v2v_p50_s"], s["v2v_p95_s"], s["stt_queue_p95_s"], s["underruns"], s["caller_gaps"]]
            rows[-1].append(s["failed_calls"])
    ratios = ", ".join(f"x{fmt(r, 3)} at {n} calls" for n, r in results["cpu_ratio"].items())
    return (
        "# A/B: two code trees side by side\n\n"
        f"Run {meta.get('date_utc')}, {meta.get('cpus')} CPUs, load average before {meta.get('load_before')} / after "
        f"{meta.get('load_after')}. Batches of N simultaneous calls alternate between the trees, "
        f"{meta.get('rounds')} rounds per N; medians over the rounds, counts summed. Settings: "
        f"{meta.get('envs') or 'defaults'}.\n\n"
        + table(header, rows)
        + f"\nCPU per call-minute, this tree over the base: {ratios}.\n"
    )


def run(
    base: Path, calls: list[int], rounds: int, results_dir: Path, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """``envs``: settings per tree (``CLOSERR_...``), for a lever that is a setting: the same tree twice."""
    here = Path(__file__).resolve().parent.parent
    paths = {"base": base.resolve(), "this": here}
    envs = envs or {}
    meta = machine()
    meta.update(rounds=rounds, revs={tree: git_rev(path) for tree, path in paths.items()}, envs=envs)
    servers: dict[str, Server] = {}
    raw: dict[int, dict[str, list[dict[str, Any]]]] = {n: {t: [] for t in TREES} for n in calls}
    try:
        for tree in TREES:
            with working_directory(paths[tree]):
                servers[tree] = start_server("closerr", env=envs.get(tree))
        with CallFleet([*BENCH_PERSONAS, *WARMUP_PERSONAS]) as fleet:
            for tree in TREES:
                warm_up(fleet, servers[tree])
                settle(servers[tree])
            meta["load_before"] = machine()["load_average"]
            for n in calls:
                for index in range(rounds):
                    # Alternate which tree goes first, so neither always follows the other's tail.
                    for tree in TREES if index % 2 == 0 else TREES[::-1]:
                        step, _, _ = run_batch(fleet, servers[tree], plan("closerr", n))
                        raw[n][tree].append(step)
                        print(
                            f"ab: {tree} {n} calls: cpu/call-min {fmt(step.get('engine_cpu_s_per_call_minute'))} "
                            f"p95 {fmt(step['v2v_p95_s'])} underruns {step['underruns']} failed {step['failed_calls']}",
                            flush=True,
                        )
                        settle(servers[tree])
            meta["load_after"] = machine()["load_average"]
    finally:
        for server in servers.values():
            server.stop()
    steps = {n: {tree: combine(raw[n][tree]) for tree in TREES} for n in calls}
    results = {
        "steps": steps,
        "cpu_ratio": {
            n: ratio(s["this"]["cpu_s_per_call_minute"], s["base"]["cpu_s_per_call_minute"]) for n, s in steps.items()
        },
        "raw": raw,
        "meta": meta,
    }
    write_json("ab.json", results, results_dir)
    write_text("ab.md", markdown(results), results_dir)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="a checkout (git worktree) of the base commit")
    parser.add_argument("--calls", default="24,40", help="comma-separated N of simultaneous calls")
    parser.add_argument("--rounds", type=int, default=2, help="batches per tree and N")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for this tree's engine (repeatable)")
    parser.add_argument("--base-env", action="append", default=[], help="KEY=VALUE for the base's engine")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        calls = [int(n) for n in args.calls.split(",") if n]
    except ValueError:
        parser.error("--calls takes comma-separated whole numbers")
    if not calls or min(calls) < 1 or args.rounds < 1:
        parser.error("--calls >= 1 and --rounds >= 1")
    if not (args.base / "closerr").is_dir():
        parser.error(f"--base {args.base} is not a checkout of this project")
    envs: dict[str, dict[str, str]] = {}
    for tree, pairs in (("this", args.env), ("base", args.base_env)):
        if any("=" not in pair for pair in pairs):
            parser.error("--env and --base-env take KEY=VALUE")
        envs[tree] = dict(pair.split("=", 1) for pair in pairs)
    exit_on_sigterm()
    results = run(args.base, calls, args.rounds, args.results, envs)
    for n, r in results["cpu_ratio"].items():
        print(f"ab: {n} calls: CPU per call-minute this/base x{fmt(r, 3)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

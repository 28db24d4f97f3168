"""One batch of simulated calls against one server, and its summary: the unit both benchmarks are built from.

``run_batch`` places the calls through the caller process while sampling the server's memory and CPU, then
fetches every call's record from the server for the stage breakdown. ``summarize`` turns callers' measurements and
records into the numbers the results files hold; it is pure, so the tests exercise it without a server.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import psutil

from benchmarks.call_fleet import CallFleet, CallSpec
from benchmarks.prom_scrape import scrape, step_metrics
from benchmarks.script_replies import reply_lines
from benchmarks.servers import ResourceSampler, Server, load_average, settle
from benchmarks.stats import distribution, rounded, stage_medians
from config.settings import get_settings
from engine.simulator.persona import load_persona
from engine.simulator.run import custom_parameters

PERSONAS = Path(__file__).parent / "personas"
BENCH_PERSONAS = [str(PERSONAS / "car_short.yaml"), str(PERSONAS / "solar_short.yaml")]
# Leads who pause inside their turns (lists, slow numbers, hesitations, afterthoughts) and some who answer fast:
# what premature cut-ins are counted on.
PAUSE_PERSONAS = sorted(str(p) for p in (PERSONAS / "pauses").glob("*.yaml"))
WARMUP_PERSONA = str(PERSONAS / "warmup.yaml")
# One short call per script, together: models touched and each script's fixed lines cached, as in steady state.
WARMUP_PERSONAS = [WARMUP_PERSONA, str(PERSONAS / "warmup_car.yaml")]


@cache
def _custom(system: str, persona_path: str) -> tuple[tuple[str, str], ...]:
    persona = load_persona(persona_path)
    params = custom_parameters(persona)
    if system == "pipecat_baseline":
        params["bench_replies"] = json.dumps(reply_lines(persona))
    return tuple(params.items())


def call_spec(system: str, persona_path: str, start_delay_s: float = 0.0) -> CallSpec:
    return CallSpec(persona_path, dict(_custom(system, persona_path)), round(start_delay_s, 3))


def run_batch(
    fleet: CallFleet, server: Server, lines: list[list[CallSpec]]
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any] | None]]:
    """Run ``lines`` of calls against ``server``: the summary with the server's resource use over the batch, the
    callers' raw measurements and the calls' records."""
    load_before = load_average()
    rss_before = server.rss_mb()
    cpu_before = server.cpu_s()
    fleet_proc = psutil.Process(fleet.pid)
    fleet_cpu_before = sum(fleet_proc.cpu_times()[:2])
    metrics_before = scrape(server.base_url)
    started = time.monotonic()
    with ResourceSampler(server.pid) as rss:
        run = fleet.run(server.ws_url, lines)
    wall = time.monotonic() - started
    settings = get_settings()  # the server was started with the same environment
    engine_metrics = step_metrics(
        metrics_before,
        scrape(server.base_url),
        wall,
        tts_workers=settings.tts_workers,
        stt_workers=settings.stt_workers,
    )
    engine_cpu = server.cpu_s() - cpu_before
    fleet_cpu = sum(fleet_proc.cpu_times()[:2]) - fleet_cpu_before
    settle(server)
    rss_after = server.rss_mb()
    records = server.records([c["call_id"] for c in run["calls"]])
    summary = summarize(run["calls"], records)
    summary.update(
        {
            "wall_s": round(wall, 1),
            "rss_before_mb": round(rss_before, 1),
            "rss_mb": rss.peak_mb,  # peak resident memory while the calls ran
            "rss_mean_mb": rss.mean_mb,
            "rss_after_mb": round(rss_after, 1),
            "engine_cpu_cores": round(engine_cpu / wall, 3) if wall else None,
            "engine_cpu_s_per_call_minute": cpu_per_call_minute(engine_cpu, records),
            "caller_cpu_cores": round(fleet_cpu / wall, 3) if wall else None,
            "caller_loop_lag_p99_ms": run.get("caller_loop_lag_p99_ms"),
            "caller_loop_lag_max_ms": run.get("caller_loop_lag_max_ms"),
            "load_before": load_before,
            "load_after": load_average(),
            **engine_metrics,
        }
    )
    if run.get("error"):
        summary["fleet_error"] = run["error"]
    return summary, run["calls"], records


def cpu_per_call_minute(cpu_s: float, records: dict[str, dict[str, Any] | None]) -> float | None:
    """The engine's CPU-seconds over the minutes its calls lasted (from the records): the cost of a call-minute
    whatever the number of calls at once."""
    minutes = sum(float(r.get("duration_s") or 0) for r in records.values() if r) / 60
    return round(cpu_s / minutes, 2) if minutes else None


def warm_up(fleet: CallFleet, server: Server) -> None:
    """Unmeasured calls before a measurement (the fleet must know ``WARMUP_PERSONAS``)."""
    run_batch(fleet, server, [[call_spec(server.system, p)] for p in WARMUP_PERSONAS])
    settle(server, 3.0)  # the scripts' fixed lines finish synthesizing in the background


def summarize(calls: list[dict[str, Any]], records: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """Caller-side v2v percentiles, stage medians from the records, underruns, gaps and failures."""
    v2v = [float(v) for c in calls for v in c.get("v2v_s", [])]
    turns = [t for r in records.values() if r for t in r.get("turns", [])]
    underruns = [r.get("underruns") for r in records.values() if r]
    errors = [
        c.get("error") or (records.get(c["call_id"]) or {}).get("error") or None
        for c in calls
        if c.get("error") or not records.get(c["call_id"]) or (records.get(c["call_id"]) or {}).get("error")
    ]
    outcomes: dict[str, int] = {}
    for record in records.values():
        key = str(record.get("outcome", "error")) if record else "no_record"
        outcomes[key] = outcomes.get(key, 0) + 1
    out: dict[str, Any] = {
        "calls": len(calls),
        "turns": len(v2v),
        **distribution(v2v, "v2v"),
        "v2v_mean_s": rounded(sum(v2v) / len(v2v)) if v2v else None,
        **stage_medians(turns),
        # The engine counts playout underruns; the baseline (pipecat) keeps no such count: None there.
        "underruns": sum(u for u in underruns if u is not None) if any(u is not None for u in underruns) else None,
        "caller_gaps": sum(int(c.get("gaps", 0)) for c in calls),
        **cut_ins(calls),
        "failed_calls": len(errors),
        "errors": sorted({str(e) for e in errors if e})[:5],
        "outcomes": outcomes,
    }
    return out


def cut_ins(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """How often the bot started speaking before the lead had finished a turn (its share of the lead's turns)."""
    turns = sum(int(c.get("lead_turns", 0)) for c in calls)
    cuts = sum(int(c.get("cut_ins", 0)) for c in calls)
    return {"lead_turns": turns, "cut_ins": cuts, "cut_in_rate": round(cuts / turns, 4) if turns else None}

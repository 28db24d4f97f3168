"""The benchmark harness's arithmetic and result files, on made-up measurements (no servers, no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import __main__ as bench_main
from benchmarks import ab, capacity, latency, soak
from benchmarks.call_batch import BENCH_PERSONAS, call_spec, cpu_per_call_minute, summarize
from benchmarks.pipecat_baseline import TurnTimes
from benchmarks.report import table, write_json
from benchmarks.script_replies import reply_lines
from benchmarks.stats import distribution, fit_slope, stage_medians
from engine.simulator.persona import load_persona
from engine.simulator.run import lead_lines


def _turn(v2v: float, stt_queue: float = 0.0) -> dict[str, Any]:
    return {"endpoint_s": v2v - 0.05, "stt_s": 0.3, "policy_s": 0.001, "tts_s": 0.01, "v2v_s": v2v,
            "stt_queue_s": stt_queue}  # fmt: skip


def _calls_and_records(v2vs: list[list[float]], underruns: int | None = 0) -> tuple[list[dict[str, Any]], dict]:
    calls = [{"call_id": f"c{i}", "v2v_s": v, "gaps": 0, "error": None} for i, v in enumerate(v2vs)]
    records = {
        f"c{i}": {"call_id": f"c{i}", "outcome": "qualified", "turns": [_turn(x) for x in v], "underruns": underruns}
        for i, v in enumerate(v2vs)
    }
    return calls, records


def test_distribution_interpolates_between_ranks() -> None:
    values = [float(x) for x in range(1, 101)]  # 1..100
    d = distribution(values, "v2v")
    assert d["v2v_p50_s"] == 50.5
    assert d["v2v_p95_s"] == pytest.approx(95.05)
    assert d["v2v_p99_s"] == pytest.approx(99.01)
    assert d["v2v_max_s"] == 100.0
    assert distribution([], "v2v") == {"v2v_p50_s": None, "v2v_p95_s": None, "v2v_p99_s": None, "v2v_max_s": None}
    assert distribution([0.4], "v2v")["v2v_p95_s"] == 0.4


def test_stage_medians_skip_missing_values() -> None:
    turns = [_turn(0.4, 0.0), _turn(0.6, 0.2), {"v2v_s": 0.5, "stt_queue_s": None}]
    medians = stage_medians(turns)
    assert medians["engine_v2v_p50_s"] == 0.5
    assert medians["stt_p50_s"] == 0.3
    assert medians["stt_queue_p50_s"] == 0.1
    assert medians["vad_stop_p50_s"] is None


def test_fit_slope() -> None:
    assert fit_slope([1, 2, 4, 8], [500, 510, 530, 570]) == pytest.approx(10.0)
    assert fit_slope([1], [500]) is None
    assert fit_slope([2, 2], [1, 3]) is None


def test_summarize_counts_turns_failures_and_underruns() -> None:
    calls, records = _calls_and_records([[0.4, 0.5], [0.45]], underruns=1)
    calls.append({"call_id": "lost", "v2v_s": [], "gaps": 2, "error": "ConnectionClosed: 1013"})
    summary = summarize(calls, {**records, "lost": None})
    assert summary["calls"] == 3
    assert summary["turns"] == 3
    assert summary["v2v_p50_s"] == 0.45
    assert summary["underruns"] == 2
    assert summary["caller_gaps"] == 2
    assert summary["failed_calls"] == 1
    assert summary["errors"] == ["ConnectionClosed: 1013"]
    assert summary["outcomes"] == {"qualified": 2, "no_record": 1}


def test_cut_ins_are_a_share_of_the_leads_turns() -> None:
    calls, records = _calls_and_records([[0.4, 0.5], [0.45]])
    calls[0].update(lead_turns=5, cut_ins=1)
    calls[1].update(lead_turns=3, cut_ins=0)
    summary = summarize(calls, records)
    assert (summary["lead_turns"], summary["cut_ins"], summary["cut_in_rate"]) == (8, 1, 0.125)
    assert summarize([], {})["cut_in_rate"] is None


def test_latency_reports_the_pause_heavy_personas_cut_ins() -> None:
    fast = _calls_and_records([[0.4, 0.45, 0.5] * 7])
    slow = _calls_and_records([[1.4, 1.5, 1.6] * 7], underruns=None)
    eager = _calls_and_records([[0.3, 0.35]])
    eager[0][0].update(lead_turns=10, cut_ins=2)
    patient = _calls_and_records([[1.5, 1.6]], underruns=None)
    patient[0][0].update(lead_turns=10, cut_ins=0)
    results = latency.build_results(
        {"closerr": fast, "pipecat_baseline": slow}, {}, {"closerr": eager, "pipecat_baseline": patient}
    )
    assert results["closerr"]["pauses"]["cut_in_rate"] == 0.2
    assert results["pipecat_baseline"]["pauses"]["cut_in_rate"] == 0.0
    text = latency.markdown(results)
    assert "## Pause-heavy personas" in text
    assert "| cut-in rate | 0.200 | 0.000 |" in text


def test_summarize_baseline_without_underrun_count() -> None:
    calls, records = _calls_and_records([[1.5]], underruns=None)
    assert summarize(calls, records)["underruns"] is None


def test_latency_results_and_markdown(tmp_path: Path) -> None:
    fast = _calls_and_records([[0.4, 0.45, 0.5] * 7])
    slow = _calls_and_records([[1.4, 1.5, 1.6] * 7], underruns=None)
    results = latency.build_results({"closerr": fast, "pipecat_baseline": slow}, {"cpus": 2, "git_rev": "abc"})
    assert results["closerr"]["turns"] == 21
    assert results["closerr"]["v2v_p50_s"] == 0.45
    assert results["pipecat_baseline"]["v2v_p50_s"] == 1.5
    assert results["baseline_over_closerr"]["v2v_p50"] == pytest.approx(3.33)
    assert results["closerr_meets_target"] is True
    path = write_json("latency.json", results, tmp_path)
    assert json.loads(path.read_text())["pipecat_baseline"]["turns"] == 21
    text = latency.markdown(results)
    assert "| v2v p50 (s) | 0.450 | 1.500 |" in text
    assert "meets the target" in text


def _step(calls: int, p95: float, rss: float, underruns: int | None = 0, **extra: Any) -> dict[str, Any]:
    return {"calls": calls, "turns": 6 * calls, "v2v_p50_s": p95 / 2, "v2v_p95_s": p95, "v2v_p99_s": p95 * 1.1,
            "underruns": underruns, "caller_gaps": 0, "failed_calls": 0, "rss_mb": rss, "rss_after_mb": rss - 5,
            "engine_cpu_cores": calls / 16, "stt_queue_p50_s": 0.01 * calls, "stt_p50_s": 0.3, "tts_p50_s": 0.01,
            "endpoint_p50_s": 0.5, **extra}  # fmt: skip


def test_capacity_limit_memory_and_saturation() -> None:
    steps = [_step(1, 0.6, 500), _step(2, 0.65, 510), _step(4, 0.7, 530), _step(8, 1.3, 570)]
    assert capacity.largest_passing(steps, 1.0) == 4
    assert capacity.largest_passing([_step(1, 0.6, 500, underruns=3)], 1.0) is None
    assert capacity.step_ok(_step(1, 0.6, 500, underruns=None), 1.0)  # baseline: no engine count
    # The sweep goes on through engine underruns the caller did not hear; the target does not.
    noisy = [_step(1, 0.6, 500, underruns=2), _step(2, 0.7, 505), _step(4, 0.8, 510, caller_gaps=1)]
    assert capacity.largest_passing(noisy, 1.0) is None
    assert capacity.largest_passing(noisy, 1.0, capacity.step_audible_ok) == 2
    memory = capacity.memory_summary(steps, idle_mb=490.0, final_mb=500.0)
    assert memory["mb_per_extra_call"] == pytest.approx(10.0)
    assert memory["meets_mb_per_call"] is True
    assert memory["final_over_idle"] == pytest.approx(0.0204, abs=1e-4)
    assert memory["returns_to_idle"] is True
    notes = capacity.saturation(steps, 1.0, cores=2)
    assert notes[0].startswith("server CPU at 8 calls: 0.50 of 2")
    assert notes[1].startswith("STT queue wait p50 0.010 s -> 0.080 s")


def test_capacity_files(tmp_path: Path) -> None:
    steps = [_step(1, 0.6, 500), _step(2, 0.65, 510)]
    base = [_step(1, 2.0, 700, underruns=None), _step(2, 5.0, 1400, underruns=None)]
    results: dict[str, Any] = {"closerr": steps, "pipecat_baseline": base}
    results["summary"] = {
        system: {
            "limit_s": limit,
            "largest_passing_calls": capacity.largest_passing(results[system], limit),
            "stopped": "sweep end",
            "memory": capacity.memory_summary(results[system], 480.0, 490.0),
            "saturation": capacity.saturation(results[system], limit, 2),
            "meets_target": False,
        }
        for system, limit in (("closerr", 1.0), ("pipecat_baseline", 4.0))
    }
    results["meta"] = {"cpus": 2}
    text = capacity.markdown(results)
    assert "**2**" in text and "**1**" in text
    latency_png = capacity.plot_latency(results, 1.0, tmp_path / "lat.png")
    memory_png = capacity.plot_memory(results, tmp_path / "mem.png")
    assert latency_png.read_bytes()[:4] == b"\x89PNG"
    assert memory_png.read_bytes()[:4] == b"\x89PNG"


def test_capacity_plan_spreads_starts_and_alternates_personas() -> None:
    lines = capacity.plan("closerr", 4, spread_s=4.0)
    assert [line[0].start_delay_s for line in lines] == [0.0, 1.0, 2.0, 3.0]
    assert [line[0].persona for line in lines] == [*BENCH_PERSONAS, *BENCH_PERSONAS]
    assert all(len(line) == 1 for line in lines)


def test_baseline_gets_the_script_policys_lines() -> None:
    persona = load_persona(BENCH_PERSONAS[1])
    lines = reply_lines(persona)
    assert len(lines) == len(lead_lines(persona)) + 1
    assert lines[0].startswith("Hello Ravi Kumar")
    assert lines[-1].endswith("Goodbye.")
    spec = call_spec("pipecat_baseline", BENCH_PERSONAS[1])
    assert json.loads(spec.custom["bench_replies"]) == lines
    assert "bench_replies" not in call_spec("closerr", BENCH_PERSONAS[1]).custom


def test_baseline_turn_stages() -> None:
    turn = TurnTimes(last_voiced=10.0, vad_stop=10.7, transcript=11.5, reply=11.5, tts_first_audio=11.9)
    turn.out_first_audio = 11.95
    stages = turn.latency()
    assert stages["vad_stop_s"] == 0.7
    assert stages["stt_s"] == 0.8
    assert stages["endpoint_s"] == 1.5
    assert stages["tts_s"] == 0.4
    assert stages["v2v_s"] == 1.95
    assert TurnTimes(last_voiced=1.0).latency()["v2v_s"] is None


def test_table_formats_missing_values() -> None:
    assert table(["a", "b"], [[1, None], [0.12345, "x"]]) == "| a | b |\n|---|---|\n| 1 | – |\n| 0.123 | x |\n"


def test_main_lists_and_rejects_unknown_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"latency", "capacity"} <= set(bench_main.available())
    assert bench_main.main(["no_such_benchmark"]) == 2
    assert "unknown or missing" in capsys.readouterr().out


def test_main_goes_on_after_a_failing_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def fake_run(name: str) -> tuple[int, float]:
        ran.append(name)
        return (1 if name == "latency" else 0), 0.1

    monkeypatch.setattr(bench_main, "run_one", fake_run)
    monkeypatch.setattr(bench_main, "exit_on_sigterm", lambda: None)  # leave pytest's signal handling alone
    assert bench_main.main(["latency", "capacity"]) == 1
    assert ran == ["latency", "capacity"]


def test_engine_metrics_from_two_scrapes() -> None:
    from benchmarks.prom_scrape import histogram_quantile, step_metrics

    def hist(name: str, counts: list[float], total: float, **labels: str) -> dict:
        base = tuple(sorted(labels.items()))
        out = {(f"{name}_bucket", tuple(sorted({**labels, "le": le}.items()))): c
               for le, c in zip(["0.01", "0.1", "1.0", "+Inf"], counts, strict=True)}  # fmt: skip
        out[(f"{name}_sum", base)] = total
        out[(f"{name}_count", base)] = counts[-1]
        return out

    before = {
        **hist("closerr_inference_seconds", [0, 0, 2, 2], 0.6, model="stt"),
        **hist("closerr_event_loop_lag_seconds", [10, 10, 10, 10], 0.01),
    }
    after = {
        **hist("closerr_inference_seconds", [0, 0, 12, 12], 5.6, model="stt"),
        **hist("closerr_inference_queue_wait_seconds", [10, 15, 20, 20], 2.0, model="stt"),
        **hist("closerr_event_loop_lag_seconds", [100, 108, 110, 110], 1.01),
        **hist("closerr_gc_pause_seconds", [3, 5, 5, 5], 0.2, generation="2"),  # the longest under 0.1 s
        **hist("closerr_gc_pause_seconds", [9, 9, 9, 9], 0.01, generation="0"),
    }
    m = step_metrics(before, after, wall_s=10.0)
    assert m["gc_full_collections"] == 5 and m["gc_full_pause_max_ms_le"] == 100.0
    assert m["stt_busy"] == 0.5
    assert step_metrics(before, after, wall_s=10.0, stt_workers=2)["stt_busy"] == 0.25
    assert m["stt_batches"] == 10
    assert m["stt_batch_mean_s"] == 0.5
    assert m["stt_requests_per_batch"] == 2.0
    assert m["stt_queue_wait_mean_s"] == 0.1
    assert m["loop_lag_mean_ms"] == 10.0
    assert m["loop_lag_p99_ms_le"] == 1000.0
    assert histogram_quantile(before, after, "closerr_event_loop_lag_seconds", 0.5) == 0.01
    assert step_metrics({}, {}, 10.0) == {}


def test_soak_verdict_on_drift_trend_and_failures() -> None:
    def window(ended_s: float, p95: float, rss: float, **extra: Any) -> dict[str, Any]:
        return {"ended_s": ended_s, "v2v_p95_s": p95, "rss_after_mb": rss, "calls": 48, "failed_calls": 0,
                "underruns": 0, "caller_gaps": 0, **extra}  # fmt: skip

    steady = [window(300 * (i + 1), 0.80 + 0.01 * (i % 2), 600 + 0.5 * i) for i in range(12)]
    good = soak.verdict(steady)
    assert good["meets_target"] and good["calls"] == 576
    assert good["rss_drift"] == pytest.approx(5.5 / 600, abs=1e-4)
    leaking = [window(300 * (i + 1), 0.8, 600 + 3 * i) for i in range(12)]  # 33 MiB over 600: 5.5 %
    assert not soak.verdict(leaking)["meets_rss_drift"]
    slowing = [window(300 * (i + 1), 0.8 + 0.02 * i, 600) for i in range(12)]  # +0.24 s per hour
    assert soak.verdict(slowing)["p95_trend_s_per_hour"] == pytest.approx(0.24, abs=1e-3)
    assert not soak.verdict(slowing)["meets_target"]
    assert not soak.verdict([*steady[:-1], window(3600, 0.8, 600, failed_calls=1)])["meets_target"]
    assert soak.verdict([]) == {"meets_target": False, "reason": "no window ran"}


def test_soak_markdown_puts_cut_ins_and_collector_pauses_beside_latency() -> None:
    window = {"calls": 192, "v2v_p50_s": 0.41, "v2v_p95_s": 0.56, "cut_ins": 3, "lead_turns": 1056, "underruns": 0,
              "caller_gaps": 0, "failed_calls": 0, "gc_full_collections": 24, "gc_full_pause_max_ms_le": 40.0,
              "ended_s": 300.0, "rss_after_mb": 397.4}  # fmt: skip
    results = {"windows": [window], "summary": soak.verdict([window]), "meta": {"lines": 24}}
    text = soak.markdown(results)
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert "| 0.560 | 3 of 1056 | 0 |" in row and "| 24 | 40.000 |" in row
    assert "cut-ins 3 of 1056 turns" in text


def test_soak_windows_keep_every_line_busy() -> None:
    lines = soak.window_plan(24, 300)
    assert len(lines) == 24 and all(len(line) == 8 for line in lines)  # 8 calls of ~37 s fill 5 minutes
    assert lines[0][0].start_delay_s == 0 and lines[-1][0].start_delay_s < soak.START_SPREAD_S
    assert all(call.start_delay_s == 0 for line in lines for call in line[1:])


def test_a_soak_window_holds_no_more_calls_than_the_engine_keeps_records_of() -> None:
    lines = soak.window_plan(40, 600)
    assert sum(len(line) for line in lines) <= soak.RECORDS_KEPT == 200
    assert all(len(line) == 5 for line in lines)


def test_cpu_per_call_minute_divides_by_the_minutes_the_calls_lasted() -> None:
    records = {"a": {"duration_s": 30.0}, "b": {"duration_s": 90.0}, "lost": None}
    assert cpu_per_call_minute(6.0, records) == 3.0  # 6 CPU-seconds over 2 call-minutes
    assert cpu_per_call_minute(6.0, {"lost": None}) is None


def test_ab_takes_medians_over_rounds_and_the_ratio_of_cpu_per_call_minute(tmp_path: Path) -> None:
    def step(cpu: float, p95: float, underruns: int = 0) -> dict[str, Any]:
        return {"engine_cpu_s_per_call_minute": cpu, "engine_cpu_cores": cpu / 2, "v2v_p50_s": 0.4,
                "v2v_p95_s": p95, "stt_queue_p95_s": 0.0, "underruns": underruns, "caller_gaps": 0,
                "failed_calls": 0, "stt_requests": 15, "turns": 10}  # fmt: skip

    base = ab.combine([step(2.0, 0.5), step(2.4, 0.7), step(2.2, 0.6)])
    this = ab.combine([step(1.1, 0.5, underruns=1), step(1.0, 0.4)])
    assert base["cpu_s_per_call_minute"] == 2.2 and base["v2v_p95_s"] == 0.6 and base["rounds"] == 3
    assert this["cpu_s_per_call_minute"] == 1.05 and this["underruns"] == 1 and this["stt_runs_per_turn"] == 1.5
    assert ab.ratio(this["cpu_s_per_call_minute"], base["cpu_s_per_call_minute"]) == pytest.approx(0.477, abs=1e-3)
    assert ab.ratio(None, 2.0) is None and ab.ratio(1.0, None) is None
    meta = {"revs": {"base": "aaa", "this": "bbb"}, "rounds": 2}
    text = ab.markdown({"steps": {24: {"base": base, "this": this}}, "cpu_ratio": {24: 0.477}, "meta": meta})
    assert "| 24 | base (aaa) | 2.2 |" in text.replace("2.200", "2.2") and "x0.477 at 24 calls" in text

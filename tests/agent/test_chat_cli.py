"""``closerr chat``: an agent script's policy on typed lead lines, interactive on stdin or in batch with --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from closerr.cli import app
from tests.agent.conftest import SCRIPTS_DIR

SOLAR = SCRIPTS_DIR / "demo_solar.yaml"
QUALIFIED_LINES = [
    "Yes, speaking.",
    "Yes, I am interested.",
    "Yes, I own it.",
    "About dhai hazaar rupees a month.",
    "Concrete.",
]


def chat(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["chat", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_chat_reads_typed_lines_from_stdin_and_prints_each_agent_line() -> None:
    # The real command in its own process, fed at the terminal's place.
    done = subprocess.run(
        [sys.executable, "-m", "closerr.cli", "chat", str(SOLAR)],
        input="\n".join(QUALIFIED_LINES) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    agent = [line for line in done.stdout.splitlines() if line.startswith("agent: ")]
    assert agent[0].startswith("agent: Hello Ravi Kumar, this is Priya, an AI assistant")
    assert "monthly electricity bill" in agent[3]
    assert "2500" in agent[4] or "2,500" in agent[4]  # the confirmation of "dhai hazaar"
    assert len(agent) == len(QUALIFIED_LINES) + 1
    assert "[call ended: qualified, ended by bot]" in done.stdout
    assert '"monthly_bill": 2500' in done.stdout


def test_chat_batch_json_reports_outcome_slots_opt_out_and_transcript(tmp_path: Path) -> None:
    lines = tmp_path / "lead.txt"
    lines.write_text("\n".join(QUALIFIED_LINES) + "\n", encoding="utf-8")
    code, out, _ = chat(str(SOLAR), "--lead-lines", str(lines), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["outcome"] == "qualified"
    assert result["ended_by"] == "bot"
    assert result["opted_out"] is False
    assert result["slots"] == {"interested": True, "owns_home": True, "monthly_bill": 2500, "roof_type": "concrete"}
    roles = [turn["role"] for turn in result["transcript"]]
    assert roles == ["bot", "lead"] * len(QUALIFIED_LINES) + ["bot"]
    assert [t["text"] for t in result["transcript"] if t["role"] == "lead"] == QUALIFIED_LINES
    assert set(result["transcript"][0]) == {"role", "text", "start_s", "end_s", "interrupted"}


def test_chat_batch_records_an_opt_out(tmp_path: Path) -> None:
    lines = tmp_path / "lead.txt"
    lines.write_text("Yes.\nPlease don't call me again.\n", encoding="utf-8")
    code, out, _ = chat(str(SOLAR), "--lead-lines", str(lines), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["opted_out"] is True
    assert result["outcome"] == "opted_out"


def test_chat_lines_running_out_is_the_lead_hanging_up_and_empty_lines_are_silences(tmp_path: Path) -> None:
    lines = tmp_path / "lead.txt"
    lines.write_text("Yes, speaking.\n\n", encoding="utf-8")
    code, out, _ = chat(str(SOLAR), "--lead-lines", str(lines))
    assert code == 0
    agent = [line for line in out.splitlines() if line.startswith("agent: ")]
    assert len(agent) > 2  # the greeting, the first question, then the answer to the silence
    assert "still there" in agent[2]
    assert "lead: Yes, speaking." in out
    assert "[call ended: hung_up, ended by lead]" in out


def test_chat_bad_script_exits_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = SOLAR.read_text(encoding="utf-8").replace("type: yes_no", "type: maybe", 1)
    assert text != SOLAR.read_text(encoding="utf-8")
    bad.write_text(text, encoding="utf-8")
    code, out, err = chat(str(bad), stdin="yes\n")
    assert code == 2
    assert "questions[0].type" in err
    assert "agent:" not in out


def test_chat_missing_unreadable_or_oversized_files_exit_2(tmp_path: Path) -> None:
    code, _, err = chat(str(tmp_path / "absent.yaml"))
    assert code == 2
    assert "cannot read" in err and "absent.yaml" in err

    code, _, err = chat(str(tmp_path))  # a directory
    assert code == 2
    assert "cannot read" in err

    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * 900_000)
    code, _, err = chat(str(huge))
    assert code == 2
    assert "longer than 200000 characters" in err

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name: x")
    code, _, err = chat(str(binary))
    assert code == 2
    assert "not UTF-8" in err

    code, _, err = chat(str(SOLAR), "--lead-lines", str(tmp_path / "no-lines.txt"))
    assert code == 2
    assert "cannot read" in err

    big_lines = tmp_path / "lines.txt"
    big_lines.write_bytes(b"yes\n" * 300_000)
    code, _, err = chat(str(SOLAR), "--lead-lines", str(big_lines))
    assert code == 2
    assert "larger than" in err


def test_chat_unknown_policy_exits_2() -> None:
    code, _, err = chat(str(SOLAR), "--policy", "oracle")
    assert code == 2
    assert "--policy" in err

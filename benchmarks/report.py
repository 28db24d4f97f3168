"""Writing results: JSON with the machine's state at the time, and small markdown tables."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the servers and the caller process a benchmark started are stopped too."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    """What a reader needs to judge the numbers: cores, load, commit (and whether the tree differed from it), the
    settings the environment overrode for the servers, when."""
    rev = _git("rev-parse", "--short", "HEAD")
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)benchmarks/results")
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_rev": rev or None,
        # A run on edited code or with settings overridden is not a run of the commit's defaults.
        "git_tree_changed": bool(changed),
        "settings_overridden": sorted(k for k in os.environ if k.startswith("CLOSERR_")),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(name: str, data: dict[str, Any], results: Path = RESULTS) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    path = results / name
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def write_text(name: str, text: str, results: Path = RESULTS) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    path = results / name
    path.write_text(text)
    return path


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"

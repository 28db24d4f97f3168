"""``closerr serve`` refuses bad arguments with a clear message and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", "serve", *args], capture_output=True, text=True, timeout=120
    )


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = _serve("--data-dir", str(not_a_dir))
    assert result.returncode == 2
    assert "is not a directory" in result.stderr


def test_port_out_of_range_is_refused() -> None:
    result = _serve("--port", "70000")
    assert result.returncode == 2
    assert "port" in (result.stderr + result.stdout).lower()

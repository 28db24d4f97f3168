"""Rewrite the README's configuration table from the settings model (run after adding a setting)."""

import re
import subprocess
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent / "README.md"
table = subprocess.run(
    [sys.executable, "-m", "closerr.cli", "config", "--markdown"], capture_output=True, text=True, check=True
).stdout.strip()
text = readme.read_text(encoding="utf-8")
text = re.sub(
    r"<!-- settings:start -->.*<!-- settings:end -->",
    lambda _: f"<!-- settings:start -->\n{table}\n<!-- settings:end -->",
    text,
    flags=re.S,
)
readme.write_text(text, encoding="utf-8")

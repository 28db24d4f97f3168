"""Imports run one way: engine never imports control_api; metrics imports nothing of ours; models and settings sit
at the bottom."""

import ast
from pathlib import Path

import pytest

OURS = {"closerr", "engine", "control_api", "metrics", "models"}
ALLOWED = {
    "engine": {"engine", "metrics", "models", "config.settings"},
    "metrics": {"metrics"},
    "models": {"models", "config.settings"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] in OURS}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_is_below_it(package):
    offenders = []
    for path in Path(package).rglob("*.py"):
        for module in imported_modules(path):
            if not any(module == ok or module.startswith(ok + ".") for ok in ALLOWED[package]):
                offenders.append(f"{path}: {module}")
    assert not offenders, offenders


def test_settings_imports_nothing_of_ours():
    assert imported_modules(Path("config/settings.py")) == set()

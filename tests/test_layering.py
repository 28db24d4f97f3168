"""The house rules, read from the code's own imports: every arrow points down, and nothing goes in a circle.

closerr/      the commands: read the environment, build everything, hand each layer what it needs
control_api/  talks to the engine only through engine.facade and engine.records
engine/       records at the bottom; telephony, audio and speech below agent and pipeline
config/, metrics/, models/  at the bottom: they import nothing above them
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("closerr", "config", "control_api", "engine", "metrics", "models")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations/versions" not in path.as_posix()
    }


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        yield target
        for alias in node.names:  # "from engine.agent import qualify": the module engine.agent.qualify
            yield f"{target}.{alias.name}"


@cache
def imports() -> dict[str, frozenset[str]]:
    """Each module of ours -> the modules of ours it imports (anywhere in it: top level, functions, TYPE_CHECKING)."""
    ours = modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in ours.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = set()
        for node in ast.walk(tree):
            for target in _imported(node, name, path.name == "__init__.py"):
                if target in ours and target != name:
                    found.add(target)
        graph[name] = frozenset(found)
    return graph


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(sources: tuple[str, ...], allowed: callable, exempt: tuple[str, ...] = ()) -> list[str]:  # type: ignore[valid-type]
    return sorted(
        f"{src} -> {dst}"
        for src, targets in imports().items()
        if _in(src, *sources) and not _in(src, *exempt)
        for dst in targets
        if not allowed(dst)  # type: ignore[operator]
    )


def test_the_import_graph_was_read() -> None:
    graph = imports()
    assert "engine.facade" in graph["control_api.app"]
    assert "engine.records" in graph["engine.facade"]
    assert len(graph) > 150


def test_nothing_imports_the_command_layer() -> None:
    assert _violations(("config", "control_api", "engine", "metrics", "models"), lambda d: not _in(d, "closerr")) == []


def test_config_metrics_and_models_import_nothing_above_them() -> None:
    assert _violations(("config",), lambda d: _in(d, "config")) == []
    assert _violations(("metrics",), lambda d: _in(d, "metrics")) == []
    assert _violations(("models",), lambda d: _in(d, "models")) == []


def test_the_control_api_reaches_the_engine_through_the_facade_and_records_only() -> None:
    allowed = ("engine.facade", "engine.records")
    assert _violations(("control_api",), lambda d: not _in(d, "engine") or d in allowed) == []


def test_the_engine_imports_neither_the_api_nor_the_settings() -> None:
    assert _violations(("engine",), lambda d: not _in(d, "control_api", "config", "closerr")) == []


def test_records_import_nothing_else_of_the_engine() -> None:
    assert _violations(("engine.records",), lambda d: not _in(d, "engine")) == []


@pytest.mark.parametrize("lower", ["engine.telephony", "engine.audio", "engine.speech"])
def test_transports_audio_and_speech_sit_below_agent_and_pipeline(lower: str) -> None:
    above = ("engine.agent", "engine.pipeline", "engine.call", "engine.services", "engine.facade", "engine.server")
    assert _violations((lower,), lambda d: not _in(d, *above)) == []


def test_the_agent_knows_no_pipeline_no_transport_and_no_pipecat() -> None:
    above = ("engine.pipeline", "engine.telephony", "engine.call", "engine.services", "engine.facade")
    assert _violations(("engine.agent",), lambda d: not _in(d, *above)) == []
    for name, path in modules().items():
        if _in(name, "engine.agent"):
            assert "pipecat" not in path.read_text(encoding="utf-8"), name


def test_only_the_engine_alone_server_sits_above_the_facade() -> None:
    users = {src for src, targets in imports().items() if "engine.facade" in targets and _in(src, "engine")}
    assert users <= {"engine.server"}


def _reads_our_environment(tree: ast.AST) -> bool:
    """``os.environ[...]``, ``os.environ.get(...)`` or ``os.getenv(...)`` of a ``CLOSERR_`` variable. (Libraries'
    own switches, such as prometheus_client's PROMETHEUS_MULTIPROC_DIR, are theirs to read.)"""
    for node in ast.walk(tree):
        key: ast.AST | None = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
            key = node.args[0] if node.args else None
        if isinstance(key, ast.Constant) and str(key.value).startswith("CLOSERR_"):
            return True
    return False


def test_only_the_commands_read_the_environment() -> None:
    for name, path in modules().items():
        if _in(name, "closerr", "config"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {ast.unparse(n.func).rsplit(".", 1)[-1] for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert "get_settings" not in called, f"{name} calls get_settings()"
        assert not _reads_our_environment(tree), f"{name} reads a CLOSERR_ variable"


def test_no_import_circles() -> None:
    graph = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    # A package's __init__ re-exporting its submodules is not a circle of the design.
    circles = [c for c in circles if not _only_package_reexports(c, graph)]
    assert circles == []


def _only_package_reexports(component: list[str], graph: dict[str, frozenset[str]]) -> bool:
    members = set(component)
    for src in component:
        for dst in graph[src] & members:
            if not (dst.startswith(src + ".") or src.startswith(dst + ".")):
                return False
    return True


def test_every_import_of_ours_names_a_module_that_exists() -> None:
    """mypy is told to ignore missing imports (for third-party packages without stubs), so a module moved away
    would go unnoticed there until the line ran."""
    ours = modules()
    missing = []
    for name, path in ours.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            missing += [f"{name}: {t}" for t in targets if t.split(".")[0] in PACKAGES and t not in ours]
    assert missing == []

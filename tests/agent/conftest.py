"""Fixtures of the agent tests: the two shipped scripts, and fresh policies over them (one per call)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.agent.script import AgentScript, demo_script, load_script_file
from engine.agent.script_policy import ScriptPolicy

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "engine" / "agent" / "scripts"


@pytest.fixture(scope="session")
def solar() -> AgentScript:
    return demo_script()


@pytest.fixture(scope="session")
def car() -> AgentScript:
    return load_script_file(SCRIPTS_DIR / "car_insurance.yaml")


@pytest.fixture
def solar_policy(solar: AgentScript) -> Callable[[], ScriptPolicy]:
    return lambda: ScriptPolicy(solar)


@pytest.fixture
def car_policy(car: AgentScript) -> Callable[[], ScriptPolicy]:
    return lambda: ScriptPolicy(car)

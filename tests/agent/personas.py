"""Persona files (tests/personas/*.yaml) read for the text-level and speech-level policy tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.agent.script import AgentScript, demo_script, load_script_file
from engine.records import Lead
from tests.agent.conversation import Silence, Turn

PERSONAS_DIR = Path(__file__).resolve().parents[1] / "personas"
PERSONAS = sorted(PERSONAS_DIR.glob("*.yaml"))
# Text-level only: near-word answers and Hindi a TTS voice and Whisper tiny.en would not reproduce as written.
TEXT_PERSONAS = sorted((PERSONAS_DIR / "text").glob("*.yaml"))
SILENCE_TIMEOUT_S = 7.0  # CLOSERR_LEAD_SILENCE_TIMEOUT_S default
PERSONA_KEYS = {"script", "lead", "voice", "answering_machine", "turns", "expect"}
TURN_KEYS = {"say", "barge_in_after_s", "silence_s", "hangup"}


def load_persona(path: Path) -> tuple[dict[str, Any], AgentScript]:
    persona = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(persona) <= PERSONA_KEYS, set(persona) - PERSONA_KEYS
    script = load_script_file(path.parent / persona["script"]) if "script" in persona else demo_script()
    return persona, script


def persona_turns(persona: dict[str, Any]) -> list[Turn]:
    turns: list[Turn] = []
    for turn in persona["turns"]:
        assert set(turn) <= TURN_KEYS, set(turn) - TURN_KEYS
        if turn.get("hangup"):
            break
        if "say" in turn:
            turns.append(str(turn["say"]))
        if "silence_s" in turn:
            # one silence timeout per SILENCE_TIMEOUT_S of quiet, plus ~3 s for the re-prompt to play
            turns += [Silence()] * max(1, int(float(turn["silence_s"]) // (SILENCE_TIMEOUT_S + 3)))
    return turns


def persona_lead(persona: dict[str, Any]) -> Lead:
    data = persona["lead"]
    return Lead(name=data["name"], phone=str(data["phone"]), metadata=data.get("metadata") or {})

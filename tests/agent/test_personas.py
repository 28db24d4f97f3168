"""Replays every persona in tests/personas/ (and tests/personas/text/) as TEXT through the script policy and checks
its ``expect:``.

The lead's end-to-end test runs the same files through real audio with ``closerr simulate``; this catches a
persona the policy could not satisfy even with a perfect transcript, in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.agent.script_policy import ScriptPolicy
from tests.agent.conversation import run_call
from tests.agent.personas import PERSONAS, TEXT_PERSONAS, load_persona, persona_lead, persona_turns


def test_there_are_enough_personas_over_both_scripts() -> None:
    scripts = {yaml.safe_load(p.read_text()).get("script", "demo") for p in PERSONAS}
    assert len(PERSONAS) >= 8
    assert len(scripts) >= 2
    outcomes = {yaml.safe_load(p.read_text())["expect"]["outcome"] for p in PERSONAS}
    assert outcomes >= {
        "qualified",
        "not_qualified",
        "opted_out",
        "callback_requested",
        "wrong_person",
        "voicemail",
        "no_response",
    }


@pytest.mark.parametrize("path", PERSONAS + TEXT_PERSONAS, ids=lambda p: p.stem)
async def test_persona_meets_its_expectation(path: Path) -> None:
    persona, script = load_persona(path)
    call = await run_call(ScriptPolicy(script), persona_turns(persona), lead=persona_lead(persona))
    expect = persona["expect"]
    assert call.outcome is not None and str(call.outcome) == expect["outcome"], call.said
    for name, value in (expect.get("slots") or {}).items():
        assert call.slots.get(name) == value, (name, call.slots)
    if "opted_out" in expect:
        assert call.opted_out is expect["opted_out"]
    lines = [turn for turn in persona["turns"] if "say" in turn]
    assert all(len(str(turn["say"]).split()) <= 14 for turn in lines)  # short, clearly spoken lines


def test_text_personas_cover_near_words_and_needs_review_on_their_own_script() -> None:
    personas = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in TEXT_PERSONAS]
    assert {Path(p["script"]).name for p in personas} == {"two_wheeler_loan.yaml"}
    outcomes = {p["expect"]["outcome"] for p in personas}
    assert {"qualified", "needs_review", "opted_out", "callback_requested"} <= outcomes

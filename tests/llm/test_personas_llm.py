"""The personas of tests/personas/ through the LLM policy: what the guard rails alone must guarantee.

- Model down (every request fails): the script policy answers every turn, so every persona still ends with
  exactly the outcome, slots and opt-out flag it expects. The model being down never changes a call's result.
- Model up but useless (it chats and never calls a tool): every opt-out persona still opts out, because the
  opt-out guard does not depend on the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.agent.llm_policy import LLMPolicy
from engine.agent.policy import EndCall, OptOut
from engine.agent.script_policy import ScriptPolicy
from engine.records import Outcome
from tests.agent.conversation import run_call
from tests.agent.personas import PERSONAS, load_persona, persona_lead, persona_turns
from tests.llm.fake_openai import FakeOpenAI, Reply, Step, text_reply

OPT_OUT_PERSONAS = [p for p in PERSONAS if yaml.safe_load(p.read_text())["expect"]["outcome"] == "opted_out"]


def test_there_are_opt_out_personas_to_replay() -> None:
    assert len(OPT_OUT_PERSONAS) >= 2


@pytest.mark.parametrize("path", PERSONAS, ids=lambda p: p.stem)
async def test_with_the_model_down_every_persona_gets_its_expected_result(path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(503, [Step(b'{"error": {"message": "down"}}')], content_type="application/json"))
    persona, script = load_persona(path)
    policy = LLMPolicy(script, ScriptPolicy(script), base_url=fake_openai.base_url, model="m")
    call = await run_call(policy, persona_turns(persona), lead=persona_lead(persona))
    await policy.aclose()
    expect = persona["expect"]
    assert str(call.outcome) == expect["outcome"], call.said
    for name, value in (expect.get("slots") or {}).items():
        assert call.slots.get(name) == value, (name, call.slots)
    if "opted_out" in expect:
        assert call.opted_out is expect["opted_out"]
    assert set(policy.stats.fallback_reasons) <= {"http_error"}
    assert all(reply for reply in call.replies)  # no policy call went without an action


@pytest.mark.parametrize("path", OPT_OUT_PERSONAS, ids=lambda p: p.stem)
async def test_a_chatty_model_cannot_talk_past_an_opt_out(path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["That is great to hear!", " Tell me more about your home."])[0])
    persona, script = load_persona(path)
    policy = LLMPolicy(script, ScriptPolicy(script), base_url=fake_openai.base_url, model="m")
    call = await run_call(policy, persona_turns(persona), lead=persona_lead(persona))
    await policy.aclose()
    assert call.opted_out
    assert call.outcome is Outcome.OPTED_OUT
    last = call.replies[-1]
    assert isinstance(last[0], OptOut) and last[-1] == EndCall(Outcome.OPTED_OUT)
    assert call.said[-1] == script.closing.opted_out
    assert policy.stats.opt_out_guard == 1
    # The model was asked on every lead turn before the opt-out and not on the opt-out turn itself.
    assert len(fake_openai.requests) == policy.stats.model_turns == len(call.replies) - 2

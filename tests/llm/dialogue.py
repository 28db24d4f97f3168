"""Drives a policy the way the turn manager does: greeting, lead turns, slots applied, history kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from engine.agent.llm_policy import LLMPolicy
from engine.agent.policy import Action, DialoguePolicy, PolicyContext, RecordSlot, Say, Utterance
from engine.agent.script import AgentScript, demo_script
from engine.agent.script_policy import ScriptPolicy
from engine.agent.slots import IST
from engine.records import Lead

CALL_STARTED = datetime(2026, 11, 27, 11, 0, tzinfo=IST)  # a Friday morning in India


def new_ctx() -> PolicyContext:
    return PolicyContext(lead=Lead("Ravi Kumar", "+919876543210"), call_started_at=CALL_STARTED)


def llm_policy(base_url: str, script: AgentScript | None = None, **kwargs: object) -> LLMPolicy:
    script = script or demo_script()
    options: dict[str, object] = {"model": "test-model", "first_token_timeout_s": 2.0, **kwargs}
    return LLMPolicy(script, ScriptPolicy(script), base_url=base_url, **options)  # type: ignore[arg-type]


async def drain(actions: AsyncIterator[Action], ctx: PolicyContext) -> list[Action]:
    out = [action async for action in actions]
    apply(ctx, out)
    return out


def apply(ctx: PolicyContext, actions: list[Action]) -> None:
    for action in actions:
        if isinstance(action, RecordSlot):
            ctx.slots[action.name] = action.value
        elif isinstance(action, Say):
            ctx.history.append(Utterance("bot", action.text))


async def greet(policy: DialoguePolicy, ctx: PolicyContext) -> list[Action]:
    return await drain(policy.greeting(ctx), ctx)


async def lead_says(policy: DialoguePolicy, ctx: PolicyContext, text: str) -> list[Action]:
    ctx.history.append(Utterance("lead", text))
    return await drain(policy.on_lead_turn(ctx, text), ctx)


def said(actions: list[Action]) -> list[str]:
    return [action.text for action in actions if isinstance(action, Say)]

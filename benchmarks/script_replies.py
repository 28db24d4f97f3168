"""The lines Closerr's script policy speaks to a benchmark persona, worked out offline from the persona's text.

The pipecat baseline has no dialogue policy; it is handed these lines so that both systems say the same words
and the comparison measures the pipelines, not the length of what they say.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from engine.agent.factory import make_policy
from engine.agent.policy import Action, PolicyContext, RecordSlot, Say, Utterance
from engine.records import Lead
from engine.simulator.persona import Persona
from engine.simulator.run import custom_parameters, lead_lines


async def _said(actions: AsyncIterator[Action], ctx: PolicyContext) -> str:
    words: list[str] = []
    async for action in actions:
        if isinstance(action, Say) and action.text.strip():
            words.append(action.text.strip())
        elif isinstance(action, RecordSlot):
            ctx.slots[action.name] = action.value
    return " ".join(words)


async def _reply_lines(persona: Persona) -> list[str]:
    import json

    params = custom_parameters(persona)
    script = json.loads(params["script"]) if "script" in params else None
    policy = make_policy(script, "script")
    ctx = PolicyContext(
        lead=Lead(persona.lead.name, persona.lead.phone, dict(persona.lead.metadata)),
        call_started_at=datetime.now(UTC),
    )
    lines = [await _said(policy.greeting(ctx), ctx)]
    ctx.history.append(Utterance("bot", lines[0]))
    for text in lead_lines(persona):
        ctx.history.append(Utterance("lead", text))
        reply = await _said(policy.on_lead_turn(ctx, text), ctx)
        ctx.history.append(Utterance("bot", reply))
        lines.append(reply or "Sorry, could you say that again?")
    return lines


def reply_lines(persona: Persona) -> list[str]:
    """The greeting, then one reply per ``say`` turn (the policy's ``Say`` actions of that turn, joined)."""
    return asyncio.run(_reply_lines(persona))

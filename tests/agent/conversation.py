"""Drives a DialoguePolicy with text instead of audio, the way the turn manager does, for fast policy tests.

A turn is a lead utterance (str), ``Silence()`` (the silence timeout fired) or ``Dtmf("1")``. The driver applies
``RecordSlot`` actions to the context and stops at the first ``EndCall``, like the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.agent.policy import (
    Action,
    DialoguePolicy,
    EndCall,
    OptOut,
    PolicyContext,
    RecordSlot,
    Say,
    ScheduleCallback,
    Utterance,
)
from engine.agent.slots import IST
from engine.records import Lead, Outcome

# Friday 27 November 2026, 11:00 IST: "tomorrow" is Saturday, "Monday" is 30 November.
CALL_TIME = datetime(2026, 11, 27, 11, 0, tzinfo=IST)
RAVI = Lead(name="Ravi Kumar", phone="+919812345678", metadata={"city": "Pune"})


@dataclass(frozen=True)
class Silence:
    pass


@dataclass(frozen=True)
class Dtmf:
    digit: str


Turn = str | Silence | Dtmf


@dataclass
class CallResult:
    actions: list[Action] = field(default_factory=list)
    replies: list[list[Action]] = field(default_factory=list)  # the actions of each policy call, greeting first
    ctx: PolicyContext | None = None

    @property
    def outcome(self) -> Outcome | None:
        ends = [a for a in self.actions if isinstance(a, EndCall)]
        return ends[-1].outcome if ends else None

    @property
    def slots(self) -> dict[str, Any]:
        return {a.name: a.value for a in self.actions if isinstance(a, RecordSlot)}

    @property
    def said(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, Say)]

    @property
    def opted_out(self) -> bool:
        return any(isinstance(a, OptOut) for a in self.actions)

    @property
    def callbacks(self) -> list[ScheduleCallback]:
        return [a for a in self.actions if isinstance(a, ScheduleCallback)]

    def last_said(self) -> str:
        return self.said[-1]


async def _collect(stream: Any) -> list[Action]:
    return [action async for action in stream]


async def run_call(
    policy: DialoguePolicy, turns: Sequence[Turn], lead: Lead = RAVI, now: datetime = CALL_TIME
) -> CallResult:
    ctx = PolicyContext(lead=lead, call_started_at=now)
    result = CallResult(ctx=ctx)

    def apply(actions: list[Action]) -> bool:
        result.replies.append(actions)
        result.actions.extend(actions)
        for action in actions:
            if isinstance(action, RecordSlot):
                ctx.slots[action.name] = action.value
            elif isinstance(action, Say):
                ctx.history.append(Utterance("bot", action.text))
        return any(isinstance(a, EndCall) for a in actions)

    if apply(await _collect(policy.greeting(ctx))):
        return result
    silences = 0
    for turn in turns:
        if isinstance(turn, Silence):
            silences += 1
            actions = await _collect(policy.on_silence(ctx, silences))
        elif isinstance(turn, Dtmf):
            actions = await _collect(policy.on_dtmf(ctx, turn.digit))
        else:
            silences = 0
            ctx.history.append(Utterance("lead", turn))
            actions = await _collect(policy.on_lead_turn(ctx, turn))
        if apply(actions):
            break
    return result

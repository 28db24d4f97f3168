"""Drives a DialoguePolicy with text instead of audio (``engine.agent.text_call``), for fast policy tests.

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
)
from engine.agent.slots import IST
from engine.agent.text_call import Dtmf, Silence, TextCall, Turn
from engine.records import Lead, Outcome

__all__ = ["CALL_TIME", "RAVI", "CallResult", "Dtmf", "Silence", "Turn", "run_call"]

# Friday 27 November 2026, 11:00 IST: "tomorrow" is Saturday, "Monday" is 30 November.
CALL_TIME = datetime(2026, 11, 27, 11, 0, tzinfo=IST)
RAVI = Lead(name="Ravi Kumar", phone="+919812345678", metadata={"city": "Pune"})


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


async def run_call(
    policy: DialoguePolicy, turns: Sequence[Turn], lead: Lead = RAVI, now: datetime = CALL_TIME
) -> CallResult:
    call = TextCall(policy, lead, now)
    await call.start()
    for turn in turns:
        if call.ended:
            break
        await call.take(turn)
    return CallResult(actions=call.actions, replies=call.replies, ctx=call.ctx)

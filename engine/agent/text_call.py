"""One call driven by text instead of audio: the lead's turns arrive as typed lines, and the policy's actions are
applied the way the turn manager applies them (slots into the context and the record, lines into the history,
the first ``EndCall`` ends the call). ``closerr chat`` and the policy tests drive a policy through it.

A turn is a lead utterance (str), ``Silence()`` (the silence timeout fired) or ``Dtmf("1")``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

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
from engine.records import CallRecord, Lead, Outcome, TranscriptTurn

__all__ = ["Dtmf", "Silence", "TextCall", "Turn"]


@dataclass(frozen=True)
class Silence:
    pass


@dataclass(frozen=True)
class Dtmf:
    digit: str


Turn = str | Silence | Dtmf


class TextCall:
    """One call of ``policy`` with ``lead``, started at ``now`` (aware; "tomorrow" is resolved from it). ``start``
    plays the greeting; each ``take`` hands one turn to the policy and returns the actions it answered with."""

    def __init__(self, policy: DialoguePolicy, lead: Lead, now: datetime, call_id: str = "text-call") -> None:
        self.policy = policy
        self.ctx = PolicyContext(lead=lead, call_started_at=now)
        self.record = CallRecord(call_id=call_id, started_at=now.astimezone(UTC).isoformat())
        self.actions: list[Action] = []
        self.replies: list[list[Action]] = []  # the actions of each policy call, greeting first
        self.ended = False
        self._silences = 0
        self._t0 = time.monotonic()

    async def start(self) -> list[Action]:
        return await self._apply(self.policy.greeting(self.ctx))

    async def take(self, turn: Turn) -> list[Action]:
        if self.ended:
            raise RuntimeError("the call has ended")
        if isinstance(turn, Silence):
            self._silences += 1
            return await self._apply(self.policy.on_silence(self.ctx, self._silences))
        if isinstance(turn, Dtmf):
            self.record.dtmf.append(turn.digit)
            return await self._apply(self.policy.on_dtmf(self.ctx, turn.digit))
        self._silences = 0
        self._transcribe("lead", turn)
        self.ctx.history.append(Utterance("lead", turn))
        return await self._apply(self.policy.on_lead_turn(self.ctx, turn))

    def hang_up(self) -> None:
        """The lead hung up (no more turns) before the policy ended the call."""
        if not self.ended:
            self._end(Outcome.HUNG_UP, "lead")

    async def _apply(self, stream: AsyncIterator[Action]) -> list[Action]:
        actions = [action async for action in stream]
        self.replies.append(actions)
        self.actions.extend(actions)
        for action in actions:
            if isinstance(action, Say):
                if action.text.strip():
                    self._transcribe("bot", action.text)
                    self.ctx.history.append(Utterance("bot", action.text))
            elif isinstance(action, RecordSlot):
                self.ctx.slots[action.name] = action.value
                self.record.slots[action.name] = action.value
            elif isinstance(action, OptOut):
                self.record.opted_out = True
            elif isinstance(action, ScheduleCallback):
                self.record.callback_at = action.at.isoformat() if action.at else None
                if action.note:
                    self.record.notes.append(action.note)
        ends = [a for a in actions if isinstance(a, EndCall)]
        if ends:
            self._end(ends[-1].outcome, "bot")
        return actions

    def _transcribe(self, role: str, text: str) -> None:
        at = round(time.monotonic() - self._t0, 3)
        self.record.transcript.append(TranscriptTurn(role, text, at, at))

    def _end(self, outcome: Outcome, ended_by: str) -> None:
        self.ended = True
        self.record.outcome = outcome
        self.record.ended_by = ended_by
        self.record.duration_s = round(time.monotonic() - self._t0, 3)

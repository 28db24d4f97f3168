"""Calls in progress that the console can show turn by turn.

The engine fills a ``CallRecord`` while a call runs; whoever starts a call (the console's test call, and the
dispatcher when it wants its calls on the live page) registers that record here, and the live page reads it.
Only this process's calls are visible: each API process serves the calls it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from engine.records import CallRecord


@dataclass
class LiveCall:
    call_id: str
    account_id: str
    campaign_id: str
    campaign_name: str
    kind: str  # "test" (browser) | "phone"
    record: CallRecord
    started_monotonic: float = field(default_factory=time.monotonic)
    ended: bool = False

    def view(self) -> dict[str, Any]:
        transcript = list(self.record.transcript)
        current = transcript[-1] if transcript else None
        return {
            "call_id": self.call_id,
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "kind": self.kind,
            "elapsed_s": round(time.monotonic() - self.started_monotonic, 1),
            "turns": len(transcript),
            "current_turn": None if current is None else {"role": current.role, "text": current.text},
            "transcript": [
                {"role": t.role, "text": t.text, "start_s": t.start_s, "interrupted": t.interrupted} for t in transcript
            ],
            "ended": self.ended,
            "outcome": str(self.record.outcome) if self.ended else None,
        }


class LiveCalls:
    """Registry of running calls, per process. Ended calls linger briefly so a page sees how they finished."""

    LINGER_S = 120.0

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._ended_at: dict[str, float] = {}

    def add(self, call: LiveCall) -> None:
        self._calls[call.call_id] = call

    def end(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.ended = True
            self._ended_at[call_id] = time.monotonic()

    def _expire(self) -> None:
        now = time.monotonic()
        for call_id, at in list(self._ended_at.items()):
            if now - at > self.LINGER_S:
                self._calls.pop(call_id, None)
                del self._ended_at[call_id]

    def get(self, account_id: str, call_id: str) -> LiveCall | None:
        self._expire()
        call = self._calls.get(call_id)
        return call if call is not None and call.account_id == account_id else None

    def running(self, account_id: str) -> list[LiveCall]:
        self._expire()
        return [c for c in self._calls.values() if c.account_id == account_id and not c.ended]


LIVE_CALLS = LiveCalls()

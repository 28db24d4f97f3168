"""Calls in progress that the console can show turn by turn.

The engine fills a ``CallRecord`` while a call runs. Browser test calls are registered here by the console; phone
calls (the dispatcher's) are read from the engine's call directory, which knows every call this process runs and
the account it belongs to. Only this process's calls are visible: each API process serves the calls it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from engine.facade import Engine
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
    """Registry of running calls, per app. Ended calls linger briefly so a page sees how they finished."""

    LINGER_S = 120.0

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine
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

    def _phone_calls(self, account_id: str) -> list[LiveCall]:
        calls: list[LiveCall] = []
        if self._engine is None:
            return calls
        for request, record in self._engine.directory.live(account_id):
            if request.call_id in self._calls:
                continue
            campaign = request.campaign_id or ""
            calls.append(LiveCall(request.call_id, account_id, campaign, f"campaign {campaign[:8]}", "phone", record))
        return calls

    def get(self, account_id: str, call_id: str) -> LiveCall | None:
        self._expire()
        call = self._calls.get(call_id)
        if call is not None:
            return call if call.account_id == account_id else None
        return next((c for c in self._phone_calls(account_id) if c.call_id == call_id), None)

    def running(self, account_id: str) -> list[LiveCall]:
        self._expire()
        own = [c for c in self._calls.values() if c.account_id == account_id and not c.ended]
        return own + self._phone_calls(account_id)

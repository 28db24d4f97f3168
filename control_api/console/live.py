"""Calls in progress that the console can show turn by turn.

Browser test calls run in this process: the console registers them here and reads the engine's ``CallRecord`` as
it fills. Phone calls (the dispatcher's) run on any worker process; each worker publishes their progress on the
lease rows (``control_api.dispatch.progress``) and the list reads it from there (``calls.service.live_calls``,
the same read as ``GET /v1/calls?state=live``), so the page shows every worker's calls of the account. The
transcript of one phone call, turn by turn, is known only to the process that runs it (``get``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.calls import service as calls_service
from control_api.calls.schemas import LiveCall as PublishedCall
from control_api.pagination import MAX_LIMIT
from control_api.storage.types import utcnow
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
            "state": "ended" if self.ended else ("talking" if transcript else "answered"),
            "worker_id": None,
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

    async def running(self, session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
        """Views of the account's calls in progress: this process's test calls, then every worker's phone calls."""
        self._expire()
        own = [c.view() for c in self._calls.values() if c.account_id == principal.account_id and not c.ended]
        published = await calls_service.live_calls(session, principal, 0, MAX_LIMIT)
        return own + [published_view(call, name) for call, name in published]


def published_view(call: PublishedCall, campaign_name: str) -> dict[str, Any]:
    """A phone call as its worker last published it, in the shape of ``LiveCall.view`` (no transcript: the worker
    publishes only the last line)."""
    line = call.last_line
    return {
        "call_id": call.id,
        "campaign_id": call.campaign_id,
        "campaign_name": campaign_name,
        "kind": "phone",
        "state": call.state,
        "worker_id": call.worker_id,
        "elapsed_s": round(max(0.0, (utcnow() - call.started_at).total_seconds()), 1),
        "turns": call.turns,
        "current_turn": None if line is None else {"role": line.role, "text": line.text},
        "transcript": [],
        "ended": False,
        "outcome": None,
    }

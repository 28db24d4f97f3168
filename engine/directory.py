"""Which call a new media stream belongs to, and where finished call records go.

The dispatcher ``expect``s a call (its request, with the lead and the agent script) before asking the carrier to
dial; the carrier's media stream then names the call id in its custom parameters. Streams that name no expected
call are "ad hoc" (the simulator, a developer's softphone): accepted only when ``accept_adhoc_streams`` is on,
with the demo script unless the stream carries its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.records import CallRecord, CallRequest, Lead

MAX_ADHOC_SCRIPT_BYTES = 64_000


class UnknownCall(LookupError):
    pass


OptOutHook = Callable[[CallRequest], Awaitable[None]]


@dataclass
class _Expected:
    request: CallRequest
    result: asyncio.Future[CallRecord]


@dataclass
class CallDirectory:
    accept_adhoc: bool = False  # streams no dispatcher announced run an AI call for anyone: opt in only
    keep_records: int = 200
    on_opt_out: OptOutHook | None = None
    _expected: dict[str, _Expected] = field(default_factory=dict)
    _records: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    _active: dict[str, tuple[CallRequest, CallRecord]] = field(default_factory=dict)

    def expect(self, request: CallRequest) -> asyncio.Future[CallRecord]:
        future: asyncio.Future[CallRecord] = asyncio.get_running_loop().create_future()
        self._expected[request.call_id] = _Expected(request, future)
        return future

    def forget(self, call_id: str) -> None:
        expected = self._expected.pop(call_id, None)
        if expected is not None and not expected.result.done():
            expected.result.cancel()

    def claim(self, custom: dict[str, str]) -> tuple[CallRequest, asyncio.Future[CallRecord] | None]:
        """The request for a stream that just started, from its custom parameters."""
        call_id = custom.get("call_id", "")
        expected = self._expected.pop(call_id, None) if call_id else None
        if expected is not None:
            return expected.request, expected.result
        if not self.accept_adhoc:
            raise UnknownCall("stream names no expected call")
        return adhoc_request(custom), None

    def active(self, call_id: str) -> bool:
        return call_id in self._active

    def started(self, request: CallRequest, record: CallRecord) -> None:
        """``record`` is filled while the call runs: live views read it."""
        self._active[request.call_id] = (request, record)

    def live(self, account_id: str | None = None) -> list[tuple[CallRequest, CallRecord]]:
        """Calls in progress in this process (of one account when ``account_id`` is given)."""
        return [pair for pair in self._active.values() if account_id is None or pair[0].account_id == account_id]

    def finished(self, record: CallRecord, result: asyncio.Future[CallRecord] | None) -> None:
        self._active.pop(record.call_id, None)
        if self.keep_records:
            self._records[record.call_id] = record.to_dict()
            while len(self._records) > self.keep_records:
                self._records.popitem(last=False)
        if result is not None and not result.done():
            result.set_result(record)

    def record(self, call_id: str) -> dict[str, Any] | None:
        return self._records.get(call_id)

    @property
    def active_calls(self) -> int:
        return len(self._active)


def adhoc_request(custom: dict[str, str]) -> CallRequest:
    """Build a request from a stream's custom parameters (``call_id``, ``lead_name``, ``lead_phone``,
    ``lead_metadata`` JSON, ``script`` JSON, ``policy``)."""
    metadata: dict[str, Any] = {}
    if custom.get("lead_metadata"):
        parsed = json.loads(custom["lead_metadata"])
        if isinstance(parsed, dict):
            metadata = parsed
    script: dict[str, Any] | None = None
    if custom.get("script"):
        if len(custom["script"]) > MAX_ADHOC_SCRIPT_BYTES:
            raise ValueError("script parameter too large")
        parsed = json.loads(custom["script"])
        if not isinstance(parsed, dict):
            raise ValueError("script parameter is not a JSON object")
        script = parsed
    return CallRequest(
        call_id=custom.get("call_id") or uuid.uuid4().hex,
        lead=Lead(name=custom.get("lead_name", "there"), phone=custom.get("lead_phone", ""), metadata=metadata),
        script=script,
        policy=custom.get("policy", "script"),
    )

"""Which call a new media stream belongs to, and where finished call records go.

The dispatcher ``expect``s a call (its request, with the lead and the agent script) before asking the carrier to
dial, and hands the carrier the call's stream token; the carrier's media stream then names the call id and
presents that token in its custom parameters. The media endpoint faces the internet, so a stream is served only
when its token matches (compared in constant time), is used for the first time, and has not expired: anything
else is refused before it is admitted. Streams that name no expected call are "ad hoc" (the simulator, a
developer's softphone): accepted, without a token, only when ``accept_adhoc_streams`` is on, with the demo script
unless the stream carries its own.

Each expected call also gets a callback token: carriers that report answering-machine detection call back with
it in the URL (``carrier_verdict``), while the call rings or runs; it dies with the call.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.answered_by import AnsweredByInbox
from engine.records import CallRecord, CallRequest, Lead, Transfer, TransferResult

MAX_ADHOC_SCRIPT_BYTES = 64_000
STREAM_TOKEN_PARAMETER = "stream_token"
DEFAULT_STREAM_TOKEN_TTL_S = 120.0
STREAM_TOKEN_BYTES = 16  # hex: 32 letters and digits, the only characters Plivo's extraHeaders values allow


class UnknownCall(LookupError):
    """A media stream this engine must not serve; ``reason`` is a bounded metric label."""

    def __init__(self, message: str, reason: str = "unknown_call") -> None:
        super().__init__(message)
        self.reason = reason


OptOutHook = Callable[[CallRequest], Awaitable[None]]
# The carrier-specific hand-over of a call in progress (REST call update, SIP REFER): the dispatcher's worker sets
# it; the leg is the call's media leg (a SIP leg sends the REFER itself).
TransferHook = Callable[[CallRequest, Any, Transfer], Awaitable[TransferResult]]


@dataclass
class _Expected:
    request: CallRequest
    result: asyncio.Future[CallRecord]
    stream_token: str
    token_expires_at: float  # time.monotonic()


@dataclass
class CallDirectory:
    accept_adhoc: bool = False  # streams no dispatcher announced run an AI call for anyone: opt in only
    keep_records: int = 200
    on_opt_out: OptOutHook | None = None
    on_transfer: TransferHook | None = None
    _expected: dict[str, _Expected] = field(default_factory=dict)
    _records: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    _active: dict[str, tuple[CallRequest, CallRecord]] = field(default_factory=dict)
    _callbacks: dict[str, tuple[str, AnsweredByInbox]] = field(default_factory=dict)  # by stream_key

    def expect(
        self, request: CallRequest, *, token_ttl_s: float = DEFAULT_STREAM_TOKEN_TTL_S
    ) -> asyncio.Future[CallRecord]:
        """Announce a call about to be dialed; its stream must present ``stream_token(call_id)`` within
        ``token_ttl_s`` (the ringing and a margin)."""
        future: asyncio.Future[CallRecord] = asyncio.get_running_loop().create_future()
        token = secrets.token_hex(STREAM_TOKEN_BYTES)
        self._expected[stream_key(request.call_id)] = _Expected(request, future, token, time.monotonic() + token_ttl_s)
        self._callbacks[stream_key(request.call_id)] = (secrets.token_hex(STREAM_TOKEN_BYTES), AnsweredByInbox())
        return future

    def stream_token(self, call_id: str) -> str:
        """The token the carrier must present in the media stream of an expected call."""
        return self._expected[stream_key(call_id)].stream_token

    def callback_token(self, call_id: str) -> str:
        """The token a carrier's status callback for an expected or running call must present."""
        return self._callbacks[stream_key(call_id)][0]

    def inbox(self, call_id: str) -> AnsweredByInbox | None:
        """Where the carrier's answering-machine verdict for this call arrives (None: no callback expected)."""
        entry = self._callbacks.get(stream_key(call_id))
        return entry[1] if entry is not None else None

    def carrier_verdict(self, call_id: str, token: str, answered_by: str, message_end: bool) -> None:
        """Hand a carrier's answering-machine verdict to its call; UnknownCall unless ``token`` is the call's
        callback token and the call is still expected or running."""
        entry = self._callbacks.get(stream_key(call_id)) if call_id else None
        if entry is None:
            raise UnknownCall("callback names no expected or running call")
        if not token or not hmac.compare_digest(token.encode(), entry[0].encode()):
            raise UnknownCall("callback token does not match", "bad_token")
        entry[1].deliver(answered_by, message_end)

    def forget(self, call_id: str) -> None:
        self._callbacks.pop(stream_key(call_id), None)
        expected = self._expected.pop(stream_key(call_id), None)
        if expected is not None and not expected.result.done():
            expected.result.cancel()

    def claim(self, custom: dict[str, str]) -> tuple[CallRequest, asyncio.Future[CallRecord] | None]:
        """The request for a stream that just started, from its custom parameters: it must carry the call's
        stream token, which is then spent. A wrong token leaves the call expecting its real stream."""
        call_id = custom.get("call_id", "")
        expected = self._expected.get(stream_key(call_id)) if call_id else None
        if expected is None:
            if not self.accept_adhoc:
                raise UnknownCall("stream names no expected call (or its token was already used)")
            return adhoc_request(custom), None
        presented = custom.get(STREAM_TOKEN_PARAMETER, "")
        if not presented:
            raise UnknownCall("stream carries no token", "missing_token")
        if not hmac.compare_digest(presented.encode(), expected.stream_token.encode()):
            raise UnknownCall("stream token does not match", "bad_token")
        if time.monotonic() > expected.token_expires_at:
            raise UnknownCall("stream token expired", "expired_token")
        del self._expected[stream_key(call_id)]
        return expected.request, expected.result

    def take(self, call_id: str) -> tuple[CallRequest, asyncio.Future[CallRecord] | None]:
        """The request of an expected call whose media came up inside this process (a SIP leg we dialed):
        no stream crossed the network, so there is no token to check."""
        expected = self._expected.pop(stream_key(call_id), None)
        if expected is None:
            raise UnknownCall("no expected call with that id")
        return expected.request, expected.result

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
        self._callbacks.pop(stream_key(record.call_id), None)
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


def stream_key(call_id: str) -> str:
    """A call id as streams may name it: Plivo's extraHeaders values allow only letters and digits, so a UUID
    travels there without its hyphens; both forms name the same call."""
    return call_id.replace("-", "")


def adhoc_request(custom: dict[str, str]) -> CallRequest:
    """Build a request from a stream's custom parameters (``call_id``, ``lead_name``, ``lead_phone``,
    ``lead_metadata`` JSON, ``script`` JSON, ``policy``, ``recording`` "on")."""
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
        record_audio=custom.get("recording") == "on",
    )

"""Bodies of the call endpoints. ``record`` fields follow ``engine.records.CallRecord.to_dict()``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class CallSummary(msgspec.Struct):
    id: str
    campaign_id: str
    lead_id: int | None
    attempt: int
    status: str
    outcome: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    created_at: datetime


class CallDetail(msgspec.Struct):
    id: str
    campaign_id: str
    lead_id: int | None
    attempt: int
    status: str
    outcome: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    created_at: datetime
    transcript: list[dict[str, Any]] | None  # [{role, text, start_s, end_s, interrupted}]
    turns: list[dict[str, Any]] | None  # [{endpoint_s, stt_s, policy_s, tts_s, v2v_s, ...}] per reply
    slots: dict[str, Any] | None
    latency: dict[str, Any] | None  # {v2v_p50_s, v2v_p95_s}
    ended_by: str | None
    opted_out: bool | None
    callback_at: str | None
    error: str | None
    policy: str | None = None  # script | llm: who answered the lead
    fallback_turns: int | None = None  # llm: turns the script answered because the model erred or was late
    # a hand-off to a salesperson: {to (masked), mode, reason, connected, detail}
    transfer: dict[str, Any] | None = None
    # {file, complete, dropped_frames, error} when the call was recorded; GET /v1/calls/{id}/recording serves it.
    # complete is false when the writer dropped frames (a slow or full disk): the call itself went on.
    recording: dict[str, Any] | None = None


class CallPage(msgspec.Struct):
    items: list[CallSummary]
    next_cursor: str | None


class LiveLine(msgspec.Struct):
    role: str  # bot | lead
    text: str


class LiveCall(msgspec.Struct):
    """A call in progress as its worker last published it (about once a second)."""

    id: str
    campaign_id: str
    lead_id: int
    attempt: int
    worker_id: str
    state: str  # ringing (dialed, no media yet) | answered (no line spoken yet) | talking
    started_at: datetime  # when it was dialed
    turns: int
    last_line: LiveLine | None
    updated_at: datetime  # of its last published progress (its dial time before the first)


class LiveCallPage(msgspec.Struct):
    items: list[LiveCall]
    next_cursor: str | None

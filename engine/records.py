"""The narrow interface of the engine: a call request in, a call record out.

Both are plain data (JSON-serialisable through ``to_dict``) so the control API can store them and a worker
on another machine can ship them without importing engine internals.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    QUALIFIED = "qualified"
    NOT_QUALIFIED = "not_qualified"
    # The lead answered every question, but an answer the qualify rule turns on stayed unclear: a person decides.
    NEEDS_REVIEW = "needs_review"
    CALLBACK_REQUESTED = "callback_requested"
    OPTED_OUT = "opted_out"
    WRONG_PERSON = "wrong_person"
    VOICEMAIL = "voicemail"
    NO_RESPONSE = "no_response"
    HUNG_UP = "hung_up"
    TRANSFERRED = "transferred"  # handed to a salesperson (see ``CallRecord.transfer``)
    ERROR = "error"


@dataclass(frozen=True)
class Lead:
    name: str
    phone: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRequest:
    call_id: str
    lead: Lead
    script: dict[str, Any] | None = None  # an agent script (see engine.agent.script); None: the demo script
    policy: str = "script"  # "script" | "llm"
    llm_profile: str | None = None  # the account's named LLM endpoint; None: the deployment's
    max_call_s: float = 600.0
    campaign_id: str | None = None  # bounded metric label; never a phone number
    account_id: str | None = None  # the tenant, so a console shows a live call only to its owner
    # Record both sides of the call (the campaign's greeting says so); only where the engine has a recordings
    # directory.
    record_audio: bool = False


@dataclass(frozen=True)
class Transfer:
    """Hand the lead to a person (the policy's action, and what the carrier's transfer is asked to do).

    ``to`` is E.164 and never logged (it is out of the repr); ``whisper`` is what a warm transfer says to the
    salesperson before the lead joins."""

    to: str = field(repr=False)
    mode: str = "cold"  # "cold" | "warm"
    reason: str = "lead_request"  # "qualified" | "lead_request"
    whisper: str = field(default="", repr=False)
    answer_timeout_s: float = 20.0


@dataclass(frozen=True)
class TransferResult:
    """Whether the lead reached the salesperson's line; ``detail`` is for the record (no number in it)."""

    connected: bool
    detail: str = ""


@dataclass
class TranscriptTurn:
    role: str  # "bot" | "lead"
    text: str
    start_s: float  # seconds since the call was answered
    end_s: float
    interrupted: bool = False


@dataclass
class TurnLatency:
    """Where one reply spent its time, seconds. ``v2v_s`` is measured in the engine (inbound audio's last voiced
    frame received -> first reply frame sent); the simulator measures its own v2v at the caller's side."""

    endpoint_s: float
    stt_s: float
    policy_s: float
    tts_s: float
    v2v_s: float
    stt_queue_s: float = 0.0
    # What ended the lead's turn: "sentence" (Whisper's full stop), "answer" (the words answer the pending
    # question), "smart_turn", "silence" (max_turn_silence_s ran out) or "pause" (VAD only).
    turn_end: str = ""


@dataclass
class RecordingInfo:
    """The call's audio file (stereo: left the lead, right the agent, on the call's clock). ``complete`` is false
    when frames were dropped (the writer fell behind) or the disk failed: the call went on regardless."""

    file: str
    complete: bool = True
    dropped_frames: int = 0
    error: str | None = None


@dataclass
class CallRecord:
    call_id: str
    outcome: Outcome = Outcome.ERROR
    ended_by: str = "bot"  # bot | lead | timeout | error
    opted_out: bool = False
    slots: dict[str, Any] = field(default_factory=dict)
    callback_at: str | None = None
    transcript: list[TranscriptTurn] = field(default_factory=list)
    turns: list[TurnLatency] = field(default_factory=list)
    started_at: str | None = None  # ISO UTC, when the call was answered
    duration_s: float = 0.0
    interruptions: int = 0
    underruns: int = 0
    dtmf: list[str] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    policy: str = "script"  # the dialogue policy that ran the call: "script" | "llm"
    fallback_turns: int = 0  # llm: turns the script answered because the model erred or was late
    # A hand-off to a person: {"to": masked number, "mode": "cold"|"warm", "reason": "qualified"|"lead_request",
    # "connected": bool, "detail": str}. The full number stays in the script; records and logs hold it masked.
    transfer: dict[str, Any] | None = None
    recording: RecordingInfo | None = None

    def latency_summary(self) -> dict[str, float | None]:
        v2v = sorted(t.v2v_s for t in self.turns)
        return {"v2v_p50_s": percentile(v2v, 50), "v2v_p95_s": percentile(v2v, 95)}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["latency"] = self.latency_summary()
        return data


def mask_number(number: str) -> str:
    """A phone number as records and logs may show it: the country code and the last two digits."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 6:
        return "*" * len(digits)
    head = "+" + digits[:2] if number.strip().startswith("+") else digits[:2]
    return f"{head}{'*' * (len(digits) - 4)}{digits[-2:]}"


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank-interpolated percentile; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    ordered = sorted(values)
    if pct == 50:
        return statistics.median(ordered)
    k = (len(ordered) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

"""The contract between the turn manager and whatever decides what the agent says.

A policy never touches audio: the turn manager gives it the lead's transcribed turns (and DTMF digits, and
silences) and it answers with a stream of actions. Streaming matters: an LLM policy yields its first sentence
while it is still generating the rest, and the turn manager sends that sentence to TTS at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from engine.records import Lead, Outcome, Transfer


@dataclass(frozen=True)
class Utterance:
    """One finished turn of the conversation as the policy sees it."""

    role: str  # "bot" | "lead"
    text: str
    interrupted: bool = False


@dataclass
class PolicyContext:
    """What a policy may read about the call in progress. Slots are written through ``RecordSlot`` actions."""

    lead: Lead
    call_started_at: datetime  # aware, used to resolve "tomorrow at 5"
    history: list[Utterance] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)


# -- actions ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """Speak ``text``. ``cacheable`` marks fixed script lines whose audio can be synthesized ahead of time."""

    text: str
    cacheable: bool = False


@dataclass(frozen=True)
class RecordSlot:
    name: str
    value: Any


@dataclass(frozen=True)
class OptOut:
    """The lead asked not to be called again: the call record carries it and the platform suppresses the number."""

    reason: str = "lead_request"


@dataclass(frozen=True)
class ScheduleCallback:
    at: datetime | None
    note: str = ""


@dataclass(frozen=True)
class EndCall:
    """Hang up once everything said before this action has been played."""

    outcome: Outcome


Action = Say | RecordSlot | OptOut | ScheduleCallback | EndCall | Transfer


@runtime_checkable
class DialoguePolicy(Protocol):
    """Decides the agent's side of one call. One instance per call; it may keep state between turns."""

    def greeting(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        """Actions when the call is answered (normally one ``Say``)."""
        ...

    def on_lead_turn(self, ctx: PolicyContext, text: str) -> AsyncIterator[Action]:
        """Actions in reply to one finished lead turn (``text`` is the transcript, maybe empty or noisy)."""
        ...

    def on_silence(self, ctx: PolicyContext, count: int) -> AsyncIterator[Action]:
        """The lead said nothing for the silence timeout; ``count`` is how many times in a row."""
        ...

    def on_dtmf(self, ctx: PolicyContext, digit: str) -> AsyncIterator[Action]:
        """A keypad digit arrived (RFC 4733 or carrier DTMF event)."""
        ...

    def on_answering_machine(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        """An answering machine took the call and its greeting is over: leave the voicemail message, if the script
        has one, and end the call as ``voicemail``."""
        ...

    def fixed_lines(self, lead: Lead) -> list[str]:
        """Lines this policy will speak verbatim, so their audio can be synthesized before the call."""
        ...

    def stt_prompt(self) -> str | None:
        """Domain words to bias speech-to-text with (Whisper ``initial_prompt``/hotwords)."""
        ...

    def settles_turn(self, text: str) -> bool:
        """Whether ``text`` (the lead's words so far) already answers what the agent is waiting for, in a form
        more words would not change: the lead's pause then ends the turn at once (``LeadListener``)."""
        ...

    def expects_more(self, text: str) -> bool:
        """Whether ``text`` only opens a reply (a filler, a fragment, half a number): the lead is thinking, and the
        turn waits out the longer silence however finished the words sound (``LeadListener``)."""
        ...

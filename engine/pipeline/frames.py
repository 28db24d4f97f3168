"""Frames of our own, for facts pipecat has no frame for. Times are ``time.monotonic()`` seconds."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame, SystemFrame


@dataclass
class LeadSpeechStartedFrame(SystemFrame):
    at: float = 0.0
    during_bot_speech: bool = False


@dataclass
class BargeInFrame(SystemFrame):
    """The lead has talked over the bot long enough that it is not a cough or a backchannel."""

    at: float = 0.0


@dataclass
class LeadTurnFrame(DataFrame):
    """One finished turn of the lead, transcribed."""

    text: str = ""
    started_at: float = 0.0
    last_voiced_at: float = 0.0  # end of the lead's speech, as received by the engine
    decided_at: float = 0.0  # when the end of the turn was decided
    stt_s: float = 0.0
    stt_queue_s: float = 0.0
    voiced_s: float = 0.0
    turn_end: str = ""  # see TurnLatency.turn_end


@dataclass
class AnsweredByFrame(SystemFrame):
    """Who answered, as far as answering-machine detection knows (``engine.audio.amd.Verdict``)."""

    answered_by: str = ""  # "human" | "machine"
    source: str = ""  # beep | greeting | silence | carrier
    message_end: bool = False  # the greeting is over: a message may start now


@dataclass
class LeadDtmfFrame(SystemFrame):
    digit: str = ""


@dataclass
class LegMarkFrame(SystemFrame):
    # Not "name": pipecat's Frame owns that attribute.
    mark: str = ""


@dataclass
class LegClosedFrame(SystemFrame):
    reason: str = ""
    by_remote: bool = True


@dataclass
class SpeakFrame(DataFrame):
    """Say ``text`` as utterance ``utterance_id``."""

    utterance_id: int = 0
    text: str = ""
    cacheable: bool = False
    requested_at: float = 0.0


@dataclass
class SpeechAudioFrame(DataFrame):
    """A synthesized piece of an utterance (PCM16 at the leg's rate)."""

    utterance_id: int = 0
    text: str = ""
    pcm: bytes = b""
    last: bool = False


@dataclass
class PlayoutFrame(SystemFrame):
    """Upstream report from the playout stage about one utterance."""

    utterance_id: int = 0
    event: str = ""  # "started" | "finished" | "interrupted"
    at: float = 0.0
    played_text: str = ""
    played_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

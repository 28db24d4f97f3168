"""Turns a stream of per-frame VAD decisions into speech segments (sans-I/O: frames in, events out).

It keeps the audio of the lead's current utterance (with a short pre-roll, so the first syllable is not clipped)
and reports three moments the turn manager acts on: speech started, speech paused (the cue to start
speech-to-text speculatively) and speech resumed (the speculative transcript is then stale).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.audio.pcm import FRAME_MS


@dataclass(frozen=True)
class SpeechStarted:
    at_s: float  # stream time of the first voiced frame


@dataclass(frozen=True)
class SpeechPaused:
    at_s: float  # stream time when the pause was declared
    last_voiced_s: float  # end of the last voiced frame
    audio: bytes  # the utterance so far, PCM16
    voiced_s: float  # seconds of voiced frames in it


@dataclass(frozen=True)
class SpeechResumed:
    at_s: float


SegmentEvent = SpeechStarted | SpeechPaused | SpeechResumed


class SpeechSegmenter:
    def __init__(
        self,
        *,
        start_frames: int = 3,
        start_window: int = 5,
        pause_s: float = 0.2,
        preroll_s: float = 0.2,
        max_utterance_s: float = 30.0,
    ) -> None:
        self._frame_s = FRAME_MS / 1000
        self._start_frames = start_frames
        self._recent: deque[bool] = deque(maxlen=start_window)
        self._preroll: deque[bytes] = deque(maxlen=max(1, int(preroll_s / self._frame_s)))
        self._pause_frames = max(1, round(pause_s / self._frame_s))
        self._max_frames = int(max_utterance_s / self._frame_s)
        self._audio: list[bytes] = []
        self._in_speech = False
        self._paused = False
        self._silent_run = 0
        self._voiced = 0
        self._last_voiced_s = 0.0
        self._t = 0.0

    @property
    def in_speech(self) -> bool:
        """True from speech start until the pause that follows it (and again after a resume)."""
        return self._in_speech and not self._paused

    @property
    def has_utterance(self) -> bool:
        return self._in_speech

    @property
    def voiced_s(self) -> float:
        return self._voiced * self._frame_s

    def reset(self) -> None:
        """Forget the current utterance (its turn was taken)."""
        self._audio.clear()
        self._in_speech = False
        self._paused = False
        self._silent_run = 0
        self._voiced = 0
        self._recent.clear()

    def feed(self, frame: bytes, voiced: bool) -> list[SegmentEvent]:
        self._t += self._frame_s
        events: list[SegmentEvent] = []
        self._recent.append(voiced)
        if not self._in_speech:
            self._preroll.append(frame)
            if sum(self._recent) >= self._start_frames:
                self._in_speech = True
                self._audio = list(self._preroll)
                self._voiced = sum(self._recent)
                self._silent_run = 0
                self._last_voiced_s = self._t
                events.append(SpeechStarted(self._t - len(self._preroll) * self._frame_s))
            return events

        self._audio.append(frame)
        if voiced:
            self._voiced += 1
            self._silent_run = 0
            self._last_voiced_s = self._t
            if self._paused and sum(self._recent) >= self._start_frames:
                self._paused = False
                events.append(SpeechResumed(self._t))
        else:
            self._silent_run += 1
            if not self._paused and (self._silent_run == self._pause_frames or len(self._audio) >= self._max_frames):
                self._paused = True
                events.append(
                    SpeechPaused(self._t, self._last_voiced_s, b"".join(self._audio), self._voiced * self._frame_s)
                )
        return events

    @property
    def silence_s(self) -> float:
        """How long the lead has been silent since the last voiced frame of the current utterance."""
        return self._silent_run * self._frame_s

    def utterance(self) -> bytes:
        return b"".join(self._audio)

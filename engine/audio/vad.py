"""Voice activity detection on 20 ms frames: WebRTC VAD (cheap default, ~2 us a frame) or Silero (selectable).

Both share one interface, ``is_speech(frame) -> bool``. Silero's ONNX session is the process-wide one from the model
registry; only its small recurrent state lives per call.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import webrtcvad

from engine.audio.pcm import as_float32


class FrameVad(Protocol):
    def is_speech(self, frame: bytes) -> bool: ...


class WebRtcVad:
    def __init__(self, sample_rate: int, aggressiveness: int = 2, min_dbfs: float = -45.0) -> None:
        if sample_rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"webrtcvad does not support {sample_rate} Hz")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rate = sample_rate
        # webrtcvad fires on faint line noise; a floor on frame energy keeps comfort noise from counting as speech.
        self._min_power = (10 ** (min_dbfs / 20) * 32768) ** 2

    def is_speech(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        if samples.size == 0 or float(samples @ samples) < self._min_power * samples.size:
            return False
        return bool(self._vad.is_speech(frame, self._rate))


class SileroVad:
    """Silero VAD v5 with a shared ONNX session and per-call state (256-sample windows at 8 kHz, 512 at 16 kHz)."""

    def __init__(self, session: object, sample_rate: int, threshold: float = 0.5) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError("Silero VAD runs at 8 or 16 kHz")
        self._session = session
        self._rate = sample_rate
        self._window = 256 if sample_rate == 8000 else 512
        self._context_size = 32 if sample_rate == 8000 else 64
        self._threshold = threshold
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, self._context_size), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last_prob = 0.0

    def is_speech(self, frame: bytes) -> bool:
        self._pending = np.concatenate([self._pending, as_float32(frame)])
        while self._pending.size >= self._window:
            chunk, self._pending = self._pending[: self._window], self._pending[self._window :]
            x = np.concatenate([self._context, chunk[None, :]], axis=1)
            out, self._state = self._session.run(  # type: ignore[attr-defined]
                None, {"input": x, "state": self._state, "sr": np.array(self._rate, dtype=np.int64)}
            )
            self._context = x[:, -self._context_size :]
            self._last_prob = float(out[0][0])
        return self._last_prob >= self._threshold

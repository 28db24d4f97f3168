"""End-of-turn detection: Smart-Turn v3.2 on top of the VAD pause.

A VAD pause alone cuts people off mid-number ("my bill is about ... five thousand"). At each pause the turn
manager asks Smart-Turn whether the utterance sounds finished; if it does, the turn ends at once, and if not the
turn manager waits up to ``max_turn_silence_s`` before taking the turn anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

from engine.audio.resample import resample

_MODEL_RATE = 16000
_WINDOW_S = 8


@dataclass(frozen=True)
class TurnVerdict:
    complete: bool
    probability: float


class SmartTurn:
    """Stateless wrapper over the shared ONNX session: safe to call from several threads at once."""

    def __init__(self, session: object, threshold: float = 0.5) -> None:
        self._session = session
        self._threshold = threshold

    def predict(self, pcm16: bytes, sample_rate: int) -> TurnVerdict:
        audio = resample(pcm16, sample_rate, _MODEL_RATE)
        window = _MODEL_RATE * _WINDOW_S
        if audio.size > window:
            audio = audio[-window:]
        elif audio.size < window:
            audio = np.pad(audio, (window - audio.size, 0))
        features = compute_whisper_log_mel_features(audio, do_normalize=True)
        outputs = self._session.run(None, {"input_features": features[None].astype(np.float32)})  # type: ignore[attr-defined]
        probability = float(np.asarray(outputs[0]).reshape(-1)[0])
        return TurnVerdict(probability >= self._threshold, probability)

"""Resampling between telephony (8 kHz), Whisper (16 kHz), Piper (22,050 Hz) and WebRTC (48 kHz).

Two shapes, chosen to add no latency: whole utterances and whole TTS sentences are resampled in one shot
(nothing is held back), and continuous streams use soxr's streaming resampler at a low-delay quality instead of
the VHQ setting whose ~95 ms release bursts pipecat's Twilio serializer suffers from.
"""

from __future__ import annotations

import numpy as np
import soxr

from engine.audio.pcm import as_float32, to_pcm16


def resample(samples: np.ndarray | bytes, src_rate: int, dst_rate: int) -> np.ndarray:
    """One-shot resample of a complete piece of audio; returns float32 in [-1, 1]."""
    audio = as_float32(samples)
    if src_rate == dst_rate or audio.size == 0:
        return audio
    return np.asarray(soxr.resample(audio, src_rate, dst_rate, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Streaming resampler for continuous audio (e.g. a 48 kHz WebRTC track). Low-delay quality."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = (
            None if src_rate == dst_rate else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="int16", quality="LQ")
        )

    def process(self, pcm16: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm16
        samples = np.frombuffer(pcm16, dtype="<i2")
        return to_pcm16(self._stream.resample_chunk(samples, last=last))

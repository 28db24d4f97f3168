"""Conversions between 16-bit PCM bytes and float32 arrays, 20 ms framing, and simple levels."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

FRAME_MS = 20


def samples_per_frame(sample_rate: int) -> int:
    return sample_rate * FRAME_MS // 1000


def as_float32(samples: np.ndarray | bytes) -> np.ndarray:
    if isinstance(samples, bytes | bytearray | memoryview):
        return np.frombuffer(samples, dtype="<i2").astype(np.float32) / 32768.0
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


def to_pcm16(samples: np.ndarray) -> bytes:
    if samples.dtype == np.int16:
        return samples.astype("<i2", copy=False).tobytes()
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def frames(pcm16: bytes, sample_rate: int, pad: bool = True) -> Iterator[bytes]:
    """Split PCM into 20 ms frames; the last partial frame is padded with silence (or dropped)."""
    size = samples_per_frame(sample_rate) * 2
    for start in range(0, len(pcm16), size):
        chunk = pcm16[start : start + size]
        if len(chunk) < size:
            if not pad:
                return
            chunk = chunk + b"\x00" * (size - len(chunk))
        yield chunk


def rms_dbfs(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20.0 * float(np.log10(max(rms, 1e-3) / 32768.0))


def silence(sample_rate: int, seconds: float) -> bytes:
    return b"\x00\x00" * int(sample_rate * seconds)

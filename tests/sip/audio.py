"""Real speech for the SIP tests: Piper synthesises the caller's voice, Whisper transcribes what was heard."""

from __future__ import annotations

import functools
import re
import wave
from pathlib import Path

import numpy as np

from engine.audio.g711 import ulaw_encode
from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample

RATE = 8000


@functools.lru_cache(maxsize=16)
def speech_pcm(text: str) -> bytes:
    """``text`` spoken by the bundled Piper voice, as 8 kHz PCM16."""
    from models import shared_registry

    voice = shared_registry().piper()
    chunks = [c.audio_float_array for c in voice.synthesize(text)]
    audio = np.concatenate(chunks).astype(np.float32)
    return to_pcm16(resample(audio, voice.config.sample_rate, RATE))


def write_ulaw(path: Path, pcm16: bytes) -> Path:
    path.write_bytes(ulaw_encode(pcm16))
    return path


def write_wav(path: Path, pcm16: bytes, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm16)
    return path


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
        if wav.getnchannels() == 2:
            pcm = np.frombuffer(pcm, dtype="<i2")[::2].tobytes()
    return pcm, rate


def transcribe(pcm16: bytes, rate: int = RATE) -> str:
    from models import shared_registry

    audio = resample(pcm16, rate, 16000)
    segments, _ = shared_registry().whisper().transcribe(audio, beam_size=1, language="en", vad_filter=False)
    return " ".join(s.text for s in segments)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def rms(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0

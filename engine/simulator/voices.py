"""The simulated lead's voice: utterances synthesized to 8 kHz PCM before the call starts."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample

RATE = 8000


def synthesize_piper(texts: list[str]) -> list[bytes]:
    from piper import SynthesisConfig

    from models import shared_registry

    voice = shared_registry().piper()
    # Piper draws fresh noise on every run, so the same line sounds slightly different each time and Whisper
    # now and then mishears it ("Wrong number." as "Broad number."). Without the noise a persona is the same
    # audio on every run, and a test that fails fails every time.
    steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    out = []
    for text in texts:
        chunks = [c.audio_float_array for c in voice.synthesize(text, syn_config=steady)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        out.append(to_pcm16(resample(audio, voice.config.sample_rate, RATE)))
    return out


def synthesize_espeak(texts: list[str]) -> list[bytes]:
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (make install adds it)")
    out = []
    for text in texts:
        wav = subprocess.run(
            [exe, "-v", "en-us", "-s", "155", "--stdout", text], capture_output=True, check=True
        ).stdout
        with wave.open(io.BytesIO(wav)) as reader:
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
        out.append(to_pcm16(resample(frames, rate, RATE)))
    return out


def beep(seconds: float = 0.5, freq: float = 1000.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return to_pcm16((0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32))


def synthesize(voice: str, texts: list[str]) -> list[bytes]:
    if not texts:
        return []
    return synthesize_espeak(texts) if voice == "espeak" else synthesize_piper(texts)

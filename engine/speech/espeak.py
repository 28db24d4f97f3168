"""Text-to-speech with the espeak-ng program: the voice that speaks Hindi offline when no Piper voice is configured.

espeak-ng is formant synthesis: intelligible but robotic, far below a Piper voice. It is the bundled fallback
because no Hindi Piper voice ships on PyPI and espeak-ng (a Debian package, scripts/apt-packages.txt) reads
Devanagari out of the box. Each line runs the program once on a synthesis thread (``SpeechSynthesizer``), never on
the event loop; the text goes in on stdin, so nothing a script says is read as an option.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from engine.speech.tts import SpeechSynthesizer

ESPEAK_PROGRAM = "espeak-ng"
SYNTHESIS_TIMEOUT_S = 30.0


class EspeakError(RuntimeError):
    """espeak-ng is missing or failed on a line."""


def espeak_available() -> bool:
    return shutil.which(ESPEAK_PROGRAM) is not None


def wav_samples(wav: bytes) -> tuple[np.ndarray, int]:
    """Float32 samples and rate of espeak-ng's ``--stdout`` WAV (16-bit mono). Writing to a pipe it cannot seek back,
    so the header's sizes are placeholders (0x7fffffff): the data chunk runs to the end of the output."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise EspeakError("espeak-ng wrote no WAV")
    fmt = wav.find(b"fmt ")
    data = wav.find(b"data")
    if fmt < 0 or data < 0:
        raise EspeakError("espeak-ng's WAV has no fmt or data chunk")
    rate = int.from_bytes(wav[fmt + 12 : fmt + 16], "little")
    body = wav[data + 8 :]
    samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    return samples, rate


class EspeakService(SpeechSynthesizer):
    """One espeak-ng voice (``-v hi``, ``-v en+f3`` ...) behind the same queue, cache and API as ``PiperService``."""

    thread_name = "espeak"

    def __init__(
        self, voice: str, *, out_rate: int = 8000, workers: int = 1, cache_size: int = 512, speed_wpm: int = 150
    ) -> None:
        program = shutil.which(ESPEAK_PROGRAM)
        if program is None:
            raise EspeakError(f"{ESPEAK_PROGRAM} is not installed (apt-get install espeak-ng)")
        self._command = [program, "-v", voice, "-s", str(speed_wpm), "-b", "1", "--stdout"]
        self.voice = voice
        super().__init__(out_rate=out_rate, workers=workers, cache_size=cache_size)

    def _audio(self, text: str) -> tuple[np.ndarray, int]:
        done = subprocess.run(  # a fixed program and arguments; the text goes on stdin
            self._command, input=text.encode("utf-8"), capture_output=True, timeout=SYNTHESIS_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise EspeakError(f"espeak-ng exited with {done.returncode}")
        return wav_samples(done.stdout)

"""The personas' lead lines as Whisper really transcribes them from telephony audio, through the script policy.

Each line is synthesized with the bundled Piper voice, resampled to 8 kHz, G.711 mu-law encoded and decoded (what
a carrier delivers), then transcribed by the bundled Whisper tiny.en with the policy's own STT prompt. The
policy must reach every persona's expected outcome and slots from those transcripts. ``closerr simulate`` adds
the sockets and timing on top; this test isolates the speech -> text -> slot path and shows its transcripts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soxr

from engine.agent.script_policy import ScriptPolicy
from engine.audio import g711
from tests.agent.conversation import Turn, run_call
from tests.agent.personas import PERSONAS, load_persona, persona_lead, persona_turns

pytestmark = pytest.mark.e2e


@cache
def _models() -> tuple[Any, Any]:
    from models.registry import shared_registry

    registry = shared_registry()
    return registry.piper(), registry.whisper()


def _telephony_transcript(text: str, prompt: str | None) -> str:
    from piper.config import SynthesisConfig

    voice, whisper = _models()
    # No sampling noise: the same audio on every run, so the test cannot flake on a lucky/unlucky voice.
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    pcm = np.concatenate([np.frombuffer(c.audio_int16_bytes, dtype=np.int16) for c in voice.synthesize(text, config)])
    narrow = soxr.resample(pcm.astype(np.float32) / 32768, voice.config.sample_rate, 8000)
    ulaw = g711.ulaw_encode((np.clip(narrow, -1, 1) * 32767).astype(np.int16).tobytes())
    carrier = np.frombuffer(g711.ulaw_decode(ulaw), dtype=np.int16).astype(np.float32) / 32768
    wide = soxr.resample(carrier, 8000, 16000)
    segments, _ = whisper.transcribe(wide, beam_size=1, language="en", initial_prompt=prompt, vad_filter=False)
    return " ".join(s.text.strip() for s in segments).strip()


@pytest.mark.parametrize("path", PERSONAS, ids=lambda p: p.stem)
async def test_persona_through_real_speech_recognition(path: Path) -> None:
    persona, script = load_persona(path)
    prompt = ScriptPolicy(script).stt_prompt()
    heard: list[Turn] = []
    for turn in persona_turns(persona):
        heard.append(_telephony_transcript(turn, prompt) if isinstance(turn, str) else turn)
    call = await run_call(ScriptPolicy(script), heard, lead=persona_lead(persona))
    expect = persona["expect"]
    assert call.outcome is not None and str(call.outcome) == expect["outcome"], heard
    for name, value in (expect.get("slots") or {}).items():
        assert call.slots.get(name) == value, (name, heard)


@pytest.mark.parametrize(
    ("spoken", "slot_type", "expected"),
    [
        ("About three thousand rupees.", "amount_inr", 3000),
        ("Five lakh.", "amount_inr", 500_000),
        ("Two and a half lakh rupees.", "amount_inr", 250_000),
        ("My bill is fifteen hundred rupees.", "amount_inr", 1500),
        ("Twelve thousand rupees.", "amount_inr", 12_000),
        ("Nope.", "yes_no", False),
        ("Yes, I am.", "yes_no", True),
        ("Metal sheet.", "choice", "sheet"),
    ],
)
def test_spoken_values(spoken: str, slot_type: str, expected: object) -> None:
    from engine.agent.script import demo_script
    from engine.agent.slots import extract

    policy = ScriptPolicy(demo_script())
    heard = _telephony_transcript(spoken, policy.stt_prompt())
    options = demo_script().question("roof_type").options
    assert extract(slot_type, heard, options=options) == expected, heard

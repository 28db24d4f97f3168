"""Answering-machine detection on synthesized telephone audio (Piper through 8 kHz mu-law), sans I/O: greetings
with and without a beep, tones that are not a beep, a person saying "hello?", and the carrier's verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.amd import BeepDetector, MachineDetector, Verdict
from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.pcm import frames, rms_dbfs, silence, to_pcm16
from engine.simulator.voices import beep, synthesize

RATE = 8000
GREETING = (
    "Hi, you have reached Ravi Kumar. I cannot take your call right now, so please leave your name and number "
    "and I will call you back as soon as I can."
)


def phone(pcm: bytes) -> bytes:
    return ulaw_decode(ulaw_encode(pcm))


@pytest.fixture(scope="module")
def voice() -> dict[str, bytes]:
    greeting, hello = synthesize("piper", [GREETING, "Hello?"])
    return {"greeting": phone(greeting), "hello": phone(hello)}


def detect(audio: bytes, detector: MachineDetector | None = None) -> list[tuple[float, Verdict]]:
    """Every verdict, with the time (s) of the end of the frame that gave it."""
    detector = detector or MachineDetector(RATE)
    return [
        (round((index + 1) * 0.02, 2), verdict)
        for index, frame in enumerate(frames(audio, RATE))
        for verdict in detector.feed(frame)
    ]


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / RATE


def speech_end(pcm: bytes) -> float:
    """The end of the last frame louder than -40 dBFS (Piper pads its audio with a fading tail)."""
    loud = [i for i, frame in enumerate(frames(pcm, RATE)) if rms_dbfs(frame) >= -40.0]
    return (loud[-1] + 1) * 0.02


def test_a_long_greeting_is_a_machine_and_its_beep_is_the_moment_to_speak(voice):
    audio = voice["greeting"] + phone(beep(0.5)) + silence(RATE, 2.0)
    verdicts = detect(audio)
    assert [(v.source, v.message_end) for _, v in verdicts] == [("greeting", False), ("beep", True)], verdicts
    (at_greeting, _), (at_beep, _) = verdicts
    assert 4.0 <= at_greeting < seconds(voice["greeting"])  # while the greeting still plays
    beep_end = seconds(voice["greeting"]) + 0.5
    assert beep_end <= at_beep <= beep_end + 0.06  # right after the beep, not during it


def test_a_greeting_without_a_beep_ends_when_the_line_goes_quiet(voice):
    verdicts = detect(voice["greeting"] + silence(RATE, 2.0))
    assert [(v.source, v.message_end) for _, v in verdicts] == [("greeting", False), ("silence", True)]
    assert verdicts[1][0] >= speech_end(voice["greeting"]) + 1.5


@pytest.mark.parametrize(
    ("tone", "is_beep"),
    [
        (beep(0.5, 1000.0), True),
        (beep(0.3, 1000.0), True),
        (beep(1.4, 1000.0), True),
        (beep(0.5, 850.0), True),
        (beep(0.5, 1175.0), True),
        (beep(0.5, 440.0), False),  # below the band
        (beep(0.5, 1400.0), False),  # above it
        (beep(0.1, 1000.0), False),  # a chirp, too short
        (beep(3.0, 1000.0), False),  # a held tone, too long
        (to_pcm16(np.r_[np.zeros(40), np.ones(8) * 0.9, np.zeros(40)].astype(np.float32)), False),  # a click
        (to_pcm16(np.random.default_rng(7).normal(0, 0.2, 4000).astype(np.float32)), False),  # noise
    ],
    ids=["1k-0.5s", "1k-0.3s", "1k-1.4s", "850", "1175", "440", "1400", "chirp", "held", "click", "noise"],
)
def test_only_a_tone_near_1khz_held_for_a_beep_length_counts(tone, is_beep):
    audio = silence(RATE, 0.5) + phone(tone) + silence(RATE, 0.5)
    detector = BeepDetector(RATE)
    beeps = [frame for frame in frames(audio, RATE) if detector.feed(np.frombuffer(frame, dtype="<i2"))]
    assert len(beeps) == (1 if is_beep else 0)


def test_speech_alone_never_sounds_like_a_beep(voice):
    detector = BeepDetector(RATE)
    audio = voice["greeting"] + voice["hello"]
    assert not any(detector.feed(np.frombuffer(frame, dtype="<i2")) for frame in frames(audio, RATE))


def test_a_person_saying_hello_twice_with_a_pause_is_not_a_machine(voice):
    audio = silence(RATE, 0.3) + voice["hello"] + silence(RATE, 1.5) + voice["hello"] + silence(RATE, 2.0)
    detector = MachineDetector(RATE)
    assert detect(audio, detector) == []
    assert detector.answered_by is None
    # Long speech after the first pause is a person talking, not a greeting.
    assert detect(voice["greeting"], detector) == []


def test_a_short_greeting_then_a_beep_is_still_a_machine(voice):
    audio = voice["hello"] + silence(RATE, 1.0) + phone(beep(0.5)) + silence(RATE, 0.5)
    assert [(v.source, v.message_end) for _, v in detect(audio)] == [("beep", True)]


def test_the_carriers_human_verdict_switches_local_detection_off(voice):
    detector = MachineDetector(RATE)
    assert detector.carrier("human", False) == [Verdict("human", "carrier")]
    assert detect(voice["greeting"] + phone(beep(0.5)) + silence(RATE, 2.0), detector) == []


def test_a_machine_reported_during_the_greeting_waits_for_the_beep(voice):
    detector = MachineDetector(RATE)
    assert detector.carrier("machine", False) == [Verdict("machine", "carrier")]
    verdicts = detect(voice["greeting"] + phone(beep(0.5)) + silence(RATE, 0.5), detector)
    assert [(v.source, v.message_end) for _, v in verdicts] == [("beep", True)]


def test_a_machine_reported_at_the_greetings_end_ends_it_at_once():
    detector = MachineDetector(RATE)
    assert detector.carrier("machine", True) == [Verdict("machine", "carrier", message_end=True)]
    assert detector.carrier("machine", True) == [] and detector.carrier("human", False) == []
    assert detector.feed(silence(RATE, 0.02)) == []

"""The call recorder: both sides on the call's clock, silence in the gaps, a barge-in cut, and a writer that drops
frames (and says so) rather than ever holding up the call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio.recorder import CallRecorder, recording_format, start_recorder
from engine.telephony.leg import AudioIn, LegClosed, LegEvent
from engine.telephony.recording_leg import RecordingLeg

RATE = 8000
FRAME = RATE // 50  # samples in 20 ms
T0 = 1000.0  # the call's clock starts here (monotonic seconds)


def tone(frames: int = 1, amplitude: int = 8000) -> bytes:
    n = FRAME * frames
    wave = amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)
    return wave.astype("<i2").tobytes()


def flac_sink(path: Path, rate: int) -> sf.SoundFile:
    """Lossless, so the test can see exactly where each sample landed."""
    return sf.SoundFile(path, "w", samplerate=rate, channels=2, format="FLAC", subtype="PCM_16")


def voiced(channel: np.ndarray) -> list[tuple[float, float]]:
    """The spans (seconds) where a channel is not silent, to the 20 ms frame."""
    spans: list[tuple[float, float]] = []
    loud = [bool(np.any(channel[i : i + FRAME])) for i in range(0, len(channel), FRAME)]
    start = None
    for i, on in enumerate([*loud, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append((start * FRAME / RATE, i * FRAME / RATE))
            start = None
    return spans


def test_both_sides_are_aligned_on_the_call_clock_with_silence_in_the_gaps_and_the_barge_in_cut(
    tmp_path: Path,
) -> None:
    path = tmp_path / "call.flac"
    recorder = CallRecorder(path, RATE, origin=T0, open_sink=flac_sink)
    recorder.start()
    # The lead speaks 0.0-0.5 s (a frame is stamped when it arrives, at its end).
    for i in range(25):
        recorder.lead(tone(), at=T0 + 0.02 * (i + 1))
    # Playout starts at 1.0 s: a pre-buffer of three frames at once, then one frame per 20 ms.
    for _ in range(3):
        recorder.agent(tone(), at=T0 + 1.0)
    for i in range(10):
        recorder.agent(tone(), at=T0 + 1.0 + 0.02 * (i + 1))
    # The lead barges in: the far end drops what it had buffered after 1.1 s.
    recorder.cut_agent(at=T0 + 1.1)
    # The lead again, 2.0-2.2 s.
    for i in range(10):
        recorder.lead(tone(), at=T0 + 2.0 + 0.02 * (i + 1))
    info = recorder.close()

    assert info.complete and info.dropped_frames == 0 and info.error is None
    assert info.file == "call.flac"
    data, rate = sf.read(path, dtype="int16")
    assert rate == RATE and data.shape == (int(2.2 * RATE), 2)
    assert voiced(data[:, 0]) == [(0.0, 0.5), (2.0, 2.2)]
    assert voiced(data[:, 1]) == [(1.0, 1.1)]


def test_a_full_queue_drops_frames_and_marks_the_recording_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "call.flac"
    recorder = CallRecorder(path, RATE, origin=T0, queue_frames=5, open_sink=flac_sink)
    # The writer has not taken anything yet (a stalled disk): the sixth frame on finds the queue full.
    for i in range(12):
        recorder.lead(tone(), at=T0 + 0.02 * (i + 1))
    info = recorder.close()

    assert info.complete is False and info.dropped_frames == 7
    data, _ = sf.read(path, dtype="int16")
    assert data.shape == (5 * FRAME, 2)  # what was kept is still a valid file


def test_a_full_disk_marks_the_recording_incomplete_and_the_caller_never_sees_the_error() -> None:
    recorder = CallRecorder(Path("/dev/full"), RATE, origin=T0)
    recorder.start()
    for i in range(3000):  # a minute of both sides, more than the encoder buffers before it writes
        recorder.lead(tone(), at=T0 + 0.02 * (i + 1))
        recorder.agent(tone(), at=T0 + 0.02 * i)
    info = recorder.close()

    assert info.complete is False
    assert info.error is not None


def test_the_recording_is_stereo_ogg_opus_that_soundfile_decodes_with_the_calls_duration(tmp_path: Path) -> None:
    recorder = start_recorder(tmp_path / "audio", "0b9e4c1e-3b8e-4bb0-9a3e-5f7c2d1e0a11", RATE)
    assert recorder is not None
    for i in range(100):  # two seconds of the lead; the agent answers for the second one
        at = recorder.origin + 0.02 * (i + 1)
        recorder.lead(tone(), at=at)
        if i >= 50:
            recorder.agent(tone(), at=at)
    info = recorder.close()

    path = tmp_path / "audio" / "0b9e4c1e-3b8e-4bb0-9a3e-5f7c2d1e0a11.ogg"
    assert info.complete and info.file == path.name
    with sf.SoundFile(path) as f:
        assert (f.format, f.subtype, f.channels, f.samplerate) == ("OGG", "OPUS", 2, RATE)
        assert f.frames / f.samplerate == pytest.approx(2.02, abs=0.03)


@pytest.mark.parametrize(
    ("rate", "suffix"), [(8000, ".ogg"), (16000, ".ogg"), (48000, ".ogg"), (44100, ".flac"), (22050, ".flac")]
)
def test_a_rate_opus_cannot_encode_is_kept_as_flac(rate: int, suffix: str) -> None:
    assert recording_format(rate)[0] == suffix


@pytest.mark.parametrize("call_id", ["../escape", ".hidden", "a/b", "", "x" * 65])
def test_a_call_id_that_is_not_a_plain_id_is_never_a_file_name(tmp_path: Path, call_id: str) -> None:
    assert start_recorder(tmp_path, call_id, RATE) is None


def test_no_recordings_directory_means_no_recorder(tmp_path: Path) -> None:
    assert start_recorder(None, "abc123", RATE) is None
    assert list(tmp_path.iterdir()) == []


class _Leg:
    """Just enough of a media leg: two inbound frames, then the far end hangs up."""

    sample_rate = RATE
    supports_marks = True

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.cleared = 0

    async def events(self):  # type: ignore[no-untyped-def]
        for event in (AudioIn(tone()), AudioIn(tone()), LegClosed("bye")):
            yield event

    async def send_audio(self, pcm: bytes) -> None:
        self.sent.append(pcm)

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None:
        self.cleared += 1

    async def hangup(self) -> None: ...


def test_the_recording_leg_passes_everything_through_and_copies_both_directions(tmp_path: Path) -> None:
    inner = _Leg()
    recorder = CallRecorder(tmp_path / "c.flac", RATE, open_sink=flac_sink)  # not started: frames stay queued
    leg = RecordingLeg(inner, recorder)

    async def use() -> list[LegEvent]:
        events = [e async for e in leg.events()]
        await leg.send_audio(tone())
        await leg.clear()
        return events

    events = asyncio.run(use())
    assert [type(e).__name__ for e in events] == ["AudioIn", "AudioIn", "LegClosed"]
    assert len(inner.sent) == 1 and inner.cleared == 1
    assert [kind for kind, _, _ in list(recorder._queue.queue)] == [0, 0, 1, 2]  # lead, lead, agent, cut
    assert recorder.close().complete


def test_inbound_frames_held_up_and_delivered_in_a_burst_still_land_on_the_call_clock(tmp_path: Path) -> None:
    path = tmp_path / "call.flac"
    recorder = CallRecorder(path, RATE, origin=T0, open_sink=flac_sink)
    recorder.start()
    # Half a second the lead said before the pipeline read anything arrives at once, as the call starts.
    for _ in range(25):
        recorder.lead(tone(), at=T0 + 0.005)
    # Then frames in real time until 0.5 s, ...
    for i in range(25):
        recorder.lead(tone(), at=T0 + 0.02 * (i + 1))
    # ... nothing for 0.3 s (the network held them), then those 15 frames at once at 0.8 s, and real time again.
    for _ in range(15):
        recorder.lead(tone(), at=T0 + 0.8)
    for i in range(10):
        recorder.lead(tone(), at=T0 + 0.8 + 0.02 * (i + 1))
    # The agent speaks at 1.5 s: the lead's side must not have drifted later meanwhile.
    recorder.lead(tone(), at=T0 + 1.5)
    info = recorder.close()

    assert info.complete
    data, _ = sf.read(path, dtype="int16")
    assert data.shape[0] == int(1.5 * RATE)  # the last frame ends at 1.5 s, not later
    *said, last = voiced(data[:, 0])
    assert last == (1.48, 1.5)
    # Up to 1.0 s the lead spoke without a break: laid down within the jitter allowance (40 ms) of where it was
    # said, the held-up frames in the place of the silence that stood for them. Of what came before the call's
    # clock started only the last frame is kept (at 0 s).
    assert said[0][0] == 0.0 and said[-1][1] <= 1.0 + 0.04
    assert sum(end - start for start, end in said) == pytest.approx(0.02 + 1.0)

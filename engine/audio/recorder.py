"""A call's recording: both sides, on the call's clock, written by a thread that the call never waits for.

The event loop hands each frame to a bounded queue with ``put_nowait`` and goes on. The writer thread places
every frame on its channel's timeline (left: the lead, right: the agent) at the moment it passed the leg, fills
gaps with silence, and writes both channels in step. What the writer cannot keep up with (a full queue, a slow
or full disk) is dropped, and the recording says it is incomplete; playout and the call never notice.

Frames that arrive in a burst (playout's pre-buffer, a transport catching up) are laid end to end: a frame
goes where it was sent or right after the previous one, whichever is later, so the agent's channel is what the
lead heard. A barge-in cuts the agent's channel where the far end dropped its buffer.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine.records import RecordingInfo

LEAD, AGENT, CUT = 0, 1, 2
_STOP = None
# Opus encodes only these rates; a leg at another rate is kept losslessly instead.
OPUS_RATES = frozenset({8000, 12000, 16000, 24000, 48000})
QUEUE_FRAMES = 1500  # 30 s of 20 ms frames, both sides together: far more than a healthy disk ever lags
FLUSH_LAG_S = 1.0  # how long a frame may arrive late and still land where it belongs (and a cut still reach it)
JITTER_S = 0.04  # a frame this close after its channel's end joins it without a gap
CLOSE_TIMEOUT_S = 10.0
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")

Sink = Any  # soundfile.SoundFile, or a stand-in with write(ndarray) and close()


def recording_format(sample_rate: int) -> tuple[str, str, str]:
    """(suffix, soundfile format, subtype) for a leg's sample rate."""
    if sample_rate in OPUS_RATES:
        return ".ogg", "OGG", "OPUS"
    return ".flac", "FLAC", "PCM_16"


def open_sink(path: Path, sample_rate: int) -> Sink:
    _, fmt, subtype = recording_format(sample_rate)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only, as the data directory is
    return sf.SoundFile(path, "w", samplerate=sample_rate, channels=2, format=fmt, subtype=subtype)


def start_recorder(directory: Path | None, call_id: str, sample_rate: int) -> CallRecorder | None:
    """A started recorder for ``call_id`` under ``directory`` (None: this engine keeps no recordings)."""
    # The id names a file: an ad-hoc stream's caller chooses it, so only plain ids (UUIDs, hex) are recorded.
    if directory is None or not _PLAIN_ID.fullmatch(call_id):
        return None
    suffix, _, _ = recording_format(sample_rate)
    recorder = CallRecorder(directory / f"{call_id}{suffix}", sample_rate)
    recorder.start()
    return recorder


class _Channel:
    __slots__ = ("end", "gaps", "pending")

    def __init__(self) -> None:
        self.pending = bytearray()  # PCM16 not yet written, starting at the recorder's ``written`` sample
        self.end = 0  # the sample after this channel's last one
        self.gaps: list[tuple[int, int]] = []  # (first sample, length) of the silence put in for missing frames


class CallRecorder:
    """Record one call to ``path``. ``lead``/``agent``/``cut_agent`` are for the event loop (they never block);
    ``close`` blocks (run it in a thread) and says whether the recording is complete."""

    def __init__(
        self,
        path: Path,
        sample_rate: int,
        *,
        origin: float | None = None,
        queue_frames: int = QUEUE_FRAMES,
        clock: Callable[[], float] = time.monotonic,
        open_sink: Callable[[Path, int], Sink] = open_sink,
    ) -> None:
        self.path = path
        self.rate = sample_rate
        self._clock = clock
        self.origin = clock() if origin is None else origin
        self._queue: queue.Queue[tuple[int, float, bytes] | None] = queue.Queue(maxsize=queue_frames)
        self._open_sink = open_sink
        self._thread: threading.Thread | None = None
        self._channels = (_Channel(), _Channel())
        self._written = 0
        self._latest = 0  # the latest sample any frame was placed at: the timeline's "now"
        self.dropped = 0  # counted on the event loop
        self._lost = 0  # counted by the writer after a failure
        self.error: str | None = None
        self._lag = int(FLUSH_LAG_S * sample_rate)
        self._jitter = int(JITTER_S * sample_rate)

    # -- the event loop's side -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.path.stem[:8]}", daemon=True)
        self._thread.start()

    def lead(self, pcm: bytes, at: float | None = None) -> None:
        self._offer(LEAD, pcm, at)

    def agent(self, pcm: bytes, at: float | None = None) -> None:
        self._offer(AGENT, pcm, at)

    def cut_agent(self, at: float | None = None) -> None:
        """The far end dropped what it had buffered of the agent's speech: nothing after ``at`` was heard."""
        self._offer(CUT, b"", at)

    def _offer(self, kind: int, pcm: bytes, at: float | None) -> None:
        try:
            self._queue.put_nowait((kind, self._clock() if at is None else at, pcm))
        except queue.Full:
            self.dropped += 1

    # -- the end -------------------------------------------------------------------------------------------------
    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> RecordingInfo:
        """Write what is left and close the file. A writer stuck on the disk is abandoned (the recording is then
        incomplete), so a call's end never waits on it for longer than ``timeout_s``."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            self.error = self.error or "writer did not keep up"
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.error = self.error or "writer did not finish"
        dropped = self.dropped + self._lost
        return RecordingInfo(
            file=self.path.name,
            complete=dropped == 0 and self.error is None,
            dropped_frames=dropped,
            error=self.error,
        )

    # -- the writer thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        sink: Sink | None = None
        try:
            sink = self._open_sink(self.path, self.rate)
            while (item := self._queue.get()) is not _STOP:
                self._place(*item)
                self._flush(sink, self._latest - self._lag)
            self._flush(sink, max(c.end for c in self._channels))
        except Exception as exc:  # the disk failed: the call goes on, the recording keeps what it has
            self.error = f"{type(exc).__name__}: {exc}"[:200]
            self._drain()
        finally:
            if sink is not None:
                try:
                    sink.close()
                except Exception as exc:
                    self.error = self.error or f"{type(exc).__name__}: {exc}"[:200]

    def _drain(self) -> None:
        """Count what arrives after a failure as dropped, until the call ends."""
        while (item := self._queue.get()) is not _STOP:
            if item[0] != CUT:
                self._lost += 1

    def _sample(self, at: float) -> int:
        return max(0, round((at - self.origin) * self.rate))

    def _place(self, kind: int, at: float, pcm: bytes) -> None:
        if kind == CUT:
            agent = self._channels[AGENT]
            keep = max(self._sample(at), self._written)
            if keep < agent.end:
                del agent.pending[(keep - self._written) * 2 :]
                agent.end = keep
            return
        channel = self._channels[kind]
        n = len(pcm) // 2
        # An inbound frame is stamped when it arrived, i.e. at its end; an outbound one when it left, its start.
        start = self._sample(at) - (n if kind == LEAD else 0)
        if start > channel.end + self._jitter:
            if kind == LEAD:
                if len(channel.gaps) > 64:  # only the unwritten ones can be taken back
                    channel.gaps = [g for g in channel.gaps if g[0] + g[1] > self._written]
                channel.gaps.append((channel.end, start - channel.end))
            channel.pending.extend(bytes(2 * (start - channel.end)))
            channel.end = start
        elif kind == LEAD and channel.end - max(start, 0) > self._jitter:
            self._catch_up(channel, channel.end - max(start, 0))
        channel.pending.extend(pcm[: 2 * n])
        channel.end += n
        self._latest = max(self._latest, channel.end)

    def _catch_up(self, channel: _Channel, ahead: int) -> None:
        """Inbound frames held up and then delivered in a burst (the network, or the call's first moments before
        the pipeline reads) would push the lead's side later than it was said, for the rest of the call. Take the
        excess back: first from the silence put in while they were missing, then from the held-up audio itself
        (older than the place it would take), so that the frame arriving now lands at its moment."""
        while ahead > 0 and channel.gaps:
            first, length = channel.gaps[-1]
            first = max(first, self._written)  # what is written stays
            stop = channel.gaps[-1][0] + length
            take = min(ahead, stop - first)
            if take <= 0:
                channel.gaps.clear()
                break
            del channel.pending[(stop - take - self._written) * 2 : (stop - self._written) * 2]
            channel.end -= take
            ahead -= take
            if take == stop - first:
                channel.gaps.pop()
            else:
                channel.gaps[-1] = (channel.gaps[-1][0], length - take)
        if ahead > 0:
            keep = max(channel.end - ahead, self._written)
            del channel.pending[(keep - self._written) * 2 :]
            channel.end = keep

    def _flush(self, sink: Sink, upto: int) -> None:
        """Write both channels up to sample ``upto``, the one that has fallen silent padded with silence."""
        count = upto - self._written
        if count <= 0:
            return
        columns = []
        for channel in self._channels:
            have = len(channel.pending) // 2
            if have < count:
                channel.pending.extend(bytes(2 * (count - have)))
                channel.end = upto
            columns.append(np.frombuffer(bytes(channel.pending[: 2 * count]), dtype="<i2"))
            del channel.pending[: 2 * count]
        sink.write(np.column_stack(columns))
        self._written = upto

"""Last stage: paces synthesized speech onto the leg in real time and reports what the lead actually heard.

Audio leaves in 20 ms frames on an absolute schedule (no drift, no bursts a carrier would drop), after a small
pre-buffer that absorbs network jitter and the engine's own short stalls: ``prebuffer_frames`` (60 ms) for an RTP
peer, the leg's ``lead_frames`` for a carrier that queues what it is sent. A leg that carries several frames per
message (a carrier WebSocket) gets them joined, sent when the first of them is due. A leg that holds frames until
they fill a carrier's chunk (Exotel) gets that many frames more in the pre-buffer, so its first chunk leaves at once
and the carrier is as far ahead as any other; when speech runs dry before a chunk is full, the leg is told to flush
it. After each utterance a carrier ``mark`` is sent; its echo is the moment the lead finished hearing it. On barge-in
the queue is dropped, the carrier is told to ``clear`` its buffer, and the played part of the utterance is reported
upstream so the transcript records only what was heard.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from loguru import logger
from pipecat.frames.frames import Frame, InterruptionFrame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.audio.pcm import FRAME_MS
from engine.audio.pcm import frames as split_frames
from engine.pipeline.frames import LegClosedFrame, LegMarkFrame, PlayoutFrame, SpeechAudioFrame
from engine.telephony.leg import ChunkingLeg, GroupingLeg, MediaLeg

FRAME_S = FRAME_MS / 1000


@dataclass
class _Utterance:
    utterance_id: int
    pieces: list[tuple[str, int]] = field(default_factory=list)  # (text, frames)
    frames_queued: int = 0
    frames_sent: int = 0
    complete: bool = False  # the last piece has arrived
    first_sent_at: float | None = None
    last_sent_at: float | None = None
    done: bool = False
    mark_sent: bool = False

    def played_text(self, frames_played: int) -> str:
        words: list[str] = []
        remaining = frames_played
        for text, n in self.pieces:
            if remaining >= n:
                words.extend(text.split())
                remaining -= n
            else:
                piece_words = text.split()
                words.extend(piece_words[: int(len(piece_words) * remaining / max(n, 1))])
                break
        return " ".join(words)


@dataclass
class PlayoutStats:
    frames_sent: int = 0
    # A frame later than the far end's pre-buffer (it has nothing left to play), or speech that ran out mid-utterance:
    # both are gaps the lead hears.
    underruns: int = 0
    late_frames: int = 0  # frames more than one slot late but still inside the pre-buffer: not audible
    starved: int = 0  # of the underruns: speech ran out mid-utterance (the next piece was still being synthesized)
    max_lateness_s: float = 0.0


class Playout(FrameProcessor):
    def __init__(self, leg: MediaLeg, *, prebuffer_frames: int = 3, **kwargs: object) -> None:
        super().__init__(name="Playout", **kwargs)  # type: ignore[arg-type]
        self._leg = leg
        self._prebuffer = max(1, leg.lead_frames) if isinstance(leg, GroupingLeg) else prebuffer_frames
        self._chunking = leg if isinstance(leg, ChunkingLeg) and leg.hold_frames > 1 else None
        self._group = max(1, leg.frames_per_message) if isinstance(leg, GroupingLeg) else 1
        # Frames sent at once when speech starts: the pre-buffer, plus the frames a chunking leg holds back.
        self._lead = self._prebuffer + (self._chunking.hold_frames - 1 if self._chunking is not None else 0)
        self._queue: deque[tuple[int, bytes]] = deque()
        self._utterances: dict[int, _Utterance] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.stats = PlayoutStats()

    # -- frames --------------------------------------------------------------------------------------------------
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._task = self.create_task(self._pace(), "playout")
        elif isinstance(frame, SpeechAudioFrame):
            self._enqueue(frame)
        elif isinstance(frame, LegMarkFrame):
            await self._on_mark(frame.mark)
        elif isinstance(frame, InterruptionFrame):
            await self._interrupt()
            await self.push_frame(frame, direction)
        elif isinstance(frame, LegClosedFrame):
            self._closed = True
            self._queue.clear()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)

    def _enqueue(self, frame: SpeechAudioFrame) -> None:
        utt = self._utterances.setdefault(frame.utterance_id, _Utterance(frame.utterance_id))
        chunks = list(split_frames(frame.pcm, self._leg.sample_rate))
        utt.pieces.append((frame.text, len(chunks)))
        utt.frames_queued += len(chunks)
        utt.complete = utt.complete or frame.last
        self._queue.extend((frame.utterance_id, chunk) for chunk in chunks)
        if frame.last and not chunks:
            self._queue.append((frame.utterance_id, b""))
        self._wake.set()

    # -- pacing --------------------------------------------------------------------------------------------------
    async def _pace(self) -> None:
        next_at = 0.0
        idle = True
        while not self._closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            if idle or next_at < now - FRAME_S * self._lead:
                # Starting from silence: the pre-buffer goes out at once, then one frame per 20 ms.
                next_at = now - FRAME_S * self._lead
                idle = False
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self._queue:
                continue
            utterance_id, pcm = self._queue.popleft()
            lateness = time.monotonic() - next_at
            utt = self._utterances.get(utterance_id)
            if utt is None:
                continue
            if pcm:
                if lateness > FRAME_S and utt.frames_sent > self._lead:
                    self._count_late(lateness)
                pcm, group = self._join_group(utterance_id, pcm)
                try:
                    await self._leg.send_audio(pcm)
                except Exception as exc:
                    logger.info("playout stopped: {}", type(exc).__name__)
                    self._closed = True
                    return
                self.stats.frames_sent += group
                utt.frames_sent += group
                sent_at = time.monotonic()
                utt.last_sent_at = sent_at
                if utt.first_sent_at is None:
                    utt.first_sent_at = sent_at
                    await self.push_frame(
                        PlayoutFrame(utterance_id=utterance_id, event="started", at=sent_at), FrameDirection.UPSTREAM
                    )
                next_at += FRAME_S * group
            # The rare cases (a late frame above; here an utterance sent whole, or a dry queue) go to helpers, but
            # their checks stay inline so that a steady 20 ms frame pays for no extra call.
            if not self._queue or (utt.complete and utt.frames_sent >= utt.frames_queued):
                idle = await self._after_sent_or_drained(utt)

    def _join_group(self, utterance_id: int, pcm: bytes) -> tuple[bytes, int]:
        """``pcm`` and the queued frames of the same utterance that go with it in one message, and their count."""
        group = 1
        while group < self._group and self._queue and self._queue[0][0] == utterance_id and self._queue[0][1]:
            pcm += self._queue.popleft()[1]
            group += 1
        return pcm, group

    def _count_late(self, lateness: float) -> None:
        self.stats.max_lateness_s = max(self.stats.max_lateness_s, lateness)
        if lateness > FRAME_S * self._lead:
            self.stats.underruns += 1
        else:
            self.stats.late_frames += 1

    async def _after_sent_or_drained(self, utt: _Utterance) -> bool:
        """Closes ``utt`` if it has gone out whole. Returns whether playout falls idle: the queue ran dry at the end
        of an utterance, so the next one starts from silence with a fresh pre-buffer."""
        if utt.complete and utt.frames_sent >= utt.frames_queued:
            await self._finish_sending(utt)
        if self._queue:
            return False
        if utt.complete:
            return True
        # Speech is still being synthesized: this gap is audible.
        self.stats.underruns += 1
        self.stats.starved += 1
        if self._chunking is not None:
            # What the leg holds would otherwise wait for the next piece: the lead would hear the gap mid-word,
            # and a reply's first words would wait for its second piece.
            try:
                await self._chunking.flush()
            except Exception as exc:
                logger.info("playout stopped: {}", type(exc).__name__)
                self._closed = True
        return False

    async def _finish_sending(self, utt: _Utterance) -> None:
        if utt.mark_sent:
            return
        utt.mark_sent = True
        if utt.first_sent_at is None:
            utt.first_sent_at = utt.last_sent_at = time.monotonic()
            await self.push_frame(
                PlayoutFrame(utterance_id=utt.utterance_id, event="started", at=utt.first_sent_at),
                FrameDirection.UPSTREAM,
            )
        if self._leg.supports_marks:
            await self._leg.send_mark(f"u{utt.utterance_id}")
        else:
            # No playout echo on this leg: the lead hears the end once the pre-buffer has drained.
            self.create_task(self._finish_later(utt, self._prebuffer * FRAME_S), f"finish-u{utt.utterance_id}")

    async def _finish_later(self, utt: _Utterance, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._finished(utt)

    async def _on_mark(self, name: str) -> None:
        if not name.startswith("u"):
            return
        try:
            utt = self._utterances.get(int(name[1:]))
        except ValueError:
            return
        if utt is not None:
            await self._finished(utt)

    async def _finished(self, utt: _Utterance) -> None:
        if utt.done:
            return
        utt.done = True
        self._utterances.pop(utt.utterance_id, None)
        await self.push_frame(
            PlayoutFrame(
                utterance_id=utt.utterance_id,
                event="finished",
                at=time.monotonic(),
                played_text=utt.played_text(utt.frames_queued),
                played_s=utt.frames_sent * FRAME_S,
            ),
            FrameDirection.UPSTREAM,
        )

    async def _interrupt(self) -> None:
        now = time.monotonic()
        self._queue.clear()
        pending = [u for u in self._utterances.values() if not u.done]
        if any(u.frames_sent for u in pending):
            try:
                await self._leg.clear()
            except Exception as exc:
                logger.info("clear failed: {}", type(exc).__name__)
        for utt in pending:
            utt.done = True
            played = 0
            if utt.first_sent_at is not None:
                heard_s = now - utt.first_sent_at - self._prebuffer * FRAME_S
                played = max(0, min(utt.frames_sent, int(heard_s / FRAME_S)))
            await self.push_frame(
                PlayoutFrame(
                    utterance_id=utt.utterance_id,
                    event="interrupted",
                    at=now,
                    played_text=utt.played_text(played),
                    played_s=played * FRAME_S,
                ),
                FrameDirection.UPSTREAM,
            )
        self._utterances.clear()

    @property
    def busy(self) -> bool:
        return bool(self._queue) or any(not u.done for u in self._utterances.values())

    async def cleanup(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self.cancel_task(self._task)
        await super().cleanup()

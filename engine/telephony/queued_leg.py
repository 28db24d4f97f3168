"""``QueuedLeg``: the half of a ``MediaLeg`` shared by transports that are driven by callbacks (RTP, WebRTC).

Their sockets and tracks call back on the event loop with inbound audio, digits and played marks; those go into
one queue that ``events()`` drains, and closing puts a single ``LegClosed`` at its end. Outbound audio and marks
go into the transport's own paced queue, which is all a subclass supplies, besides ``clear`` and ``hangup``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from engine.telephony.leg import LegClosed, LegEvent


class QueuedLeg(ABC):
    def __init__(self) -> None:
        self._events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self._closed = False

    @property
    @abstractmethod
    def sample_rate(self) -> int: ...

    @property
    def supports_marks(self) -> bool:
        # The leg paces its own outbound stream, so it knows when the audio before a mark has left.
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    async def events(self) -> AsyncIterator[LegEvent]:
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, LegClosed):
                return

    async def send_audio(self, pcm: bytes) -> None:
        if not self._closed:
            self._queue_audio(pcm)

    async def send_mark(self, name: str) -> None:
        if not self._closed:
            self._queue_mark(name)

    @abstractmethod
    async def clear(self) -> None: ...

    @abstractmethod
    async def hangup(self) -> None: ...

    @abstractmethod
    def _queue_audio(self, pcm: bytes) -> None:
        """Queue one frame behind what is already waiting to be sent."""

    @abstractmethod
    def _queue_mark(self, name: str) -> None:
        """Queue a mark, to come back as ``MarkPlayed`` once everything before it has been sent."""

    def _close(self, reason: str, *, by_remote: bool) -> None:
        """End the event stream (once): release the transport, then tell the pipeline why."""
        if self._closed:
            return
        self._closed = True
        self._release()
        self._events.put_nowait(LegClosed(reason, by_remote=by_remote))

    @abstractmethod
    def _release(self) -> None:
        """Free what the leg holds that need not wait for ``hangup``; runs once, when the leg closes."""

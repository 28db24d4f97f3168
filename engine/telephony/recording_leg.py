"""A media leg that hands a copy of both directions to a call recorder: what the lead said as it arrived, what
playout sent as it left, and where a barge-in cleared the far end's buffer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from engine.audio.recorder import CallRecorder
from engine.telephony.leg import AudioIn, LegEvent, MediaLeg


class RecordingLeg:
    def __init__(self, leg: MediaLeg, recorder: CallRecorder) -> None:
        self._leg = leg
        self._recorder = recorder

    @property
    def sample_rate(self) -> int:
        return self._leg.sample_rate

    @property
    def supports_marks(self) -> bool:
        return self._leg.supports_marks

    async def events(self) -> AsyncIterator[LegEvent]:
        async for event in self._leg.events():
            if isinstance(event, AudioIn):
                self._recorder.lead(event.pcm)
            yield event

    async def send_audio(self, pcm: bytes) -> None:
        await self._leg.send_audio(pcm)
        self._recorder.agent(pcm)

    async def send_mark(self, name: str) -> None:
        await self._leg.send_mark(name)

    async def clear(self) -> None:
        self._recorder.cut_agent()
        await self._leg.clear()

    async def hangup(self) -> None:
        await self._leg.hangup()

    def __getattr__(self, name: str) -> object:
        # Whatever else a transport offers (carrier-specific controls) is the wrapped leg's.
        return getattr(self._leg, name)

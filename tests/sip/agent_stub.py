"""A stand-in for the call pipeline: greet, then record what the far end says and presses until hangup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from engine.telephony.leg import AudioIn, DtmfIn, LegClosed, MarkPlayed
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.server import SipCallInfo


@dataclass
class StubCall:
    info: SipCallInfo
    heard: bytearray = field(default_factory=bytearray)
    digits: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    closed: LegClosed | None = None
    packets_out: int = 0


class GreetingAgent:
    """``on_call`` for SipServer: plays ``greeting`` then listens until the far end hangs up (or ``max_s``)."""

    def __init__(self, greeting: bytes, max_s: float = 30.0, hangup_after_greeting: bool = False) -> None:
        self.greeting = greeting
        self.max_s = max_s
        self.hangup_after_greeting = hangup_after_greeting
        self.calls: list[StubCall] = []
        self.finished = asyncio.Event()

    async def __call__(self, info: SipCallInfo, leg: RtpMediaLeg) -> StubCall:
        call = StubCall(info)
        self.calls.append(call)
        await leg.send_audio(self.greeting)
        await leg.send_mark("greeting")
        try:
            async with asyncio.timeout(self.max_s):
                async for event in leg.events():
                    if isinstance(event, AudioIn):
                        call.heard += event.pcm
                    elif isinstance(event, DtmfIn):
                        call.digits.append(event.digit)
                    elif isinstance(event, MarkPlayed):
                        call.marks.append(event.name)
                        if self.hangup_after_greeting:
                            await asyncio.sleep(0.3)
                            await leg.hangup()
                    elif isinstance(event, LegClosed):
                        call.closed = event
        except TimeoutError:
            await leg.hangup()
        call.packets_out = leg.session.stats.packets_out
        self.finished.set()
        return call

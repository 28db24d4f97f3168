"""Warm (attended) transfer over a SIP trunk: call the salesperson on a second leg through the same trunk, speak
the whisper to them, then REFER the lead's call to them with ``Replaces`` naming that second dialog (RFC 3515,
RFC 3891, as in RFC 5589 7), so the trunk joins the lead to the salesperson's call already up.

Nobody answering within the ringing time (or the salesperson hanging up during the whisper) fails the transfer,
and the engine turns the call into a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol
from urllib.parse import quote

from engine.records import TransferResult
from engine.telephony.leg import LegClosed, MarkPlayed, frame_bytes
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.server import SipCallInfo, SipServer
from engine.telephony.sip.trunk import SipTrunkConfig

WHISPER_MARK = "whisper-done"
WHISPER_MAX_S = 60.0  # bounds a whisper that never finishes playing (a leg that stopped sending)


class Referable(Protocol):
    async def refer(self, target_uri: str, answer_timeout_s: float) -> TransferResult: ...


def replaces_uri(target_uri: str, call_id: str, local_tag: str, remote_tag: str) -> str:
    """``target_uri`` with a ``Replaces`` header naming our dialog with the salesperson. The tags are as the
    salesperson's UA sees the dialog: its own (our remote tag) is the to-tag, ours the from-tag (RFC 3891 3)."""
    replaces = f"{call_id};to-tag={remote_tag};from-tag={local_tag}"
    return f"{target_uri}?Replaces={quote(replaces, safe='')}"


async def speak(leg: RtpMediaLeg, pcm: bytes) -> bool:
    """Play ``pcm`` (16-bit 8 kHz) to the far end; True once it has all been sent, False if the call ended."""
    size = frame_bytes(leg.sample_rate)
    for start in range(0, len(pcm), size):
        frame = pcm[start : start + size]
        await leg.send_audio(frame.ljust(size, b"\0"))
    await leg.send_mark(WHISPER_MARK)
    async with asyncio.timeout(WHISPER_MAX_S):
        async for event in leg.events():
            if isinstance(event, MarkPlayed) and event.name == WHISPER_MARK:
                return True
            if isinstance(event, LegClosed):
                return False
    return False


async def warm_refer(
    trunk: SipTrunkConfig, lead: Referable, number: str, whisper_pcm: bytes, ring_timeout_s: float
) -> TransferResult:
    """Call ``number`` through ``trunk``, whisper, then REFER ``lead`` to it with Replaces."""
    server = SipServer(trunk.local_host, 0)
    await server.start()
    results: list[TransferResult] = []

    async def answered(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        if not await speak(leg, whisper_pcm):
            results.append(TransferResult(False, "the salesperson hung up during the whisper"))
            return
        assert server.endpoint is not None
        ids = server.endpoint.dialog_ids(info.call_id)
        if ids is None:
            results.append(TransferResult(False, "the salesperson's call has no dialog"))
            return
        target = replaces_uri(trunk.request_uri(number), *ids)
        results.append(await lead.refer(target, ring_timeout_s))

    try:
        outcome = await server.place_call(trunk, number, answered, ring_timeout_s=ring_timeout_s)
    finally:
        with contextlib.suppress(Exception):
            await _settle(server)
        await server.stop()
    if outcome.disposition != "answered":
        return TransferResult(False, f"the salesperson did not answer ({outcome.disposition})")
    return results[0] if results else TransferResult(False, "the salesperson's call ended")


async def _settle(server: SipServer, max_s: float = 2.0) -> None:
    """Let our BYE to the salesperson's leg see its answer before the socket closes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + max_s
    while server.endpoint is not None and server.endpoint.requests_in_flight() and loop.time() < end:
        await asyncio.sleep(0.02)

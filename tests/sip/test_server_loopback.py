"""Two of our own user agents on loopback sockets: one answers, one places the call (UDP and TCP)."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pytest

from engine.telephony.sip import SipServer, SipTrunkConfig, place_call
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.message import SipResponse, parse_message
from engine.telephony.sip.rtp import RtpPacket, build_telephone_event
from engine.telephony.sip.server import SipCallInfo
from tests.sip.agent_stub import GreetingAgent
from tests.sip.audio import rms
from tests.sip.peer import Peer
from tests.sip.sipp import free_port


def tone(seconds: float, freq: float = 440.0, level: int = 8000) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (np.sin(2 * np.pi * freq * t) * level).astype("<i2").tobytes()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_call_between_two_endpoints(transport: str) -> None:
    agent = GreetingAgent(tone(0.6, 440), max_s=10)
    async with SipServer("127.0.0.1", 0, agent) as server:
        heard = bytearray()

        async def caller(info: SipCallInfo, leg: RtpMediaLeg) -> int:
            await leg.send_audio(tone(0.6, 880))
            # RFC 4733 "7" straight onto the engine's RTP port, like a phone would send it.
            remote = leg.session.remote
            assert remote is not None
            packets = [
                RtpPacket(101, 500 + i, 123456, 42, build_telephone_event(7, end=i > 2, duration=160 * i)).build()
                for i in range(6)
            ]
            loop = asyncio.get_running_loop()
            sock_leg = leg._transport
            assert sock_leg is not None
            for p in packets:
                sock_leg.sendto(p, remote)
            end = loop.time() + 1.5
            async for event in leg.events():
                pcm = getattr(event, "pcm", None)
                if pcm:
                    heard.extend(pcm)
                if loop.time() > end:
                    break
            return len(heard)

        trunk = SipTrunkConfig(host="127.0.0.1", port=server.port, transport=transport)  # type: ignore[arg-type]
        result = await place_call(trunk, "+919876543210", caller, ring_timeout_s=5)
        assert result.disposition == "answered" and result.status == 200
        await asyncio.wait_for(agent.finished.wait(), 5)
    (call,) = agent.calls
    assert call.info.dialed == "+919876543210" and call.info.transport == transport
    assert call.marks == ["greeting"]
    assert call.digits == ["7"]
    assert call.closed is not None and call.closed.by_remote  # the caller hung up: BYE reached us
    assert rms(bytes(call.heard)) > 1000  # the caller's tone arrived
    assert rms(bytes(heard)) > 1000  # and our greeting reached the caller
    assert server.active_calls == 0


async def test_inbound_call_survives_garbage_on_both_sockets() -> None:
    agent = GreetingAgent(tone(0.4), max_s=10, hangup_after_greeting=True)
    async with SipServer("127.0.0.1", 0, agent) as server:
        loop = asyncio.get_running_loop()
        junk_transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))

        async def caller(info: SipCallInfo, leg: RtpMediaLeg) -> None:
            remote = leg.session.remote
            assert remote is not None
            for junk in (b"", b"\x00" * 3, b"INVITE garbage\r\n\r\n", b"\x80" * 11):
                junk_transport.sendto(junk, ("127.0.0.1", server.port))
                junk_transport.sendto(junk, remote)
            async for _ in leg.events():
                pass

        trunk = SipTrunkConfig(host="127.0.0.1", port=server.port)
        result = await place_call(trunk, "100", caller, ring_timeout_s=5)
        junk_transport.close()
        assert result.disposition == "answered"
        await asyncio.wait_for(agent.finished.wait(), 5)
        assert server.dropped >= 1
        (call,) = agent.calls
        assert call.closed is not None and not call.closed.by_remote  # we hung up after the greeting
        assert call.packets_out >= 20


async def test_place_call_rejects_a_bad_number() -> None:
    with pytest.raises(ValueError, match="to_number"):
        await place_call(SipTrunkConfig(host="127.0.0.1", port=9), "12 34", GreetingAgent(b""))


async def test_rtp_ports_come_from_the_configured_range() -> None:
    agent = GreetingAgent(tone(0.2), max_s=5, hangup_after_greeting=True)
    ports: list[int] = []

    async def caller(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        async for _ in leg.events():
            pass

    async with SipServer("127.0.0.1", 0, agent, rtp_port_range=(42000, 42010)) as server:
        original = agent.__call__

        async def spy(info: SipCallInfo, leg: RtpMediaLeg) -> object:
            ports.append(leg.port)
            return await original(info, leg)

        server.on_call = spy
        result = await place_call(SipTrunkConfig(host="127.0.0.1", port=server.port), "100", caller, ring_timeout_s=5)
    assert result.disposition == "answered"
    assert len(ports) == 1 and 42000 <= ports[0] <= 42010 and ports[0] % 2 == 0
    with pytest.raises(ValueError, match="rtp_port_range"):
        SipServer("127.0.0.1", 0, agent, rtp_port_range=(5000, 4000))


async def test_missing_ack_ends_the_call_and_tells_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller that never ACKs our 200: after 64*T1 the endpoint BYEs and the leg closes (no call runs forever)."""
    import engine.telephony.sip.uas as uas_module

    monkeypatch.setattr(uas_module, "T1", 0.02)  # 64*T1 = 1.3 s instead of 32 s
    agent = GreetingAgent(tone(0.2), max_s=60)
    async with SipServer("127.0.0.1", 0, agent) as server:
        loop = asyncio.get_running_loop()
        peer, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        try:
            peer.sendto(Peer().invite(), ("127.0.0.1", server.port))
            await asyncio.wait_for(agent.finished.wait(), 10)
        finally:
            peer.close()
    (call,) = agent.calls
    assert call.closed is not None and call.closed.reason == "no ACK for 200" and not call.closed.by_remote


async def test_the_engine_listens_on_the_port_it_is_given() -> None:
    from engine.facade import Engine

    port = free_port()
    server = await Engine().start_sip_listener("127.0.0.1", port)
    try:
        assert server.port == port

        def options() -> bytes:  # a blocking peer, off the loop the listener runs on
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                sock.sendto(Peer().request("OPTIONS"), ("127.0.0.1", port))
                return sock.recv(65535)

        reply = parse_message(await asyncio.to_thread(options))
        assert isinstance(reply, SipResponse) and reply.status == 200
    finally:
        await server.stop()


async def test_an_invite_beyond_the_admission_limit_is_refused_with_503() -> None:
    agent = GreetingAgent(tone(0.2), max_s=5, hangup_after_greeting=True)
    full = True

    async def caller(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        async for _ in leg.events():
            pass

    async with SipServer("127.0.0.1", 0, agent, admit=lambda: not full) as server:
        trunk = SipTrunkConfig(host="127.0.0.1", port=server.port)
        refused = await place_call(trunk, "100", caller, ring_timeout_s=5)
        assert refused.disposition != "answered" and refused.status == 503
        assert agent.calls == []
        full = False
        answered = await place_call(trunk, "100", caller, ring_timeout_s=5)
        assert answered.disposition == "answered"

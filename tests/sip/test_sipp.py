"""sipp as the far end: a caller that speaks and presses 1, and callees the engine dials out to."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from engine.telephony.leg import AudioIn, LegClosed
from engine.telephony.sip import SipServer, SipTrunkConfig
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.server import SipCallInfo
from tests.sip.agent_stub import GreetingAgent
from tests.sip.audio import rms, speech_pcm, transcribe, words, write_ulaw
from tests.sip.sipp import DTMF_PCAP_DIR, Sipp, free_port, scenario, uac_args, uas_args


async def _wait_listening(port: int) -> None:
    """sipp takes a moment to listen; over TCP a connect before that is refused (UDP just retransmits)."""
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError(f"sipp never listened on TCP port {port}")


CALLER_LINE = "I would like to buy a house in Pune next month."
CALLEE_LINE = "Hello, this is Priya speaking. Who is calling?"


@pytest.fixture(scope="module")
def caller_speech() -> bytes:
    return speech_pcm(CALLER_LINE)


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_calls_the_engine_speaks_and_presses_one(
    tmp_path: Path, caller_speech: bytes, transport: str
) -> None:
    speech_file = write_ulaw(tmp_path / "caller.ulaw", caller_speech)
    xml = scenario(
        "uac_speech.xml",
        tmp_path,
        PRE_MS="10",
        SPEECH_FILE=str(speech_file),
        SPEECH_MS=str(len(caller_speech) // 16 + 600),
        DTMF_PCAP=str(DTMF_PCAP_DIR / "dtmf_2833_1.pcap"),
    )
    agent = GreetingAgent(speech_pcm("Hello from Closerr."), max_s=30)
    async with SipServer("127.0.0.1", 0, agent) as server:
        sipp = await Sipp(uac_args(xml, server.port, transport), tmp_path).start()
        result = await sipp.wait()
        assert result.returncode == 0, result.explain()
        await asyncio.wait_for(agent.finished.wait(), 5)
    (call,) = agent.calls
    assert call.info.dialed == "+919876543210"
    assert call.closed is not None and call.closed.by_remote
    assert call.digits == ["1"]  # RFC 4733 from sipp's pcap reached the leg as DtmfIn
    assert call.marks == ["greeting"] and call.packets_out > 50  # we replied with (paced) audio
    heard = words(transcribe(bytes(call.heard)))
    # Speech recognition of RTP audio: two of the three content words are proof the speech arrived intact.
    assert len({"buy", "house", "month"} & heard) >= 2, heard


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_engine_calls_sipp_with_auth_early_media_and_hears_callee(tmp_path: Path, transport: str) -> None:
    callee = speech_pcm(CALLEE_LINE)
    xml = scenario("uas_answer.xml", tmp_path, SPEECH_FILE=str(write_ulaw(tmp_path / "callee.ulaw", callee)))
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    sipp = await Sipp([*uas_args(xml, port), "-t", "t1" if transport == "tcp" else "u1"], tmp_path).start()
    if transport == "tcp":
        await _wait_listening(port)
    heard = bytearray()

    async def on_answer(info: SipCallInfo, leg: RtpMediaLeg) -> str:
        await leg.send_audio(speech_pcm("Hi, this is Closerr."))
        loop = asyncio.get_running_loop()
        end = loop.time() + len(callee) / 16000 + 1.0
        async for event in leg.events():
            if isinstance(event, AudioIn):
                heard.extend(event.pcm)
            if isinstance(event, LegClosed) or loop.time() > end:
                break
        return "done"

    trunk = SipTrunkConfig(
        host="127.0.0.1",
        port=port,
        transport=transport,  # type: ignore[arg-type]
        username="acct",
        password="s3cret",
    )
    try:
        async with SipServer("127.0.0.1", 0) as server:
            outcome = await server.place_call(trunk, "+919876543210", on_answer, ring_timeout_s=10)
            result = await sipp.wait()
    finally:
        await sipp.stop()
    assert result.returncode == 0, result.explain()
    assert outcome.disposition == "answered" and outcome.value == "done"
    assert outcome.early_media
    assert {"speaking", "calling"} <= words(transcribe(bytes(heard)))


@pytest.mark.parametrize(
    ("status", "reason", "disposition"),
    [
        ("486", "Busy Here", "busy"),
        ("480", "Temporarily Unavailable", "no_answer"),
        ("503", "Service Unavailable", "failed"),
    ],
)
async def test_engine_call_dispositions(tmp_path: Path, status: str, reason: str, disposition: str) -> None:
    xml = scenario("uas_busy.xml", tmp_path, STATUS=status, REASON=reason)
    port = free_port()
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()

    async def never(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        raise AssertionError("not answered")

    try:
        async with SipServer("127.0.0.1", 0) as server:
            outcome = await server.place_call(SipTrunkConfig(host="127.0.0.1", port=port), "5551234", never)
            result = await sipp.wait()
    finally:
        await sipp.stop()
    assert result.returncode == 0, result.explain()
    assert (outcome.disposition, outcome.status) == (disposition, int(status))
    assert server.active_calls == 0


async def test_ring_timeout_cancels_and_reports_no_answer(tmp_path: Path) -> None:
    xml = scenario("uas_no_answer.xml", tmp_path)
    port = free_port()
    sipp = await Sipp(uas_args(xml, port), tmp_path).start()

    async def never(info: SipCallInfo, leg: RtpMediaLeg) -> None:
        raise AssertionError("not answered")

    try:
        async with SipServer("127.0.0.1", 0) as server:
            outcome = await server.place_call(
                SipTrunkConfig(host="127.0.0.1", port=port), "5551234", never, ring_timeout_s=1.5
            )
            result = await sipp.wait()
    finally:
        await sipp.stop()
    assert outcome.disposition == "no_answer" and outcome.reason == "ring timeout"
    assert result.returncode == 0, result.explain()  # sipp saw our CANCEL and got its ACK for the 487


async def test_concurrent_sipp_calls_are_independent(tmp_path: Path, caller_speech: bytes) -> None:
    speech_file = write_ulaw(tmp_path / "caller.ulaw", caller_speech)
    xml = scenario(
        "uac_speech.xml",
        tmp_path,
        PRE_MS="10",
        SPEECH_FILE=str(speech_file),
        SPEECH_MS=str(len(caller_speech) // 16 + 600),
        DTMF_PCAP=str(DTMF_PCAP_DIR / "dtmf_2833_1.pcap"),
    )
    agent = GreetingAgent(speech_pcm("Hello from Closerr."), max_s=30)
    calls = 6
    async with SipServer("127.0.0.1", 0, agent) as server:
        args = uac_args(xml, server.port)
        args[args.index("-m") + 1] = str(calls)
        sipp = await Sipp([*args, "-l", str(calls), "-r", str(calls)], tmp_path).start()
        result = await sipp.wait(60)
        assert result.returncode == 0, result.explain()
        for _ in range(50):
            if len([c for c in agent.calls if c.closed]) == calls:
                break
            await asyncio.sleep(0.1)
        assert server.active_calls == 0
    assert len(agent.calls) == calls
    assert len({c.info.call_id for c in agent.calls}) == calls
    for call in agent.calls:
        assert call.digits == ["1"] and call.closed is not None and call.closed.by_remote
        assert rms(bytes(call.heard)) > 300  # each leg got its caller's speech, not just silence


async def test_sipp_options_hold_and_resume(tmp_path: Path) -> None:
    """sipp checks every answer itself (check_it regexps): recvonly while it holds us, sendrecv after, PCMA kept."""
    xml = scenario("uac_hold.xml", tmp_path)
    agent = GreetingAgent(speech_pcm("Hello from Closerr."), max_s=20)
    async with SipServer("127.0.0.1", 0, agent) as server:
        sipp = await Sipp(uac_args(xml, server.port), tmp_path).start()
        result = await sipp.wait()
        await asyncio.wait_for(agent.finished.wait(), 5)
    assert result.returncode == 0, result.explain()
    (call,) = agent.calls
    assert call.closed is not None and call.closed.by_remote

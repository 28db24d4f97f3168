"""The engine's doors to the internet: carrier media streams and the SIP listener, on real loopback sockets.

A media stream runs an AI call only for a call this process dialed, and only with that call's single-use stream
token; anything else is closed before any audio and before admission, and counted. An inbound INVITE is answered
only from the allowed networks, and an inbound call's RTP goes to the signalling peer whatever its SDP names.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import numpy as np
import pytest
import uvicorn
import websockets
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from pydantic import ValidationError

from closerr.build import engine_config
from config.settings import Settings
from control_api.app import create_app
from control_api.console.plugin import CSRF_COOKIE, CSRF_HEADER
from control_api.dispatch.runtime import attach_worker, create_worker_app
from control_api.origination.plivo import stream_xml
from control_api.storage.db import create_database
from engine.facade import UVICORN_WS_OPTIONS, Engine, EngineConfig
from engine.records import CallRecord, CallRequest, Lead
from engine.simulator.run import free_port
from engine.telephony.sip import SipServer, SipTrunkConfig, place_call
from engine.telephony.sip.auth import DigestVerifier, Verdict, digest_response, parse_challenge
from engine.telephony.sip.core import tag_of
from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.events import IncomingCall, MediaUpdated
from engine.telephony.sip.inbound_policy import InboundPolicy
from engine.telephony.sip.message import SipResponse, parse_message
from engine.telephony.sip.rtp import RtpPacket, parse_rtp
from engine.telephony.sip.sdp import build_sdp, parse_sdp
from tests.control_api.helpers import register
from tests.engine_services import shared_services
from tests.sip.agent_stub import GreetingAgent
from tests.sip.peer import Peer, offer_sdp, responses

GUARD_S = 60  # only so a broken build fails instead of hanging: no assertion is about time

# -- serving the apps on loopback ------------------------------------------------------------------------------


def worker_settings(tmp_path: Path) -> Settings:
    # Every simulated dial "does not answer": the worker's dispatcher never plays a lead of its own.
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}"
    return Settings(data_dir=tmp_path, database_url=database_url, sim_no_answer_rate=1.0)


def serve_app(settings: Settings, engine: Engine, port: int) -> Litestar:
    """The app ``closerr serve`` runs: the API with the engine's media endpoint and an in-process worker."""
    db = create_database(settings.effective_database_url)
    app = create_app(settings, engine, database=db)
    attach_worker(app, settings, engine, db, "127.0.0.1", port)
    return app


def build_app(kind: str, settings: Settings, engine: Engine, port: int) -> Litestar:
    if kind == "worker":
        return create_worker_app(settings, engine, "127.0.0.1", port)
    return serve_app(settings, engine, port)


@asynccontextmanager
async def serving(app: Litestar, port: int) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **UVICORN_WS_OPTIONS)
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(GUARD_S):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# -- a carrier's side of a media stream ------------------------------------------------------------------------


def twilio_opening(custom: dict[str, str]) -> list[dict[str, Any]]:
    start = {
        "accountSid": "AC1",
        "streamSid": "MZ1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": custom,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    return [
        {"event": "connected", "protocol": "Call", "version": "1.0.0"},
        {"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": start},
    ]


def plivo_opening(extra_headers: str) -> list[dict[str, Any]]:
    """As Plivo documents it: the ``<Stream extraHeaders>`` arrive as one ``"k1=v1;k2=v2"`` string."""
    start = {
        "callId": "5ac1f2e0-plivo",
        "streamId": "b0c7-stream",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
    }
    return [{"event": "start", "sequenceNumber": 1, "start": start, "extra_headers": extra_headers}]


def plivo_extra_headers(call_id: str, token: str) -> str:
    """The ``extraHeaders`` of the answer XML the worker gives Plivo for this call."""
    stream = ElementTree.fromstring(stream_xml("wss://worker.example.in/media/plivo", call_id, token)).find("Stream")
    assert stream is not None
    return str(stream.get("extraHeaders"))


def silence_media(carrier: str) -> dict[str, Any]:
    payload = "/" * 212  # 160 bytes of mu-law 0xFF (silence), base64
    if carrier == "plivo":
        return {"event": "media", "streamId": "b0c7-stream", "media": {"payload": payload}}
    return {"event": "media", "streamSid": "MZ1", "media": {"track": "inbound", "payload": payload}}


async def refused_stream(address: str, carrier: str, opening: list[dict[str, Any]]) -> tuple[list[Any], int | None]:
    """Open a stream, say what the carrier says, keep sending audio; return what came back and the close code."""
    received: list[Any] = []
    async with asyncio.timeout(GUARD_S):
        async with websockets.connect(f"ws://{address}/media/{carrier}") as ws:
            try:
                for message in opening:
                    await ws.send(json.dumps(message))
                for _ in range(3):
                    await ws.send(json.dumps(silence_media(carrier)))
                async for message in ws:
                    received.append(message)
            except websockets.ConnectionClosed:
                pass
    return received, ws.close_code


async def refusals(address: str, carrier: str, reason: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://{address}/metrics")).text
    pattern = rf'^closerr_media_streams_refused_total\{{carrier="{carrier}",reason="{reason}"\}} (\S+)$'
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def expect_call(engine: Engine, *, token_ttl_s: float = 120.0) -> tuple[str, asyncio.Future[CallRecord]]:
    call_id = str(uuid.uuid4())
    request = CallRequest(call_id=call_id, lead=Lead(name="Asha", phone="+919876543210"), max_call_s=60.0)
    return call_id, engine.directory.expect(request, token_ttl_s=token_ttl_s)


# -- media streams ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["worker", "serve"])
async def test_serve_and_worker_refuse_a_stream_for_a_call_they_did_not_dial(tmp_path: Path, kind: str) -> None:
    engine = Engine()
    port = free_port()
    async with serving(build_app(kind, worker_settings(tmp_path), engine, port), port) as address:
        before = await refusals(address, "twilio", "unknown_call")
        # What the review sent: a stranger's stream naming an unknown call, carrying its own script and policy.
        custom = {"call_id": "not-dialed-here", "script": json.dumps({"company": "Mallory"}), "policy": "script"}
        received, code = await refused_stream(address, "twilio", twilio_opening(custom))
        assert received == [] and code == 1008  # closed before any audio frame
        assert engine.active_calls == 0 and engine.directory.record("not-dialed-here") is None
        assert await refusals(address, "twilio", "unknown_call") == before + 1


async def test_a_stream_without_the_dialed_calls_token_is_refused_and_the_call_keeps_waiting(tmp_path: Path) -> None:
    engine = Engine()
    port = free_port()
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id, result = expect_call(engine)
        token = engine.directory.stream_token(call_id)
        assert re.fullmatch(r"[0-9a-f]{32}", token)  # letters and digits only: what Plivo's extraHeaders allow
        attempts = [
            ({"call_id": call_id}, "missing_token"),
            ({"call_id": call_id, "stream_token": ""}, "missing_token"),
            ({"call_id": call_id, "stream_token": token[:-1] + ("0" if token[-1] != "0" else "1")}, "bad_token"),
            ({"call_id": call_id, "stream_token": token.upper()}, "bad_token"),
        ]
        for custom, reason in attempts:
            before = await refusals(address, "twilio", reason)
            received, code = await refused_stream(address, "twilio", twilio_opening(custom))
            assert received == [] and code == 1008, custom
            assert await refusals(address, "twilio", reason) == before + 1, custom
            assert engine.active_calls == 0
        # The guesses spent nothing: the dialed call still waits for its real stream, with the same token.
        assert not result.done() and engine.directory.stream_token(call_id) == token


async def test_an_expired_stream_token_is_refused(tmp_path: Path) -> None:
    engine = Engine()
    port = free_port()
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id, _ = expect_call(engine, token_ttl_s=-1.0)  # past its lifetime already
        custom = {"call_id": call_id, "stream_token": engine.directory.stream_token(call_id)}
        before = await refusals(address, "twilio", "expired_token")
        received, code = await refused_stream(address, "twilio", twilio_opening(custom))
        assert received == [] and code == 1008
        assert await refusals(address, "twilio", "expired_token") == before + 1
        assert engine.active_calls == 0


async def test_plivo_extra_headers_arrive_as_the_documented_string(tmp_path: Path) -> None:
    engine = Engine()
    port = free_port()
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id, _ = expect_call(engine)
        # The string is read: the call is found (bad token, not unknown call), and the wrong token refused.
        before = await refusals(address, "plivo", "bad_token")
        headers = plivo_extra_headers(call_id, "0123456789abcdef0123456789abcdef")
        received, code = await refused_stream(address, "plivo", plivo_opening(headers))
        assert received == [] and code == 1008
        assert await refusals(address, "plivo", "bad_token") == before + 1
        assert engine.active_calls == 0


async def test_a_dialed_call_with_its_token_is_served_once_and_the_token_cannot_be_reused(tmp_path: Path) -> None:
    engine = Engine(services=shared_services())
    port = free_port()
    async with serving(build_app("worker", worker_settings(tmp_path), engine, port), port) as address:
        call_id, result = expect_call(engine)
        headers = plivo_extra_headers(call_id, engine.directory.stream_token(call_id))
        async with asyncio.timeout(GUARD_S):
            async with websockets.connect(f"ws://{address}/media/plivo") as ws:
                for message in plivo_opening(headers):
                    await ws.send(json.dumps(message))
                while True:  # the agent's greeting: the call is running
                    if json.loads(await ws.recv())["event"] == "playAudio":
                        break
                assert engine.active_calls == 1
                before = await refusals(address, "plivo", "unknown_call")
                received, code = await refused_stream(address, "plivo", plivo_opening(headers))
                assert received == [] and code == 1008  # the token was spent by the first stream
                assert await refusals(address, "plivo", "unknown_call") == before + 1
                assert engine.active_calls == 1
                await ws.send(json.dumps({"event": "stop", "streamId": "b0c7-stream"}))
            record = await result
    assert record.call_id == call_id and engine.active_calls == 0


async def test_the_browser_test_call_needs_a_console_session(tmp_path: Path) -> None:
    engine = Engine()
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    async with AsyncTestClient(app=create_app(settings, engine), timeout=60) as client:
        tenant = await register(client, "acme")
        await client.get("/console/login")  # the CSRF cookie: the refusal below is the session's, not CSRF's
        offer = {"campaign_id": "c1", "sdp": "v=0\r\n", "type": "offer"}
        for auth in ({}, {"Authorization": f"Bearer {tenant.api_key}"}):  # an API key is no console session
            headers = {CSRF_HEADER: client.cookies[CSRF_COOKIE], "Accept": "application/json", **auth}
            response = await client.post("/console/test-call/offer", json=offer, headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["field"] == "session"
    assert engine.active_calls == 0


# -- SIP -------------------------------------------------------------------------------------------------------


def udp_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    return sock


async def receive(sock: socket.socket) -> bytes:
    return await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 65535), GUARD_S)


async def sip_response(sock: socket.socket) -> SipResponse:
    message = parse_message(await receive(sock))
    assert isinstance(message, SipResponse)
    return message


def nothing_waiting(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        sock.recv(65535)
    except BlockingIOError:
        return True
    return False


@pytest.mark.parametrize("networks", [(), ("192.0.2.0/24",)])
async def test_sip_invite_from_outside_the_allowed_networks_gets_403_and_no_call(networks: tuple[str, ...]) -> None:
    engine = Engine(EngineConfig(sip_allowed_networks=networks))
    server = await engine.start_sip_listener("127.0.0.1", 0)
    signalling, media = udp_socket(), udp_socket()
    signalling.setblocking(False)
    before = REGISTRY.get_sample_value("closerr_sip_invites_refused_total", {"reason": "source_not_allowed"}) or 0.0
    try:
        peer = Peer()
        sdp = build_sdp(host="127.0.0.1", port=media.getsockname()[1], session_id=7)
        signalling.sendto(peer.invite(body=sdp), ("127.0.0.1", server.port))
        refused = await sip_response(signalling)
        assert refused.status == 403  # the first and final answer: no 100 Trying, no call set up
        # An OPTIONS answered after it: the listener has handled everything the INVITE caused.
        signalling.sendto(Peer().request("OPTIONS"), ("127.0.0.1", server.port))
        assert (await sip_response(signalling)).status == 200
        assert nothing_waiting(media)  # no RTP to the address the SDP named
        assert engine.active_calls == 0 and server.active_calls == 0 and server.calls_handled == 0
        after = REGISTRY.get_sample_value("closerr_sip_invites_refused_total", {"reason": "source_not_allowed"})
        assert after == before + 1
    finally:
        signalling.close()
        media.close()
        await server.stop()


@pytest.mark.parametrize("media_to_sdp_address", [False, True])
def test_an_inbound_calls_media_address_follows_the_signalling_even_after_a_reinvite(
    media_to_sdp_address: bool,
) -> None:
    signalling = ("198.51.100.5", 5060)
    policy = InboundPolicy.from_cidrs(["198.51.100.0/24"], media_to_sdp_address=media_to_sdp_address)
    endpoint = SipEndpoint("127.0.0.1", 5080, inbound=policy)
    peer = Peer()
    endpoint.receive_datagram(peer.invite(offer_sdp(host="192.0.2.10")), signalling, 0.0)
    _, events = endpoint.poll()
    (incoming,) = events
    assert isinstance(incoming, IncomingCall) and incoming.negotiated is not None
    expected = "192.0.2.10" if media_to_sdp_address else "198.51.100.5"
    assert (incoming.negotiated.remote_host, incoming.negotiated.remote_port) == (expected, 40000)
    endpoint.answer(incoming.call_id, "127.0.0.1", 30000, 0.1)
    out, _ = endpoint.poll()
    peer.to_tag = tag_of(responses(out)[-1].headers.get("To"))
    endpoint.receive_datagram(peer.request("ACK"), signalling, 0.2)
    endpoint.poll()
    peer.cseq = 2
    endpoint.receive_datagram(peer.invite(offer_sdp(host="203.0.113.9")), signalling, 1.0)
    _, events = endpoint.poll()
    (updated,) = events
    assert isinstance(updated, MediaUpdated)
    assert updated.negotiated.remote_host == ("203.0.113.9" if media_to_sdp_address else "198.51.100.5")


@pytest.mark.parametrize(
    ("username", "password", "status"), [("trunk", "s3cret", 200), ("trunk", "wrong", 403), (None, None, 401)]
)
async def test_a_caller_outside_the_networks_needs_the_digest_credentials(
    username: str | None, password: str | None, status: int
) -> None:
    agent = GreetingAgent(b"\x00" * 3200, max_s=10, hangup_after_greeting=True)
    inbound = InboundPolicy.from_cidrs(["192.0.2.0/24"], digest=DigestVerifier("trunk", "s3cret"))
    before = REGISTRY.get_sample_value("closerr_sip_invites_refused_total", {"reason": "bad_credentials"}) or 0.0

    async def caller(info: object, leg: Any) -> None:
        async for _ in leg.events():
            pass

    async with SipServer("127.0.0.1", 0, agent, inbound=inbound) as server:
        trunk = SipTrunkConfig(host="127.0.0.1", port=server.port, username=username, password=password)
        result = await place_call(trunk, "100", caller, ring_timeout_s=GUARD_S)
    assert result.status == status
    assert len(agent.calls) == (1 if status == 200 else 0)
    after = REGISTRY.get_sample_value("closerr_sip_invites_refused_total", {"reason": "bad_credentials"}) or 0.0
    assert after == before + (1 if status == 403 else 0)


def test_a_digest_response_is_accepted_once_and_not_after_its_nonce_expired() -> None:
    verifier = DigestVerifier("trunk", "s3cret", realm="sip.closerr.example", nonce_ttl_s=300)
    uri = "sip:100@sip.closerr.example"
    challenge = parse_challenge(verifier.challenge(10.0))
    answer = digest_response(challenge, method="INVITE", uri=uri, username="trunk", password="s3cret")
    assert verifier.verify(None, method="INVITE", uri=uri, now=11.0) is Verdict.MISSING
    assert verifier.verify(answer, method="INVITE", uri="sip:999@elsewhere", now=11.0) is Verdict.BAD
    assert verifier.verify(answer, method="INVITE", uri=uri, now=11.0) is Verdict.OK
    assert verifier.verify(answer, method="INVITE", uri=uri, now=12.0) is Verdict.BAD  # replayed
    late = digest_response(challenge, method="INVITE", uri=uri, username="trunk", password="s3cret")
    assert verifier.verify(late, method="INVITE", uri=uri, now=311.0) is Verdict.STALE
    forged = parse_challenge(DigestVerifier("trunk", "s3cret", realm="sip.closerr.example").challenge(10.0))
    mine = digest_response(forged, method="INVITE", uri=uri, username="trunk", password="s3cret")
    assert verifier.verify(mine, method="INVITE", uri=uri, now=11.0) is Verdict.BAD  # a nonce we never minted


def test_the_allowed_networks_reach_the_engine_from_the_settings() -> None:
    assert engine_config(Settings()).sip_allowed_networks == ()  # no trunk, no networks: nobody calls in
    assert engine_config(Settings(sip_trunk_host="192.0.2.7")).sip_allowed_networks == ("192.0.2.7/32",)
    configured = Settings(sip_trunk_host="192.0.2.7", sip_allowed_networks=" 10.0.0.0/8, 198.51.100.9 ")
    assert engine_config(configured).sip_allowed_networks == ("10.0.0.0/8", "198.51.100.9/32")
    assert engine_config(Settings(sip_media_to_sdp_address=True)).sip_media_to_sdp_address
    digest = engine_config(Settings(sip_inbound_username="trunk", sip_inbound_password="s3cret"))  # type: ignore[arg-type]
    assert (digest.sip_inbound_username, digest.sip_inbound_password) == ("trunk", "s3cret")
    assert "s3cret" not in repr(digest)
    with pytest.raises(ValidationError, match="CLOSERR_SIP_ALLOWED_NETWORKS"):
        Settings(sip_allowed_networks="10.0.0.0/8,trunk.example")


async def test_the_engine_listener_applies_the_configured_inbound_policy() -> None:
    config = EngineConfig(sip_allowed_networks=("10.0.0.0/8",), sip_media_to_sdp_address=True)
    engine = Engine(config)
    server = await engine.start_sip_listener("127.0.0.1", 0)
    try:
        assert server.inbound == InboundPolicy.from_cidrs(["10.0.0.0/8"], media_to_sdp_address=True)
    finally:
        await server.stop()
    engine = Engine(replace(config, sip_inbound_username="trunk", sip_inbound_password="s3cret"))
    server = await engine.start_sip_listener("127.0.0.1", 0, advertise_host="203.0.113.7")
    try:
        digest = server.inbound.digest
        assert digest is not None and (digest.username, digest.password, digest.realm) == (
            "trunk",
            "s3cret",
            "203.0.113.7",
        )
    finally:
        await server.stop()


async def test_inbound_rtp_goes_to_the_signalling_source_not_the_address_in_the_sdp() -> None:
    greeting = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 8000).astype("<i2").tobytes()
    agent = GreetingAgent(greeting, max_s=20)
    inbound = InboundPolicy.from_cidrs(["127.0.0.0/8"])
    signalling = udp_socket()
    ours = udp_socket()  # at the signalling host: where the RTP must go
    victim = udp_socket("127.0.0.2", ours.getsockname()[1])  # the SDP names this host, same port
    signalling.setblocking(False)
    ours.setblocking(False)
    async with SipServer("127.0.0.1", 0, agent, inbound=inbound) as server:
        try:
            peer = Peer()
            sdp = build_sdp(host="127.0.0.2", port=victim.getsockname()[1], session_id=9)
            signalling.sendto(peer.invite(body=sdp), ("127.0.0.1", server.port))
            while (answer := await sip_response(signalling)).status < 200:
                pass
            assert answer.status == 200
            peer.to_tag = tag_of(answer.headers.get("To"))
            signalling.sendto(peer.request("ACK"), ("127.0.0.1", server.port))
            # An OPTIONS answered after the ACK: the call is confirmed and its media settled.
            signalling.sendto(Peer().request("OPTIONS"), ("127.0.0.1", server.port))
            assert (await sip_response(signalling)).status == 200
            # Symmetric RTP follows the first sender: the victim's host sending to the engine's RTP port must not
            # take the stream over either.
            while not nothing_waiting(ours):
                pass
            rtp_port = parse_sdp(answer.body).media[0].port
            victim.sendto(RtpPacket(0, 1, 160, 4242, b"\xff" * 160).build(), ("127.0.0.1", rtp_port))
            packets = [parse_rtp(await receive(ours)) for _ in range(10)]
            assert {p.ssrc for p in packets} and len(packets) == 10
            assert nothing_waiting(victim)  # ten packets later, not one went to the SDP's host
            peer.cseq += 1
            signalling.sendto(peer.request("BYE"), ("127.0.0.1", server.port))
            while (await sip_response(signalling)).status != 200:
                pass
            await asyncio.wait_for(agent.finished.wait(), GUARD_S)
        finally:
            for sock in (signalling, ours, victim):
                sock.close()


def test_sip_serve_names_a_bad_allowed_network_setting_and_exits_2() -> None:
    from typer.testing import CliRunner

    from closerr.cli import app
    from config.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["sip", "serve", "--sip-port", str(free_port())], env={"CLOSERR_SIP_ALLOWED_NETWORKS": "10.0.0.0/33"}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "CLOSERR_SIP_ALLOWED_NETWORKS" in result.output

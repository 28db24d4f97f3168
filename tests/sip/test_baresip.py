"""baresip, a real SIP phone, calls the engine: plays a WAV as the caller's voice and records what it hears."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.telephony.sip import SipServer
from tests.sip.agent_stub import GreetingAgent
from tests.sip.audio import read_wav, speech_pcm, transcribe, words, write_wav
from tests.sip.baresip import Baresip, write_config
from tests.sip.sipp import free_media_port

GREETING = "Hello! This is Asha from Closerr Homes. Is this a good time to talk?"
CALLER = "Yes, I am interested in a two bedroom flat."


async def test_baresip_hears_the_greeting_and_the_engine_hears_baresip(tmp_path: Path) -> None:
    # The caller's voice, then silence long enough to outlast the greeting (aufile ends the call at EOF).
    voice = write_wav(tmp_path / "voice.wav", speech_pcm(CALLER) + bytes(16000 * 8))
    heard_dir = tmp_path / "heard"
    config = tmp_path / "baresip"
    write_config(config, voice_wav=voice, heard_dir=heard_dir, rtp_base=free_media_port())
    agent = GreetingAgent(speech_pcm(GREETING), max_s=20, hangup_after_greeting=True)
    async with SipServer("127.0.0.1", 0, agent) as server:
        phone = await Baresip(config).dial(f"sip:+919876543210@127.0.0.1:{server.port}", quit_after_s=15)
        await asyncio.wait_for(agent.finished.wait(), 20)
        await asyncio.sleep(0.5)  # let baresip see the BYE
        await phone.wait(1.0)
    (call,) = agent.calls
    assert call.marks == ["greeting"] and call.closed is not None and not call.closed.by_remote
    assert "Call established" in phone.output, phone.output[-2000:]
    assert {"interested", "bedroom", "flat"} <= words(transcribe(bytes(call.heard)))
    recordings = sorted(heard_dir.glob("*-dec.wav"))
    assert recordings, f"baresip recorded nothing: {phone.output[-2000:]}"
    pcm, rate = read_wav(recordings[0])
    assert {"good", "time", "talk"} <= words(transcribe(pcm, rate))

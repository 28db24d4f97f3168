"""One call = one pipeline. ``run_call`` is the engine's narrow interface: a call request and a media leg in, a call
record out. Every transport (carrier WebSocket, SIP/RTP, WebRTC) and every caller (the control API's dispatcher,
``closerr simulate``, tests) goes through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

import metrics
from engine.agent.policy import DialoguePolicy
from engine.answered_by import AnsweredByInbox
from engine.audio.recorder import start_recorder
from engine.audio.vad import FrameVad, SileroVad, WebRtcVad
from engine.pipeline.leg_source import LegSource
from engine.pipeline.listener import LeadListener, ListenerConfig, listening_rate
from engine.pipeline.machine_detector import MachineDetectorStage
from engine.pipeline.playout import Playout
from engine.pipeline.speaker import Speaker
from engine.pipeline.turn_manager import TurnManager, TurnManagerConfig
from engine.records import CallRecord, CallRequest, Outcome, Transfer, TransferResult, TurnLatency
from engine.services import EngineServices
from engine.speech.languages import DEFAULT_LANGUAGE
from engine.speech.stt import WhisperService
from engine.speech.tts import LIVE, SpeechSynthesizer
from engine.telephony.leg import MediaLeg
from engine.telephony.recording_leg import RecordingLeg
from models import ModelMissingError


def _make_vad(services: EngineServices, sample_rate: int) -> FrameVad:
    if services.config.vad == "silero":
        return SileroVad(services.registry.silero(), sample_rate)
    return WebRtcVad(sample_rate)


def _make_policy(request: CallRequest, services: EngineServices) -> DialoguePolicy:
    from engine.agent.factory import make_policy

    llm = services.config.llm
    if request.llm_profile is not None:
        profile = services.config.llm_profiles.get(request.llm_profile)
        if profile is None:
            # Never the deployment's endpoint instead: the account's data goes only where it was assigned.
            raise ValueError(f"LLM profile {request.llm_profile!r} is not configured in this process")
        llm = profile
    return make_policy(
        request.script,
        request.policy,
        llm_base_url=llm.base_url,
        llm_model=llm.model,
        llm_api_key=llm.api_key,
        llm_first_token_timeout_s=llm.first_token_timeout_s,
    )


def _speech_services(request: CallRequest, services: EngineServices) -> tuple[WhisperService, SpeechSynthesizer, str]:
    """The speech-to-text and voice of the script's language and ``voice:`` (validated by the policy already).
    Blocking on a language's or voice's first call (loads its model): run off the event loop."""
    script = request.script or {}
    language = str(script.get("language") or DEFAULT_LANGUAGE)
    requested = script.get("voice")
    voice = services.voice_for(language, requested if isinstance(requested, str) else None)
    return services.stt_for(language), services.tts_for(voice), voice


LegTransfer = Callable[[MediaLeg, Transfer], Awaitable[TransferResult]]


async def _hand_over(
    request: CallRequest, leg: MediaLeg, record: CallRecord, wanted: Transfer, transfer: LegTransfer | None
) -> None:
    """Hand the lead over as the policy asked; when that fails the lead, who heard "connecting you", is called
    back instead (the callback outcome schedules it, as for a lead who asked to be called later)."""
    if record.ended_by != "bot":
        # The lead hung up (or the call failed) before the agent's last line was over: nobody to hand over.
        if record.transfer is not None:
            record.transfer.update(connected=False, detail="the call ended before the transfer")
        if record.outcome is Outcome.TRANSFERRED:
            record.outcome = Outcome.HUNG_UP if record.ended_by == "lead" else Outcome.ERROR
        return
    if transfer is None:
        result = TransferResult(False, "no transfer route for this call")
    else:
        try:
            result = await transfer(leg, wanted)
        except Exception as exc:
            logger.warning("call {}: transfer failed: {}", request.call_id, type(exc).__name__)
            result = TransferResult(False, f"transfer error: {type(exc).__name__}")
    details = record.transfer if record.transfer is not None else {}
    details.update(connected=result.connected, detail=result.detail)
    record.transfer = details
    logger.info("call {}: {} transfer {} ({})", request.call_id, wanted.mode,
                "connected" if result.connected else "failed", result.detail)  # fmt: skip
    if not result.connected:
        record.outcome = Outcome.CALLBACK_REQUESTED
        record.notes.append("transfer to a person failed: the lead is called back")


def _observe_turn(latency: TurnLatency) -> None:
    metrics.observe_turn(
        voice_to_voice_s=latency.v2v_s,
        endpointing_s=latency.endpoint_s,
        stt_s=latency.stt_s,
        llm_first_token_s=latency.policy_s,
        tts_first_audio_s=latency.tts_s,
    )


def _close_record(request: CallRequest, record: CallRecord, policy: DialoguePolicy, playout: Playout) -> None:
    """What only the end of the call tells: the LLM's fallbacks, the playout's underruns; and the call's metrics."""
    llm_stats = getattr(policy, "stats", None)  # the LLM policy's per-call counters
    if llm_stats is not None:
        record.fallback_turns = llm_stats.fallback_turns
        record.notes.append(llm_stats.summary())
    record.underruns = playout.stats.underruns
    if record.underruns:
        logger.info(
            "call {} underruns: {} ({} starved mid-utterance, max lateness {:.0f} ms)",
            request.call_id,
            record.underruns,
            playout.stats.starved,
            1000 * playout.stats.max_lateness_s,
        )
    metrics.AUDIO_UNDERRUNS_TOTAL.inc(record.underruns)
    metrics.INTERRUPTIONS_TOTAL.inc(record.interruptions)
    status = "error" if record.error or record.ended_by == "error" else "completed"
    metrics.record_call_finished(status, record.outcome, record.duration_s)


async def run_call(
    request: CallRequest,
    leg: MediaLeg,
    services: EngineServices,
    *,
    policy: DialoguePolicy | None = None,
    on_opt_out: Callable[[], Awaitable[None]] | None = None,
    record: CallRecord | None = None,
    transfer: LegTransfer | None = None,
    answered_by: AnsweredByInbox | None = None,
) -> CallRecord:
    """Run one call on ``leg`` until it ends; never raises for a failure of this call (the record says it).
    ``transfer`` hands the lead over when the policy asks for it (the carrier's transfer, from the composition
    root); without it a transfer fails into a callback. ``answered_by`` brings the carrier's answering-machine
    verdict, when the carrier sends one."""
    config = services.config
    # A caller may pass the record in to watch it fill while the call runs (the console's live view).
    record = record if record is not None else CallRecord(call_id=request.call_id)
    record.policy = request.policy
    try:
        policy = policy or _make_policy(request, services)
    except Exception as exc:
        logger.warning("call {}: no policy: {}", request.call_id, exc)
        record.error = f"no dialogue policy: {exc}"
        await leg.hangup()
        return record

    try:
        stt, tts, voice = await asyncio.to_thread(_speech_services, request, services)
    except (ModelMissingError, ValueError) as exc:
        # The campaign API refuses a language the deployment cannot transcribe; this is a model removed since.
        logger.warning("call {}: no speech models for its language: {}", request.call_id, exc)
        record.error = f"speech models: {exc}"
        await leg.hangup()
        return record
    logger.info("call {}: stt language {}, voice {}", request.call_id, stt.language, voice)

    # The greeting is needed at once; the other fixed lines are synthesized while the greeting plays.
    fixed = policy.fixed_lines(request.lead)
    if fixed:
        await tts.prewarm(fixed[:1], priority=LIVE)
    prewarm = asyncio.create_task(tts.prewarm(fixed[1:]))

    done = asyncio.Event()
    recorder = start_recorder(config.recordings_dir, request.call_id, leg.sample_rate) if request.record_audio else None
    if recorder is not None:
        leg = RecordingLeg(leg, recorder)
    playout = Playout(leg)
    # The leg's negotiated rate (a carrier's start message fixes it): inbound audio is heard at the nearest rate
    # the listener runs at, and speech leaves at the leg's rate.
    listen_rate = listening_rate(leg.sample_rate)
    listener = LeadListener(
        vad=_make_vad(services, listen_rate),
        stt=stt,
        smart_turn=services.smart_turn if config.end_of_turn == "smart_turn" else None,
        turn_executor=services.turn_executor,
        sample_rate=listen_rate,
        config=ListenerConfig(
            vad_stop_s=config.vad_stop_s,
            min_turn_silence_s=config.min_turn_silence_s,
            answer_turn_silence_s=config.answer_turn_silence_s,
            max_turn_silence_s=config.max_turn_silence_s,
            barge_in_min_speech_s=config.barge_in_min_speech_s,
        ),
        stt_prompt=policy.stt_prompt(),
        settles_turn=policy.settles_turn,
        expects_more=policy.expects_more,
    )
    manager = TurnManager(
        policy=policy,
        request=request,
        record=record,
        config=TurnManagerConfig(
            lead_silence_timeout_s=config.lead_silence_timeout_s,
            max_call_s=min(request.max_call_s, config.max_call_s),
        ),
        on_done=done.set,
        on_opt_out=on_opt_out,
        on_turn=_observe_turn,
    )
    source = LegSource(leg, sample_rate=listen_rate)
    detector = MachineDetectorStage(listen_rate, answered_by)
    pipeline = Pipeline([source, detector, listener, manager, Speaker(tts, sample_rate=leg.sample_rate), playout])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=listen_rate, audio_out_sample_rate=leg.sample_rate),
        enable_rtvi=False,
        enable_turn_tracking=False,
        cancel_on_idle_timeout=False,
        idle_timeout_secs=None,
        check_dangling_tasks=False,
        name=f"call-{request.call_id}",
    )
    runner = WorkerRunner(handle_sigint=False, check_dangling_tasks=False)
    await runner.add_workers(worker)
    metrics.ACTIVE_CALLS.inc()
    running = asyncio.create_task(runner.run())
    try:
        waiter = asyncio.create_task(done.wait())
        await asyncio.wait({running, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not done.is_set():
            record.error = record.error or "pipeline stopped"
            record.ended_by = "error"
        elif manager.transfer is not None:
            await _hand_over(request, leg, record, manager.transfer, transfer)
    finally:
        metrics.ACTIVE_CALLS.dec()
        try:
            await leg.hangup()
        except Exception as exc:
            logger.info("hangup failed: {}", type(exc).__name__)
        if not running.done():
            await worker.cancel(reason="call ended")
            try:
                await asyncio.wait_for(running, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                running.cancel()
        prewarm.cancel()
        closer = getattr(policy, "aclose", None)  # the LLM policy holds an HTTP connection pool
        if closer is not None:
            await closer()
        if recorder is not None:
            record.recording = await asyncio.to_thread(recorder.close)
    _close_record(request, record, policy, playout)
    return record

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
from engine.audio.vad import FrameVad, SileroVad, WebRtcVad
from engine.pipeline.leg_source import LegSource
from engine.pipeline.listener import LeadListener, ListenerConfig
from engine.pipeline.machine_detector import MachineDetectorStage
from engine.pipeline.playout import Playout
from engine.pipeline.speaker import Speaker
from engine.pipeline.turn_manager import TurnManager, TurnManagerConfig
from engine.records import CallRecord, CallRequest, TurnLatency
from engine.services import EngineServices
from engine.speech.tts import LIVE
from engine.telephony.leg import MediaLeg


def _make_vad(services: EngineServices, sample_rate: int) -> FrameVad:
    if services.config.vad == "silero":
        return SileroVad(services.registry.silero(), sample_rate)
    return WebRtcVad(sample_rate)


def _make_policy(request: CallRequest, services: EngineServices) -> DialoguePolicy:
    from engine.agent.factory import make_policy

    llm = services.config.llm
    return make_policy(
        request.script,
        request.policy,
        llm_base_url=llm.base_url,
        llm_model=llm.model,
        llm_api_key=llm.api_key,
        llm_first_token_timeout_s=llm.first_token_timeout_s,
    )


def _observe_turn(latency: TurnLatency) -> None:
    metrics.observe_turn(
        voice_to_voice_s=latency.v2v_s,
        endpointing_s=latency.endpoint_s,
        stt_s=latency.stt_s,
        llm_first_token_s=latency.policy_s,
        tts_first_audio_s=latency.tts_s,
    )


async def run_call(
    request: CallRequest,
    leg: MediaLeg,
    services: EngineServices,
    *,
    policy: DialoguePolicy | None = None,
    on_opt_out: Callable[[], Awaitable[None]] | None = None,
    record: CallRecord | None = None,
    answered_by: AnsweredByInbox | None = None,
) -> CallRecord:
    """Run one call on ``leg`` until it ends; never raises for a failure of this call (the record says it).
    ``answered_by`` brings the carrier's answering-machine verdict, when the carrier sends one."""
    config = services.config
    # A caller may pass the record in to watch it fill while the call runs (the console's live view).
    record = record if record is not None else CallRecord(call_id=request.call_id)
    try:
        policy = policy or _make_policy(request, services)
    except Exception as exc:
        logger.warning("call {}: no policy: {}", request.call_id, exc)
        record.error = f"bad agent script: {exc}"
        await leg.hangup()
        return record

    # The greeting is needed at once; the other fixed lines are synthesized while the greeting plays.
    fixed = policy.fixed_lines(request.lead)
    if fixed:
        await services.tts.prewarm(fixed[:1], priority=LIVE)
    prewarm = asyncio.create_task(services.tts.prewarm(fixed[1:]))

    done = asyncio.Event()
    playout = Playout(leg)
    listener = LeadListener(
        vad=_make_vad(services, leg.sample_rate),
        stt=services.stt,
        smart_turn=services.smart_turn if config.end_of_turn == "smart_turn" else None,
        turn_executor=services.turn_executor,
        sample_rate=leg.sample_rate,
        config=ListenerConfig(
            vad_stop_s=config.vad_stop_s,
            min_turn_silence_s=config.min_turn_silence_s,
            max_turn_silence_s=config.max_turn_silence_s,
            barge_in_min_speech_s=config.barge_in_min_speech_s,
        ),
        stt_prompt=policy.stt_prompt(),
        settles_turn=policy.settles_turn,
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
    detector = MachineDetectorStage(leg.sample_rate, answered_by)
    pipeline = Pipeline([LegSource(leg), detector, listener, manager, Speaker(services.tts), playout])
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=leg.sample_rate, audio_out_sample_rate=leg.sample_rate),
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
    return record

"""The engine as the rest of Closerr sees it: one ``Engine`` object, built by the command layer and handed to the
control API, the dispatcher's carriers, the SIP listener and the console.

It owns what used to be process-wide: the call directory (which media stream belongs to which dialed call), the
admission limit, and the inference services every call shares. Above the engine, code imports this module and
``engine.records`` only; the names re-exported here are the engine's public surface for the layers above.

A media stream is served only for a call the dispatcher announced, and only when it presents that call's
single-use, short-lived stream token (``CallDirectory``); anything else is closed before admission and counted in
``closerr_media_streams_refused_total``. Media streams that no dispatcher announced ("ad hoc": a developer's
simulator or softphone) run an AI call for whoever connects, so they are refused unless the ``Engine`` is built
with ``accept_adhoc_streams=True``: only the engine-alone server (``python -m closerr.engine_server``) does that.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from litestar import WebSocket, get, websocket
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from loguru import logger

import metrics
from engine.agent.script import (
    ScriptError,
    load_script_document,
    load_script_text,
    parse_script,
    recording_disclosure_problem,
)
from engine.call import run_call
from engine.config import EngineConfig, LlmEndpoint
from engine.directory import STREAM_TOKEN_PARAMETER, CallDirectory, UnknownCall
from engine.memory import CallGarbage
from engine.records import CallRecord, CallRequest, Lead, Transfer, TransferResult
from engine.services import EngineServices, available_voices
from engine.simulator.caller import CallerResult, SimulatedCaller
from engine.simulator.persona import Persona, PersonaError, parse_persona
from engine.simulator.run import lead_utterances
from engine.speech.espeak import espeak_available
from engine.speech.languages import (
    DEFAULT_LANGUAGE,
    HI_MODEL_SETTING,
    LANGUAGES,
    VOICES,
    choose_voice,
    stt_choice,
    voice_note,
    voice_problem,
)
from engine.telephony.leg import MediaLeg
from engine.telephony.media_streams import PROTOCOLS, ProtocolError, UnsupportedMedia
from engine.telephony.media_streams.plivo import format_extra_headers
from engine.telephony.sip import SipCallResult, SipServer, SipTrunkConfig, place_call
from engine.telephony.sip.auth import DigestVerifier
from engine.telephony.sip.inbound_policy import InboundPolicy
from engine.telephony.ws_leg import WebSocketLeg
from models import ModelConfig, shared_registry

if TYPE_CHECKING:
    from engine.telephony.webrtc_leg import WebRtcLeg

__all__ = [
    "LANGUAGES",
    "STREAM_TOKEN_PARAMETER",
    "UVICORN_WS_OPTIONS",
    "VOICES",
    "CallerResult",
    "Engine",
    "EngineConfig",
    "LlmEndpoint",
    "ModelConfig",
    "Persona",
    "PersonaError",
    "ScriptError",
    "SipCallResult",
    "SipTrunkConfig",
    "UnknownCall",
    "format_extra_headers",
    "load_script_document",
    "load_script_text",
    "parse_persona",
    "parse_script",
    "recording_disclosure_problem",
]

# Media frames are base64 G.711 in JSON, 50 a second per call: permessage-deflate on them cost about a tenth of
# a core at 16 calls for a few bytes saved, and carriers do not ask for it. Every uvicorn serving media uses these.
UVICORN_WS_OPTIONS: dict[str, Any] = {"ws": "websockets", "ws_per_message_deflate": False}

IDLE_RELEASE_DELAY_S = 1.0
START_TIMEOUT_S = 15.0  # a media stream must name its call this soon after connecting

ScriptResolver = Callable[[str], Awaitable[tuple[dict[str, Any] | None, str | None]]]
OnCall = Callable[[Any, Any], Awaitable[CallRecord]]


class Engine:
    """One engine per process. ``services`` load the models on first use (blocking: ``await ready()`` first)."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        accept_adhoc_streams: bool = False,
        services: EngineServices | None = None,
        garbage: CallGarbage | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.directory = CallDirectory(accept_adhoc=accept_adhoc_streams)
        self._services = services
        self._services_lock = threading.Lock()
        self.garbage = garbage or CallGarbage()

    # -- the inference services ---------------------------------------------------------------------------
    @property
    def services(self) -> EngineServices:
        """The models and inference queues; loaded, warmed up and trimmed to their idle size on first use."""
        if self._services is None:
            with self._services_lock:
                if self._services is None:
                    services = EngineServices.create(self.config)
                    services.warm_up()
                    services.release_idle_memory()  # the idle size: what the engine returns to after calls
                    # The ~100,000 objects loaded by now live as long as the process. A full collection walking
                    # them took 60 ms on the event loop, as long as the playout pre-buffer: frozen, they are not.
                    gc.freeze()
                    # Model threads must be idle before the interpreter tears down onnxruntime and CTranslate2.
                    atexit.register(services.close)
                    self._services = services
        return self._services

    async def ready(self) -> EngineServices:
        """Load the services off the event loop (before the first call, not during it)."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.services)

    # -- languages and voices -------------------------------------------------------------------------------
    def language_problem(self, language: str) -> str | None:
        """Why this deployment cannot transcribe calls in ``language`` (a script's ``language:``); None: it can.
        Blocking: the first question about a multilingual model loads it (the calls would load it anyway)."""
        if stt_choice(language).model == "english":
            return None
        path = self.config.models.whisper_model_path_hi
        if path is None:
            return (
                f"{language} campaigns need a multilingual Whisper model and none is configured: set "
                f"{HI_MODEL_SETTING} to a CTranslate2 Whisper model directory (the bundled tiny.en is English-only)"
            )
        try:
            multilingual = shared_registry(self.config.models).whisper_is_multilingual(path)
        except Exception as exc:  # a missing or unreadable model is the operator's to fix: say which setting
            return f"{HI_MODEL_SETTING} ({path}) is not a loadable CTranslate2 Whisper model: {exc}"
        if not multilingual:
            return (
                f"the Whisper model at {HI_MODEL_SETTING} ({path}) is English-only and cannot transcribe {language}: "
                f"set {HI_MODEL_SETTING} to a multilingual CTranslate2 Whisper model directory"
            )
        return None

    def supports_language(self, language: str) -> bool:
        """Whether calls in ``language`` can run here. Blocking (see ``language_problem``)."""
        return self.language_problem(language) is None

    def voice_problem(self, language: str, voice: str | None) -> str | None:
        """Why a script in ``language`` cannot speak with ``voice`` here (None: it can, or no voice is named)."""
        if voice is None:
            return None
        problem = voice_problem(language, voice)
        if problem is not None:
            return problem
        spec = VOICES[voice]
        if spec.kind == "piper" and spec.setting and self.config.models.piper_voice_path(voice) is None:
            return f"voice {voice!r} is not configured: set {spec.setting} to its Piper model (.onnx)"
        if spec.kind == "espeak" and not espeak_available():
            return f"voice {voice!r} needs the espeak-ng program, which is not installed"
        return None

    def voice_of(self, script: dict[str, Any] | None) -> str:
        """The voice calls of ``script`` (None: the demo script) speak with here, and why (for people to read)."""
        language = str((script or {}).get("language") or DEFAULT_LANGUAGE)
        requested = (script or {}).get("voice")
        chosen = choose_voice(
            language, requested if isinstance(requested, str) else None, available_voices(self.config.models)
        )
        return voice_note(chosen)

    async def speech_problem(self, language: str, voice: str | None) -> tuple[str, str] | None:
        """(field of the script, why) when this deployment cannot run a campaign's language or voice; None when it
        can. Off the event loop: it may load a model."""
        problem = await asyncio.to_thread(self.language_problem, language)
        if problem is not None:
            return "language", problem
        problem = self.voice_problem(language, voice)
        return ("voice", problem) if problem is not None else None

    # -- admission ------------------------------------------------------------------------------------------
    @property
    def active_calls(self) -> int:
        return self.directory.active_calls

    def has_capacity(self) -> bool:
        """Beyond ``max_concurrent_calls`` a call would stutter for everyone: media streams beyond it are refused
        with 1013 "try again later", SIP calls with 503."""
        return self.directory.active_calls < self.config.max_concurrent_calls

    # -- running calls --------------------------------------------------------------------------------------
    async def serve_call(
        self,
        request: CallRequest,
        leg: MediaLeg,
        result: asyncio.Future[CallRecord] | None = None,
        record: CallRecord | None = None,
    ) -> CallRecord:
        """Run one call on an accepted leg and file its record (every transport comes through here)."""
        directory = self.directory
        record = record if record is not None else CallRecord(call_id=request.call_id)
        directory.started(request, record)

        async def opt_out() -> None:
            if directory.on_opt_out is not None:
                await directory.on_opt_out(request)

        async def transfer(call_leg: MediaLeg, wanted: Transfer) -> TransferResult:
            if directory.on_transfer is None:
                return TransferResult(False, "no transfer route for this call")
            return await directory.on_transfer(request, call_leg, wanted)

        try:
            record = await run_call(
                request,
                leg,
                self.services,
                on_opt_out=opt_out,
                record=record,
                transfer=transfer,
                answered_by=directory.inbox(request.call_id),
            )
        except Exception as exc:  # never let one call take the server down
            logger.exception("call {} failed: {}", request.call_id, type(exc).__name__)
            record = CallRecord(call_id=request.call_id, error=f"engine error: {type(exc).__name__}", ended_by="error")
        directory.finished(record, result)
        # Once this call's tasks have let go of it: its cycles are then garbage the collection frees.
        asyncio.get_running_loop().call_soon(self.garbage.call_ended)
        logger.info(
            "call {} ended: outcome={} ended_by={} turns={} duration={:.1f}s",
            request.call_id,
            record.outcome,
            record.ended_by,
            len(record.turns),
            record.duration_s,
        )
        if directory.active_calls == 0:
            # A moment later: the call's tasks and its socket free what they held only after this returns, and
            # memory freed after the trim would stay with the process.
            asyncio.get_running_loop().call_later(IDLE_RELEASE_DELAY_S, self._release_if_idle)
        return record

    def _release_if_idle(self) -> None:
        if self.directory.active_calls == 0 and self._services is not None:
            asyncio.get_running_loop().run_in_executor(
                None, self._services.release_idle_memory, lambda: self.directory.active_calls == 0
            )

    async def accept_media_stream(self, socket: WebSocket[Any, Any, Any], carrier: str) -> None:
        """A carrier's media stream: refused at capacity, refused unless it names a call this engine expects (or
        ad-hoc streams are on), then served."""
        protocol_cls = PROTOCOLS.get(carrier)
        await socket.accept()
        if protocol_cls is None:
            metrics.record_stream_refused(carrier, "unknown_carrier")
            await socket.close(code=1008, reason="unknown carrier")
            return
        if await self._refused_at_capacity(socket, carrier):
            return

        async def receive() -> str | bytes | None:
            try:
                return await socket.receive_text()
            except WebSocketDisconnect:
                return None

        async def close(code: int, reason: str) -> None:
            await socket.close(code=code, reason=reason)

        # Exotel negotiates the sample rate as a query parameter of the stream URL.
        protocol = protocol_cls(query={str(k): str(v) for k, v in socket.query_params.items()})
        leg = WebSocketLeg(protocol, receive, socket.send_text, close)
        try:
            started = await asyncio.wait_for(leg.wait_started(), timeout=START_TIMEOUT_S)
            # Checked again with no await before serve_call marks the call started: streams that were admitted
            # together while waiting for their start message cannot overshoot the limit.
            if await self._refused_at_capacity(socket, carrier):
                return
            request, result = self.directory.claim(started.custom)
        except UnknownCall as exc:
            await self._refuse_stream(leg, carrier, exc.reason, str(exc))
            return
        except UnsupportedMedia as exc:
            await self._refuse_stream(leg, carrier, "unsupported_media", str(exc))
            return
        except (ProtocolError, ValueError) as exc:
            await self._refuse_stream(leg, carrier, "protocol_error", str(exc))
            return
        except TimeoutError:
            await self._refuse_stream(leg, carrier, "no_start", "no 'start' in time")
            return
        await self.serve_call(request, leg, result)

    @staticmethod
    async def _refuse_stream(leg: WebSocketLeg, carrier: str, reason: str, detail: str) -> None:
        logger.warning("{} stream refused ({}): {}", carrier, reason, detail)
        metrics.record_stream_refused(carrier, reason)
        await leg.refuse(reason)

    async def _refused_at_capacity(self, socket: WebSocket[Any, Any, Any], carrier: str) -> bool:
        if self.has_capacity():
            return False
        limit = self.config.max_concurrent_calls
        logger.warning("{} stream refused: {} calls active, limit {}", carrier, self.directory.active_calls, limit)
        await socket.close(code=1013, reason="engine at capacity")
        return True

    def carrier_answered_by(self, call_id: str, token: str, answered_by: str, *, message_end: bool) -> None:
        """A carrier's answering-machine verdict for a call this engine dialed ("human" / "machine"), from its
        status callback: the call's detector acts on it. Raises ``UnknownCall`` for a wrong token or a call that
        is not ringing or running here."""
        self.directory.carrier_verdict(call_id, token, answered_by, message_end)

    # -- SIP ------------------------------------------------------------------------------------------------
    def sip_call_handler(self, resolve: ScriptResolver | None = None) -> OnCall:
        """What the SIP listener runs per inbound call: the campaign mapped to the dialed number (``resolve``
        returns its agent script and id), or the demo script when none is mapped."""

        async def on_call(info: Any, leg: Any) -> CallRecord:
            script: dict[str, Any] | None = None
            campaign_id: str | None = None
            if resolve is not None:
                try:
                    script, campaign_id = await resolve(info.dialed)
                except Exception as exc:  # a lookup failure must not drop the caller: fall back to the demo script
                    logger.warning("campaign lookup for an inbound SIP call failed: {}", type(exc).__name__)
            request = CallRequest(
                call_id=f"sip-{uuid.uuid4().hex[:16]}",
                lead=Lead(name="there", phone=info.remote_user or ""),
                script=script,
                campaign_id=campaign_id,
            )
            return await self.serve_call(request, leg)

        return on_call

    async def start_sip_listener(
        self,
        host: str,
        port: int,
        *,
        advertise_host: str | None = None,
        rtp_port_range: tuple[int, int] | None = None,
        resolve: ScriptResolver | None = None,
    ) -> SipServer:
        """A SIP endpoint answering inbound calls on ``host:port`` (UDP and TCP), under the admission limit, from
        the configured networks (``sip_allowed_networks``) or with the configured digest credentials (others get
        403), sending RTP to the signalling peer unless ``sip_media_to_sdp_address``."""
        config = self.config
        digest = None
        if config.sip_inbound_username and config.sip_inbound_password:
            digest = DigestVerifier(
                config.sip_inbound_username, config.sip_inbound_password, realm=advertise_host or host
            )
        inbound = InboundPolicy.from_cidrs(
            config.sip_allowed_networks, media_to_sdp_address=config.sip_media_to_sdp_address, digest=digest
        )
        server = SipServer(
            host,
            port,
            self.sip_call_handler(resolve),
            advertise_host=advertise_host,
            rtp_port_range=rtp_port_range,
            admit=self.has_capacity,
            inbound=inbound,
        )
        return await server.start()

    async def dial_sip(
        self,
        trunk: SipTrunkConfig,
        number: str,
        *,
        call_id: str | None = None,
        ring_timeout_s: float | None = None,
        on_answer: Callable[[MediaLeg], None] | None = None,
    ) -> SipCallResult:
        """One outbound call through ``trunk``. With ``call_id`` it runs the call the dispatcher expects under that
        id; without, the demo script. ``on_answer`` sees the leg as soon as the trunk answers."""

        async def answered(info: Any, leg: Any) -> CallRecord:
            if on_answer is not None:
                on_answer(leg)
            if call_id is None:
                return await self.sip_call_handler()(info, leg)
            request, result = self.directory.take(call_id)
            return await self.serve_call(request, leg, result)

        return await place_call(trunk, number, answered, ring_timeout_s=ring_timeout_s)

    async def warm_transfer_sip(self, trunk: SipTrunkConfig, lead_leg: Any, transfer: Transfer) -> TransferResult:
        """Call the salesperson through ``trunk``, speak the transfer's whisper to them, then REFER the lead's call
        to theirs (see ``engine.telephony.sip.warm_transfer``)."""
        from engine.telephony.sip.warm_transfer import warm_refer

        whisper = await self.services.tts.synthesize(transfer.whisper) if transfer.whisper else b""
        return await warm_refer(trunk, lead_leg, transfer.to, whisper, transfer.answer_timeout_s)

    # -- browser calls ------------------------------------------------------------------------------------------
    async def accept_webrtc_offer(self, sdp: str, sample_rate: int) -> tuple[WebRtcLeg, str]:
        """A leg for a browser's WebRTC offer and the answer SDP; raises ValueError for an offer it cannot answer."""
        # aiortc costs ~35 MiB resident: loaded only by a process that takes a browser call, not by every engine.
        from engine.telephony.webrtc_leg import WebRtcLeg

        return await WebRtcLeg.accept(sdp, sample_rate=sample_rate)

    # -- the far end of a simulated call ----------------------------------------------------------------------
    async def play_simulated_lead(
        self, persona: Persona, media_url: str, call_id: str, stream_token: str
    ) -> CallerResult:
        """A simulated lead calling ``media_url`` (the Twilio protocol) as the persona says, for ``call_id``,
        presenting ``stream_token`` as Twilio does: a ``<Parameter>`` of the stream, in ``customParameters``."""
        # Synthesis is CPU work: off the event loop the engine's calls share.
        utterances = await asyncio.to_thread(lead_utterances, persona)
        custom = {"call_id": call_id, STREAM_TOKEN_PARAMETER: stream_token}
        return await SimulatedCaller(persona, utterances, media_url).run(custom)

    # -- HTTP -----------------------------------------------------------------------------------------------
    def route_handlers(self, *, include_records: bool = False) -> list[Any]:
        """Handlers to mount on the app that carries media streams. ``include_records`` exposes recent call
        records without authentication: only for the engine-alone server used by the simulator and tests."""

        @websocket("/media/{carrier:str}")
        async def media_stream(socket: WebSocket[Any, Any, Any], carrier: str) -> None:
            await self.accept_media_stream(socket, carrier)

        @get("/engine/calls/{call_id:str}", include_in_schema=False)
        async def engine_call_record(call_id: str) -> dict[str, Any]:
            record = self.directory.record(call_id)
            if record is None:
                raise NotFoundException(detail="no finished call with that id on this engine")
            return record

        return [media_stream, engine_call_record] if include_records else [media_stream]

    def health_handler(self) -> Any:
        @get("/health", include_in_schema=False)
        async def engine_health() -> dict[str, Any]:
            return {"status": "ok", "active_calls": self.directory.active_calls}

        return engine_health

    def close(self) -> None:
        if self._services is not None:
            self._services.close()

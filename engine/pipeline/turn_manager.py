"""The turn manager: owns turn-taking for one call and keeps its record.

It starts the call with the policy's greeting, hands each finished lead turn (and DTMF digits and silences) to the
dialogue policy, sends the policy's lines to speech synthesis, stops the bot when the lead barges in, and writes
every turn into the call record with what the lead actually heard and where each reply spent its time.

An answering machine (``AnsweredByFrame``, at most two lead turns into the call) silences the bot and stops the
dialogue: the lead's turns are still transcribed but not answered, and once the greeting is over (the beep, a
quiet line, or the carrier's message-end verdict) the policy leaves its voicemail (``on_answering_machine``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from loguru import logger
from pipecat.frames.frames import Frame, InterruptionFrame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

import metrics
from engine.agent.policy import (
    Action,
    DialoguePolicy,
    EndCall,
    OptOut,
    PolicyContext,
    RecordSlot,
    Say,
    ScheduleCallback,
    Transfer,
    Utterance,
)
from engine.agent.slots import IST
from engine.pipeline.frames import (
    AnsweredByFrame,
    BargeInFrame,
    LeadDtmfFrame,
    LeadSpeechStartedFrame,
    LeadTurnFrame,
    LegClosedFrame,
    PlayoutFrame,
    SpeakFrame,
)
from engine.records import CallRecord, CallRequest, Outcome, TranscriptTurn, TurnLatency, mask_number

# Short acknowledgements a lead makes while listening; they are not answers and must not stop the bot.
BACKCHANNELS = frozenset(
    {
        "hmm",
        "hm",
        "mhm",
        "mm",
        "uh-huh",
        "uh huh",
        "haan",
        "han",
        "ha",
        "achha",
        "acha",
        "ok",
        "okay",
        "right",
        "theek hai",
        "thik hai",
        "ji",
        "yeah",
        "yes",
        "huh",
    }
)


def is_backchannel(text: str) -> bool:
    cleaned = "".join(ch for ch in text.lower() if ch.isalpha() or ch in " -").strip()
    return cleaned in BACKCHANNELS


@dataclass
class TurnManagerConfig:
    lead_silence_timeout_s: float = 7.0
    max_call_s: float = 600.0


@dataclass
class _BotUtterance:
    text: str
    requested_at: float
    turn: LeadTurnFrame | None = None
    policy_s: float = 0.0
    started_at: float | None = None


TurnObserver = Callable[[TurnLatency], None]


class TurnManager(FrameProcessor):
    def __init__(
        self,
        *,
        policy: DialoguePolicy,
        request: CallRequest,
        record: CallRecord,
        config: TurnManagerConfig,
        on_done: Callable[[], None],
        on_opt_out: Callable[[], Awaitable[None]] | None = None,
        on_turn: TurnObserver | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(name="TurnManager", **kwargs)  # type: ignore[arg-type]
        self._policy = policy
        self._record = record
        self._cfg = config
        self._on_done = on_done
        self._on_opt_out = on_opt_out
        self._on_turn = on_turn
        self.ctx = PolicyContext(lead=request.lead, call_started_at=datetime.now(IST))
        self._t0 = time.monotonic()
        self._next_utterance = 1
        self._pending: dict[int, _BotUtterance] = {}
        self._ending: Outcome | None = None
        self._finished = False
        self._reply_task: asyncio.Task[None] | None = None
        self._silence_task: asyncio.Task[None] | None = None
        self._deadline_task: asyncio.Task[None] | None = None
        self._silence_count = 0
        self._lead_speaking = False
        self._reply_for: LeadTurnFrame | None = None
        # Set by the policy's Transfer: once the agent's part ends, the call is handed over instead of hung up.
        self.transfer: Transfer | None = None
        self._lead_turns = 0
        self._machine = False  # an answering machine answered: the dialogue is over, a message may follow
        self._voicemail_started = False

    # -- frame handling ------------------------------------------------------------------------------------------
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._t0 = time.monotonic()
            self._record.started_at = datetime.now(UTC).isoformat()
            self._deadline_task = self.create_task(self._deadline(), "call-deadline")
            self._run_policy(self._policy.greeting(self.ctx), None)
        elif isinstance(frame, LeadSpeechStartedFrame):
            self._lead_speaking = True
            self._cancel_silence()
        elif isinstance(frame, BargeInFrame):
            if self._pending and self._ending is None and not self._machine:
                await self._interrupt()
        elif isinstance(frame, AnsweredByFrame):
            await self._on_answered_by(frame)
        elif isinstance(frame, LeadTurnFrame):
            self._lead_speaking = False
            await self._on_lead_turn(frame)
        elif isinstance(frame, LeadDtmfFrame):
            self._record.dtmf.append(frame.digit)
            if self._ending is None:
                self._cancel_silence()
                self._run_policy(self._policy.on_dtmf(self.ctx, frame.digit), None)
        elif isinstance(frame, PlayoutFrame):
            self._on_playout(frame)
            await self.push_frame(frame, direction)
        elif isinstance(frame, LegClosedFrame):
            await self.push_frame(frame, direction)
            self._finish(ended_by="lead" if frame.by_remote else "error", reason=frame.reason)
        else:
            await self.push_frame(frame, direction)

    async def _on_lead_turn(self, turn: LeadTurnFrame) -> None:
        self._add_transcript("lead", turn.text, turn.started_at, turn.last_voiced_at)
        self._lead_turns += 1
        if self._ending is not None or self._finished or self._machine:
            return
        if self._pending and is_backchannel(turn.text):
            return
        if self._pending:
            await self._interrupt()
        self._silence_count = 0
        self._cancel_silence()
        self._run_policy(self._policy.on_lead_turn(self.ctx, turn.text), turn)

    async def _interrupt(self, *, by_lead: bool = True) -> None:
        if by_lead:
            self._record.interruptions += 1
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()
        await self.push_frame(InterruptionFrame())

    async def _on_answered_by(self, frame: AnsweredByFrame) -> None:
        if self._ending is not None or self._finished or self._voicemail_started:
            return
        if frame.answered_by != "machine":
            self._record.notes.append(f"answered by a person ({frame.source})")
            return
        if not self._machine:
            if self._lead_turns > 2:  # a conversation is under way: a late tone or a long answer is not a machine
                return
            self._machine = True
            self._cancel_silence()
            self._record.notes.append(f"answering machine ({frame.source}) at {time.monotonic() - self._t0:.3f}s")
            if self._pending or (self._reply_task is not None and not self._reply_task.done()):
                await self._interrupt(by_lead=False)  # never talk over the greeting
                # A line not yet playing was dropped on its way by the interruption: no playout report will come.
                for utterance_id in [k for k, utt in self._pending.items() if utt.started_at is None]:
                    del self._pending[utterance_id]
        if frame.message_end:
            self._voicemail_started = True
            self._record.notes.append(f"greeting ended ({frame.source}) at {time.monotonic() - self._t0:.3f}s")
            self._run_policy(self._policy.on_answering_machine(self.ctx), None)

    # -- policy --------------------------------------------------------------------------------------------------
    def _run_policy(self, actions: AsyncIterator[Action], turn: LeadTurnFrame | None) -> None:
        self._reply_task = self.create_task(self._apply_all(actions, turn), "policy")

    async def _apply_all(self, actions: AsyncIterator[Action], turn: LeadTurnFrame | None) -> None:
        started = time.monotonic()
        first_say = True
        try:
            async for action in actions:
                if isinstance(action, Say):
                    policy_s = time.monotonic() - started
                    await self._say(action, turn if first_say else None, policy_s)
                    first_say = False
                else:
                    await self._apply(action)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failing policy must never leave the line silent
            logger.exception("dialogue policy failed: {}", type(exc).__name__)
            self._record.error = f"policy error: {type(exc).__name__}"
            await self._say(Say("Sorry, something went wrong on our side. We will call you back. Goodbye."), None, 0.0)
            self._ending = Outcome.ERROR
        if self._ending is not None and not self._pending:
            self._finish(ended_by="bot")

    async def _say(self, action: Say, turn: LeadTurnFrame | None, policy_s: float) -> None:
        if not action.text.strip():
            return
        utterance_id = self._next_utterance
        self._next_utterance += 1
        now = time.monotonic()
        self._pending[utterance_id] = _BotUtterance(action.text, now, turn, policy_s)
        await self.push_frame(
            SpeakFrame(utterance_id=utterance_id, text=action.text, cacheable=action.cacheable, requested_at=now)
        )

    async def _apply(self, action: Action) -> None:
        if isinstance(action, RecordSlot):
            self.ctx.slots[action.name] = action.value
            self._record.slots[action.name] = action.value
        elif isinstance(action, OptOut):
            if not self._record.opted_out:
                self._record.opted_out = True
                if self._on_opt_out is not None:
                    # Suppression is written before the call record closes (and before the closing line plays).
                    await self._on_opt_out()
        elif isinstance(action, ScheduleCallback):
            self._record.callback_at = action.at.isoformat() if action.at else None
            if action.note:
                self._record.notes.append(action.note)
        elif isinstance(action, Transfer):
            self.transfer = action
            self._record.transfer = {
                "to": mask_number(action.to),
                "mode": action.mode,
                "reason": action.reason,
                "connected": False,
                "detail": "not attempted",
            }
        elif isinstance(action, EndCall):
            self._ending = action.outcome

    # -- playout reports -----------------------------------------------------------------------------------------
    def _on_playout(self, frame: PlayoutFrame) -> None:
        logger.debug(
            "playout u{} {} pending={} ending={}", frame.utterance_id, frame.event, list(self._pending), self._ending
        )
        utt = self._pending.get(frame.utterance_id)
        if utt is None:
            return
        if frame.event == "started":
            utt.started_at = frame.at
            if utt.turn is not None:
                self._record_latency(utt, frame.at)
            return
        self._pending.pop(frame.utterance_id, None)
        interrupted = frame.event == "interrupted"
        text = frame.played_text if interrupted else utt.text
        if utt.started_at is not None:
            self._add_transcript("bot", text, utt.started_at, frame.at, interrupted)
            self.ctx.history.append(Utterance("bot", text, interrupted))
        if self._pending:
            return
        if self._ending is not None and (self._reply_task is None or self._reply_task.done()):
            self._finish(ended_by="bot")
        elif not interrupted and not self._lead_speaking and self._ending is None and not self._machine:
            self._arm_silence()

    def _record_latency(self, utt: _BotUtterance, started_at: float) -> None:
        turn = utt.turn
        assert turn is not None
        latency = TurnLatency(
            endpoint_s=round(turn.decided_at - turn.last_voiced_at, 4),
            stt_s=round(turn.stt_s, 4),
            policy_s=round(utt.policy_s, 4),
            tts_s=round(started_at - utt.requested_at, 4),
            v2v_s=round(started_at - turn.last_voiced_at, 4),
            stt_queue_s=round(turn.stt_queue_s, 4),
            turn_end=turn.turn_end,
        )
        self._record.turns.append(latency)
        if self._on_turn is not None:
            self._on_turn(latency)

    def _add_transcript(self, role: str, text: str, start: float, end: float, interrupted: bool = False) -> None:
        self._record.transcript.append(
            TranscriptTurn(role, text, round(start - self._t0, 3), round(end - self._t0, 3), interrupted)
        )
        if role == "lead":
            self.ctx.history.append(Utterance("lead", text))

    # -- timers --------------------------------------------------------------------------------------------------
    def _arm_silence(self) -> None:
        self._cancel_silence()
        self._silence_task = self.create_task(self._silence(), "lead-silence")

    def _cancel_silence(self) -> None:
        if self._silence_task is not None and not self._silence_task.done():
            self._silence_task.cancel()
        self._silence_task = None

    async def _silence(self) -> None:
        await asyncio.sleep(self._cfg.lead_silence_timeout_s)
        if self._pending or self._lead_speaking or self._ending is not None or self._machine:
            return
        self._silence_count += 1
        metrics.LEAD_SILENCE_TOTAL.inc()
        self._record.notes.append(f"lead silent {self._cfg.lead_silence_timeout_s:.0f}s")
        self._silence_task = None
        self._run_policy(self._policy.on_silence(self.ctx, self._silence_count), None)

    async def _deadline(self) -> None:
        await asyncio.sleep(self._cfg.max_call_s)
        self._finish(ended_by="timeout")

    # -- the end -------------------------------------------------------------------------------------------------
    def _finish(self, *, ended_by: str, reason: str | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        self._cancel_silence()
        if self._ending is not None:
            outcome = self._ending
        elif ended_by == "lead":
            outcome = Outcome.HUNG_UP
        elif ended_by == "timeout":
            outcome = Outcome.NO_RESPONSE
        else:
            outcome = Outcome.ERROR
        if ended_by == "error" and reason:
            self._record.error = reason
        self._record.outcome = outcome
        self._record.ended_by = ended_by
        self._record.duration_s = round(time.monotonic() - self._t0, 3)
        # Bot lines that were still playing when the lead hung up are recorded as far as they were heard.
        now = time.monotonic()
        for utt in self._pending.values():
            if utt.started_at is not None:
                self._add_transcript("bot", utt.text, utt.started_at, now, interrupted=True)
        self._pending.clear()
        self._on_done()

    async def cleanup(self) -> None:
        for task in (self._reply_task, self._silence_task, self._deadline_task):
            if task is not None and not task.done():
                await self.cancel_task(task)
        await super().cleanup()

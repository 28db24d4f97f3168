"""The LLM dialogue policy: an OpenAI-compatible chat model leads the conversation, the script policy guards it.

How a lead turn is answered:

1. The fallback (script) policy is fed the turn first, always. That costs about a millisecond, keeps its state
   in step with the call, and gives us its answer ready-made.
2. If that answer contains ``OptOut`` (or the opt-out intent pattern matches), the lead asked not to be called
   again: we emit ``OptOut``, the opted-out closing and ``EndCall(OPTED_OUT)`` and the model is not consulted.
   Opting out never depends on a model.
3. Otherwise the model is asked. Its text is spoken sentence by sentence while it streams; its tool calls
   become ``RecordSlot`` / ``OptOut`` / ``ScheduleCallback`` / ``EndCall`` (checked against the script).
4. If the model fails (HTTP error, broken stream, no first token before the deadline) or says nothing at all,
   the fallback's ready-made answer for this turn is spoken instead. The call never goes silent.

Keeping the fallback in sync (a "shadow run"): the fallback hears every lead turn, in order, with the same
``PolicyContext`` the model sees, and walks its script as if it were leading the call; its answers on turns the
model handled are discarded. ``ScriptPolicy`` keeps its own question pointer and values (it does not read
``ctx.slots``), so after a model failure it interprets the lead's turn against the question it would itself have
asked by then. The prompt tells the model to ask the script's questions in the script's order, so the two
normally agree; when they do not, the fallback's answer is still a coherent script line, never silence. If the
shadow run has already closed the call (the model carried on past a point where the script would have ended),
its closing is replayed on the next model failure. Greeting, silences and DTMF stay with the fallback, with a
guard for silences and the opt-out key after the shadow run has ended.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from engine.agent.intents import Intent, detect_intents
from engine.agent.llm_client import (
    ChatCompletionsClient,
    LLMError,
    LLMHTTPError,
    LLMProtocolError,
    LLMTimeoutError,
    TextDelta,
    ToolCall,
    ToolCallsDone,
)
from engine.agent.llm_prompt import build_messages
from engine.agent.llm_tools import (
    MODEL_OUTCOMES,
    TOOL_NAMES,
    SlotValueError,
    build_tools,
    closing_lines,
    coerce_slot_value,
    parse_when,
)
from engine.agent.policy import (
    Action,
    DialoguePolicy,
    EndCall,
    OptOut,
    PolicyContext,
    RecordSlot,
    Say,
    ScheduleCallback,
)
from engine.agent.script import AgentScript
from engine.agent.script_policy import spoken_time
from engine.records import Lead, Outcome
from engine.speech.sentences import SentenceSplitter

log = logging.getLogger(__name__)


def render_line(script: AgentScript, template: str, ctx: PolicyContext, callback_at: datetime | None = None) -> str:
    return script.render(template, ctx.lead, callback_at=spoken_time(callback_at, ctx.call_started_at))


@dataclass
class LLMPolicyStats:
    """Per-call counters, for the call record's notes and for metrics."""

    model_turns: int = 0
    fallback_turns: int = 0
    opt_out_guard: int = 0
    fallback_reasons: list[str] = field(default_factory=list)
    rejected_tool_calls: int = 0

    def summary(self) -> str:
        """One line for the call record's notes (no personal data: counts and bounded reason labels only)."""
        reasons = ", ".join(sorted(set(self.fallback_reasons))) or "none"
        return (
            f"llm: {self.model_turns} model turns, {self.fallback_turns} script fallbacks ({reasons}), "
            f"{self.opt_out_guard} opt-out guard, {self.rejected_tool_calls} rejected tool calls"
        )


class LLMPolicy:
    """``DialoguePolicy`` backed by a streaming OpenAI-compatible endpoint, guarded by ``fallback``."""

    def __init__(
        self,
        script: AgentScript,
        fallback: DialoguePolicy,
        *,
        base_url: str,
        model: str,
        api_key: SecretStr | str | None = None,
        first_token_timeout_s: float = 1.5,
        idle_timeout_s: float = 5.0,
        max_tokens: int = 160,
        temperature: float = 0.3,
        use_tools: bool = True,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.script = script
        self.fallback = fallback
        self.client = ChatCompletionsClient(
            base_url,
            model,
            api_key,
            first_token_timeout_s=first_token_timeout_s,
            idle_timeout_s=idle_timeout_s,
            http_client=http_client,
        )
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.use_tools = use_tools
        self.stats = LLMPolicyStats()
        self._closings = closing_lines(script)
        self._tools = build_tools(script)
        self._shadow_ending: list[Action] = []

    async def aclose(self) -> None:
        await self.client.aclose()

    # The fixed parts of the call stay with the script policy: the greeting (which must disclose the AI),
    # silences and keypad digits are deterministic and need no model round trip.
    async def greeting(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        async for action in self.fallback.greeting(ctx):
            yield action

    async def on_silence(self, ctx: PolicyContext, count: int) -> AsyncIterator[Action]:
        actions = [action async for action in self.fallback.on_silence(ctx, count)]
        if not any(isinstance(action, Say | EndCall) for action in actions):
            # The fallback closed the call in its shadow run while the model went on: it has nothing to say.
            replies = self.script.replies
            actions = (
                [self._closing("no_response", ctx), EndCall(Outcome.NO_RESPONSE)]
                if count >= 2
                else [Say(self.script.render(replies.still_there, ctx.lead), cacheable=True)]
            )
        for action in actions:
            yield action

    async def on_dtmf(self, ctx: PolicyContext, digit: str) -> AsyncIterator[Action]:
        actions = [action async for action in self.fallback.on_dtmf(ctx, digit)]
        if digit == "9" and not any(isinstance(action, OptOut) for action in actions):
            # 9 is the script policy's opt-out key; it must work even after the shadow run has ended.
            actions = self._opt_out_actions(ctx, [])
        for action in actions:
            yield action

    async def on_answering_machine(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        # The voicemail is a fixed line: no model round trip.
        for action in self._end_call(ctx, {"outcome": str(Outcome.VOICEMAIL)}):
            yield action

    def fixed_lines(self, lead: Lead) -> list[str]:
        return self.fallback.fixed_lines(lead)

    def settles_turn(self, text: str) -> bool:
        return False  # the model keeps no pending slot to check an answer against

    def expects_more(self, text: str) -> bool:
        return self.fallback.expects_more(text)  # the shadow run knows which question is pending

    def stt_prompt(self) -> str | None:
        return self.fallback.stt_prompt()

    async def on_lead_turn(self, ctx: PolicyContext, text: str) -> AsyncIterator[Action]:
        scripted = [action async for action in self.fallback.on_lead_turn(ctx, text)]
        if any(isinstance(action, EndCall) for action in scripted):
            self._shadow_ending = [action for action in scripted if not isinstance(action, RecordSlot)]
        # Either detector is enough: the script policy's answer, or the intent patterns it is built on, which
        # still fire after the shadow run has ended or when the fallback is some other policy.
        if any(isinstance(a, OptOut) for a in scripted) or Intent.OPT_OUT in detect_intents(text, ctx.lead.name):
            self.stats.opt_out_guard += 1
            for action in self._opt_out_actions(ctx, scripted):
                yield action
            return

        said_anything = False
        recorded: set[str] = set()
        reason = "empty_reply"
        try:
            async with aclosing(self._model_turn(ctx, text)) as model_actions:
                async for action in model_actions:
                    said_anything = said_anything or isinstance(action, Say)
                    if isinstance(action, RecordSlot):
                        recorded.add(action.name)
                    yield action
        except Exception as exc:  # a bug on the model path must not cost the call: the script answers instead
            reason = _reason(exc)
            log.warning("LLM turn failed (%s, %s); the script policy answers this turn", reason, type(exc).__name__)
        else:
            if said_anything:
                self.stats.model_turns += 1
                return
        self.stats.fallback_turns += 1
        self.stats.fallback_reasons.append(reason)
        for action in self._fallback_answer(ctx, scripted, recorded):
            yield action

    def _fallback_answer(self, ctx: PolicyContext, scripted: list[Action], recorded: set[str]) -> list[Action]:
        """The script policy's answer to this turn, minus slots the model already recorded. If its shadow run
        has ended (it closed the call on an earlier turn the model carried on from), its closing is replayed:
        it is the script's verdict on everything it heard. Last resort: "sorry, I did not catch that"."""
        actions = [a for a in scripted if not (isinstance(a, RecordSlot) and a.name in recorded)]
        if any(isinstance(action, Say | EndCall) for action in actions):
            return actions
        if self._shadow_ending:
            return actions + self._shadow_ending
        return [*actions, Say(self.script.render(self.script.replies.not_understood, ctx.lead), cacheable=True)]

    def _opt_out_actions(self, ctx: PolicyContext, scripted: list[Action]) -> list[Action]:
        opt_out = next((action for action in scripted if isinstance(action, OptOut)), None)
        lines: list[Action] = [action for action in scripted if isinstance(action, Say)]
        if opt_out is None or not lines:
            opt_out, lines = opt_out or OptOut(), [self._closing("opted_out", ctx)]
        return [opt_out, *lines, EndCall(Outcome.OPTED_OUT)]

    def _closing(self, outcome: str, ctx: PolicyContext, callback_at: datetime | None = None) -> Say:
        template = self._closings.get(outcome, "Thank you for your time. Goodbye.")
        return Say(render_line(self.script, template, ctx, callback_at), cacheable="{callback_at}" not in template)

    async def _model_turn(self, ctx: PolicyContext, text: str) -> AsyncGenerator[Action, None]:
        messages = build_messages(self.script, ctx, text)
        splitter = SentenceSplitter()
        calls: list[ToolCall] = []
        stream = self.client.stream(
            messages,
            tools=self._tools if self.use_tools else None,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    for sentence in splitter.feed(event.text):
                        yield Say(sentence)
                elif isinstance(event, ToolCallsDone):
                    calls = event.calls
        tail = splitter.flush()
        if tail:
            yield Say(tail)
        for action in self._tool_actions(ctx, calls):
            yield action

    def _tool_actions(self, ctx: PolicyContext, calls: list[ToolCall]) -> list[Action]:
        """Tool calls as actions, checked against the script. Only the first call that ends the call counts."""
        actions: list[Action] = []
        ending: list[Action] = []
        for call in calls:
            try:
                args = call.parsed_arguments()
                if call.name == "record_slot":
                    actions.append(self._record_slot(ctx, args))
                elif ending:
                    continue
                elif call.name == "opt_out":
                    ending = self._opt_out_actions(ctx, [])
                elif call.name == "schedule_callback":
                    ending = self._callback(ctx, str(args.get("when") or "").strip())
                elif call.name == "end_call":
                    ending = self._end_call(ctx, args)
                else:
                    raise SlotValueError("unknown tool")
            except (SlotValueError, LLMProtocolError) as exc:
                # The tool name is bounded by the check above; values may be personal data and are not logged.
                log.info("ignored a %s tool call: %s", call.name if call.name in TOOL_NAMES else "unknown", exc)
                self.stats.rejected_tool_calls += 1
        return actions + ending

    def _record_slot(self, ctx: PolicyContext, args: dict[str, Any]) -> RecordSlot:
        name = str(args.get("slot", ""))
        if name not in self.script.slot_names:
            raise SlotValueError("unknown slot")
        if "value" not in args or args["value"] is None:
            raise SlotValueError("no value")
        return RecordSlot(name, coerce_slot_value(self.script.question(name), args["value"], ctx.call_started_at))

    def _callback(self, ctx: PolicyContext, when: str) -> list[Action]:
        """Same actions as the script policy's callback: the time (if understood), the slot, the closing."""
        at = parse_when(when, ctx.call_started_at) if when else None
        note = "lead asked to be called back" + ("" if at else " (no time understood)")
        return [
            ScheduleCallback(at, note=note),
            RecordSlot("callback_at", at.isoformat() if at else None),
            self._closing("callback_requested", ctx, at),
            EndCall(Outcome.CALLBACK_REQUESTED),
        ]

    def _end_call(self, ctx: PolicyContext, args: dict[str, Any]) -> list[Action]:
        raw = str(args.get("outcome", "")).strip().lower()
        if raw == Outcome.OPTED_OUT:
            return self._opt_out_actions(ctx, [])
        try:
            outcome = Outcome(raw)
        except ValueError:
            raise SlotValueError("unknown outcome") from None
        if outcome not in MODEL_OUTCOMES:
            raise SlotValueError("outcome not allowed")
        if outcome == Outcome.CALLBACK_REQUESTED:
            return self._callback(ctx, "")
        if outcome == Outcome.VOICEMAIL:
            message = self.script.voicemail_message
            said: list[Action] = [Say(render_line(self.script, message, ctx), True)] if message else []
            return [*said, EndCall(outcome)]
        return [self._closing(str(outcome), ctx), EndCall(outcome)]


def _reason(exc: Exception) -> str:
    """A bounded label for why the model did not answer (usable as a metric label)."""
    if isinstance(exc, LLMTimeoutError):
        return "timeout"
    if isinstance(exc, LLMProtocolError):
        return "malformed_stream"
    if isinstance(exc, LLMHTTPError):
        return "http_error"
    if isinstance(exc, LLMError):
        return "error"
    return "internal_error"

"""The LLM dialogue policy: an OpenAI-compatible chat model leads the conversation, the script policy guards it.

How a lead turn is answered:

1. The fallback (script) policy is fed the turn first, always. That costs about a millisecond, keeps its state
   in step with the call, and gives us its answer ready-made.
2. If that answer contains ``OptOut``, the lead asked not to be called again: we emit ``OptOut``, the opted-out
   closing and ``EndCall(OPTED_OUT)`` and the model is not consulted. Opting out never depends on a model.
3. Otherwise the model is asked. Its text is spoken sentence by sentence while it streams; its tool calls
   become ``RecordSlot`` / ``OptOut`` / ``ScheduleCallback`` / ``EndCall`` (checked against the script).
4. If the model fails (HTTP error, broken stream, no first token before the deadline) or says nothing at all,
   the fallback's ready-made answer for this turn is spoken instead. The call never goes silent.

Keeping the fallback in sync: it sees every lead turn and the same ``PolicyContext`` (history and the slots the
turn manager has recorded, including those the model recorded through ``record_slot``). Its own answers on the
turns the model handled are discarded, so after a model failure it answers from its own position in the script,
which is derived from what it heard; a script policy that asks the first question whose slot is still empty
therefore continues where the model left off.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from engine.agent import slots
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
from engine.agent.policy import (
    Action,
    DialoguePolicy,
    EndCall,
    Lead,
    OptOut,
    Outcome,
    PolicyContext,
    RecordSlot,
    Say,
    ScheduleCallback,
)

if TYPE_CHECKING:
    from engine.agent.script import AgentScript

log = logging.getLogger(__name__)

IST = ZoneInfo("Asia/Kolkata")

# Outcomes the model may choose with end_call; opted_out goes through opt_out (which also suppresses the number)
# and the rest (hung_up, error, no_response) are decided by the engine, not by the conversation.
_MODEL_OUTCOMES = (
    Outcome.QUALIFIED,
    Outcome.NOT_QUALIFIED,
    Outcome.WRONG_PERSON,
    Outcome.CALLBACK_REQUESTED,
    Outcome.VOICEMAIL,
)
_MAX_HISTORY_MESSAGES = 24  # bounds the prompt on long calls; the slots carry what was learned before


# -- sentence splitting (pure) -------------------------------------------------------------------------------
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "rs", "st", "vs", "sr", "jr", "approx", "e.g", "i.e"})
_CLOSERS = "\"')]}”’"
_MARKUP = re.compile(r"[*_#`~]+")
_SPACES = re.compile(r"\s+")


class SentenceSplitter:
    """Cuts streamed text into speakable pieces: at ``. ! ?`` (and newlines), and at ``, ; :`` once the clause
    is long, so TTS can start on the first sentence while the model is still writing the rest.

    A full stop is only a boundary once the next character is known (whitespace), so "2.5 lakh" and "Rs. 500"
    stay whole.
    """

    def __init__(self, long_clause_chars: int = 60) -> None:
        self.long_clause_chars = long_clause_chars
        self._buf = ""

    def feed(self, text: str) -> list[str]:
        self._buf += text
        pieces: list[str] = []
        start = 0
        i = 0
        buf = self._buf
        while i < len(buf):
            ch = buf[i]
            cut: int | None = None
            if ch == "\n":
                cut = i + 1
            elif ch in "!?…":
                cut = self._after_closers(buf, i + 1)
            elif ch == ".":
                if i + 1 >= len(buf):
                    break  # wait for the next character
                ends = buf[i + 1] in _CLOSERS or buf[i + 1].isspace()
                if ends and not self._is_abbreviation(buf[start : i + 1]):
                    cut = self._after_closers(buf, i + 1)
            elif ch in ",;:" and i + 1 < len(buf) and buf[i + 1].isspace():
                cut = i + 1 if len(buf[start:i].strip()) >= self.long_clause_chars else None
            if cut is not None:
                piece = _clean(buf[start:cut])
                if piece:
                    pieces.append(piece)
                start = cut
                i = cut
                continue
            i += 1
        self._buf = buf[start:]
        return pieces

    def flush(self) -> str | None:
        piece = _clean(self._buf)
        self._buf = ""
        return piece or None

    @staticmethod
    def _after_closers(buf: str, i: int) -> int:
        while i < len(buf) and buf[i] in _CLOSERS:
            i += 1
        return i

    @staticmethod
    def _is_abbreviation(text: str) -> bool:
        words = text.rstrip(".").split()
        if not words:
            return False
        last = words[-1].lstrip("(\"'")
        is_initial = len(last) == 1 and last.isupper() and last != "I"  # "A. Kumar"
        return is_initial or last.lower() in _ABBREVIATIONS


def _clean(text: str) -> str:
    """What TTS should read: no markdown, single spaces."""
    return _SPACES.sub(" ", _MARKUP.sub("", text)).strip()


# -- the script, read defensively ----------------------------------------------------------------------------
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class _SlotSpec:
    name: str
    type: str
    ask: str
    options: dict[str, list[str]] = field(default_factory=dict)
    stop_if: Any = None


def _slot_specs(script: Any) -> list[_SlotSpec]:
    specs = []
    for q in _get(script, "questions", []) or []:
        options = _get(q, "options") or {}
        if isinstance(options, list):
            options = {str(o): [str(o)] for o in options}
        specs.append(
            _SlotSpec(
                name=str(_get(q, "slot")),
                type=str(_get(q, "type", "text")),
                ask=str(_get(q, "ask", "")),
                options={str(k): [str(s) for s in (v or [])] for k, v in dict(options).items()},
                stop_if=_get(q, "stop_if"),
            )
        )
    return specs


def _closing_lines(script: Any) -> dict[str, str]:
    closing = _get(script, "closing") or {}
    if not isinstance(closing, Mapping):
        closing = closing.model_dump() if hasattr(closing, "model_dump") else vars(closing)
    return {str(k): str(v) for k, v in closing.items() if v}


_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][\w.]*)\}")


def render_line(template: str, script: Any, lead: Lead, callback_at: datetime | None = None) -> str:
    """Fill the agent-script placeholders. Scripts are validated, so an unknown name here is left out, never
    spoken as ``{x}``."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "agent_name":
            return str(_get(script, "agent_name", ""))
        if name == "company":
            return str(_get(script, "company", ""))
        if name == "lead.name":
            return lead.name
        if name.startswith("lead.metadata."):
            return str(lead.metadata.get(name.removeprefix("lead.metadata."), ""))
        if name == "callback_at":
            return speak_time(callback_at) if callback_at else "later"
        return ""

    return _SPACES.sub(" ", _PLACEHOLDER.sub(value, template)).strip()


def speak_time(at: datetime) -> str:
    local = at.astimezone(IST)
    hour = local.strftime("%I").lstrip("0")
    minute = "" if local.minute == 0 else local.strftime(":%M")
    return f"on {local:%A}, {local.day} {local:%B} at {hour}{minute} {local:%p}"


# -- the prompt and the tools --------------------------------------------------------------------------------
_TYPE_HINTS = {
    "yes_no": "true or false",
    "number": "a number",
    "amount_inr": "whole rupees as a number (1 lakh = 100000, 1 crore = 10000000)",
    "choice": "one of the option names",
    "when": "an ISO 8601 date and time in India (Asia/Kolkata)",
    "text": "a short text",
}


def build_system_prompt(script: Any, ctx: PolicyContext) -> str:
    specs = _slot_specs(script)
    closings = _closing_lines(script)
    agent = _get(script, "agent_name", "the agent")
    company = _get(script, "company", "the company")
    lines = [
        f"You are {agent}, an AI assistant making an outbound phone call on behalf of {company} "
        f"({_get(script, 'name', 'lead qualification')}). Everything you write is spoken aloud to the lead by a "
        "text-to-speech voice.",
        "",
        "Rules:",
        "- You are an AI assistant. Say so truthfully whenever asked; never claim to be a human.",
        "- Be brief: one or two short sentences per turn, plain spoken words, no lists, no markdown, no emojis.",
        "- Ask one question at a time, in the order below. If an answer is unclear, ask again once.",
        "- As soon as the lead answers a question, call record_slot with the slot name and the value.",
        "- If the lead does not want to be called again, call opt_out at once.",
        "- If the lead is busy or asks to be called later, call schedule_callback with the time they gave.",
        "- When the questions are done, or the lead is not the right person or not interested, call end_call "
        "with the outcome. Do not say goodbye yourself: the closing line below is spoken for you.",
        "- Amounts are in Indian rupees: 1 lakh = 100,000 and 1 crore = 10,000,000.",
        "",
        "Questions (slot name, value type, question):",
    ]
    for n, spec in enumerate(specs, 1):
        hint = _TYPE_HINTS.get(spec.type, "a value")
        line = f"{n}. {spec.name} ({spec.type}: {hint}): {spec.ask}"
        if spec.options:
            line += f" Options: {', '.join(spec.options)}."
        if spec.stop_if is not None:
            line += f" If the answer is {json.dumps(spec.stop_if)}, end the call as not_qualified."
        lines.append(line)
    qualify = _get(script, "qualify")
    if qualify:
        lines += ["", f"The lead is qualified when: {qualify}"]
    if closings:
        lines += ["", "Closing lines, spoken for you after the matching tool call:"]
        lines += [f"- {outcome}: {text}" for outcome, text in closings.items()]
    recorded = {k: v for k, v in ctx.slots.items() if v is not None}
    lines += [
        "",
        f"Slots recorded so far: {json.dumps(recorded, default=str) if recorded else 'none'}",
        f"The call started at {ctx.call_started_at.astimezone(IST).isoformat(timespec='minutes')} (India time).",
    ]
    return "\n".join(lines)


def build_tools(script: Any) -> list[dict[str, Any]]:
    slot_names = [spec.name for spec in _slot_specs(script)]
    closings = _closing_lines(script)
    outcomes = [str(o) for o in _MODEL_OUTCOMES if not closings or str(o) in closings or o == Outcome.VOICEMAIL]
    return [
        _tool(
            "record_slot",
            "Record the lead's answer to one question.",
            {
                "slot": {"type": "string", "enum": slot_names},
                "value": {"type": ["string", "number", "boolean"]},
            },
            ["slot", "value"],
        ),
        _tool(
            "end_call",
            "End the call with an outcome; the matching closing line is spoken for you.",
            {"outcome": {"type": "string", "enum": outcomes}},
            ["outcome"],
        ),
        _tool("opt_out", "The lead does not want to be called again.", {}, []),
        _tool(
            "schedule_callback",
            "The lead asked to be called back later.",
            {"when": {"type": "string", "description": "when, as the lead said it or as ISO 8601"}},
            ["when"],
        ),
    ]


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def build_messages(script: Any, ctx: PolicyContext, text: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": build_system_prompt(script, ctx)}]
    history = list(ctx.history)
    # The turn manager may or may not have appended this turn to the history yet.
    if history and history[-1].role == "lead" and history[-1].text.strip() == text.strip():
        history.pop()
    turns: list[dict[str, str]] = []
    for utterance in history:
        role = "assistant" if utterance.role == "bot" else "user"
        content = utterance.text + (" (interrupted by the lead)" if utterance.interrupted else "")
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += " " + content
        else:
            turns.append({"role": role, "content": content})
    turns.append({"role": "user", "content": text.strip() or "(no words heard)"})
    return messages + turns[-_MAX_HISTORY_MESSAGES:]


# -- tool-call values ----------------------------------------------------------------------------------------
class SlotValueError(ValueError):
    pass


def coerce_slot_value(spec: _SlotSpec, value: Any, call_started_at: datetime) -> Any:
    """The model's value in the shape the script policy records for this slot type.

    Typed JSON values are taken as they are; strings go through the script policy's own extractors, so "5 lakh"
    from the model means what it means when the lead says it."""
    kind = spec.type
    if kind == "yes_no" and isinstance(value, bool):
        return value
    if kind in ("number", "amount_inr") and isinstance(value, int | float) and not isinstance(value, bool):
        return round(value) if kind == "amount_inr" or value == int(value) else value
    if kind == "when":
        at = parse_when(str(value), call_started_at)
        if at is None:
            raise SlotValueError("not a date and time")
        return at
    try:
        result = slots.extract(kind, str(value), now=call_started_at, options=spec.options)
    except ValueError as exc:
        raise SlotValueError(str(exc)) from None
    if result is None:
        raise SlotValueError(f"not a {kind} value")
    return result


def parse_when(text: str, call_started_at: datetime) -> datetime | None:
    """ISO 8601 from the model (naive means India time), else the phrase as the lead said it."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        return slots.extract_when(text, call_started_at)
    return at if at.tzinfo else at.replace(tzinfo=IST)


# -- the policy ----------------------------------------------------------------------------------------------
@dataclass
class LLMPolicyStats:
    """Per-call counters, for the call record's notes and for metrics."""

    model_turns: int = 0
    fallback_turns: int = 0
    opt_out_guard: int = 0
    fallback_reasons: list[str] = field(default_factory=list)
    rejected_tool_calls: int = 0


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
        self._specs = {spec.name: spec for spec in _slot_specs(script)}
        self._closings = _closing_lines(script)
        self._tools = build_tools(script)

    async def aclose(self) -> None:
        await self.client.aclose()

    # The fixed parts of the call stay with the script policy: the greeting (which must disclose the AI),
    # silences and keypad digits are deterministic and need no model round trip.
    async def greeting(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        async for action in self.fallback.greeting(ctx):
            yield action

    async def on_silence(self, ctx: PolicyContext, count: int) -> AsyncIterator[Action]:
        async for action in self.fallback.on_silence(ctx, count):
            yield action

    async def on_dtmf(self, ctx: PolicyContext, digit: str) -> AsyncIterator[Action]:
        async for action in self.fallback.on_dtmf(ctx, digit):
            yield action

    def fixed_lines(self, lead: Lead) -> list[str]:
        return self.fallback.fixed_lines(lead)

    def stt_prompt(self) -> str | None:
        return self.fallback.stt_prompt()

    async def on_lead_turn(self, ctx: PolicyContext, text: str) -> AsyncIterator[Action]:
        scripted = [action async for action in self.fallback.on_lead_turn(ctx, text)]
        if any(isinstance(action, OptOut) for action in scripted):
            self.stats.opt_out_guard += 1
            for action in self._opt_out_actions(ctx, scripted):
                yield action
            return

        said_anything = False
        recorded: set[str] = set()
        try:
            async with aclosing(self._model_turn(ctx, text)) as model_actions:
                async for action in model_actions:
                    said_anything = said_anything or isinstance(action, Say)
                    if isinstance(action, RecordSlot):
                        recorded.add(action.name)
                    yield action
        except LLMError as exc:
            reason = _reason(exc)
            log.warning("LLM turn failed (%s); the script policy answers this turn", reason)
            self._fell_back(reason)
            for action in scripted:
                if not (isinstance(action, RecordSlot) and action.name in recorded):
                    yield action
            return
        if not said_anything:
            self._fell_back("empty_reply")
            for action in scripted:
                if not (isinstance(action, RecordSlot) and action.name in recorded):
                    yield action
            return
        self.stats.model_turns += 1

    def _fell_back(self, reason: str) -> None:
        self.stats.fallback_turns += 1
        self.stats.fallback_reasons.append(reason)

    def _opt_out_actions(self, ctx: PolicyContext, scripted: list[Action]) -> list[Action]:
        opt_out = next(action for action in scripted if isinstance(action, OptOut))
        lines: list[Action] = [action for action in scripted if isinstance(action, Say)]
        if not lines:
            lines = [self._closing("opted_out", ctx)]
        return [opt_out, *lines, EndCall(Outcome.OPTED_OUT)]

    def _closing(self, outcome: str, ctx: PolicyContext, callback_at: datetime | None = None) -> Say:
        template = self._closings.get(outcome)
        if template is None:
            template = "Thank you for your time. Goodbye."
        return Say(render_line(template, self.script, ctx.lead, callback_at), cacheable=callback_at is None)

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
                    ending = [OptOut(), self._closing("opted_out", ctx), EndCall(Outcome.OPTED_OUT)]
                elif call.name == "schedule_callback":
                    when = str(args.get("when", "")).strip()
                    at = parse_when(when, ctx.call_started_at) if when else None
                    ending = [
                        ScheduleCallback(at, note="" if at else when[:120]),
                        self._closing("callback_requested", ctx, at),
                        EndCall(Outcome.CALLBACK_REQUESTED),
                    ]
                elif call.name == "end_call":
                    ending = self._end_call(ctx, args)
                else:
                    raise SlotValueError(f"unknown tool {call.name!r}")
            except (SlotValueError, LLMProtocolError) as exc:
                # Names only: values may be personal data.
                log.info("ignored tool call %s: %s", call.name[:40], exc)
                self.stats.rejected_tool_calls += 1
        return actions + ending

    def _record_slot(self, ctx: PolicyContext, args: dict[str, Any]) -> RecordSlot:
        name = str(args.get("slot", ""))
        spec = self._specs.get(name)
        if spec is None:
            raise SlotValueError("unknown slot")
        if "value" not in args or args["value"] is None:
            raise SlotValueError("no value")
        return RecordSlot(name, coerce_slot_value(spec, args["value"], ctx.call_started_at))

    def _end_call(self, ctx: PolicyContext, args: dict[str, Any]) -> list[Action]:
        raw = str(args.get("outcome", "")).strip().lower()
        if raw == Outcome.OPTED_OUT:
            return [OptOut(), self._closing("opted_out", ctx), EndCall(Outcome.OPTED_OUT)]
        try:
            outcome = Outcome(raw)
        except ValueError:
            raise SlotValueError("unknown outcome") from None
        if outcome not in _MODEL_OUTCOMES:
            raise SlotValueError("outcome not allowed")
        if outcome == Outcome.VOICEMAIL:
            message = _get(self.script, "voicemail_message")
            said: list[Action] = [Say(render_line(message, self.script, ctx.lead), True)] if message else []
            return [*said, EndCall(outcome)]
        if str(outcome) not in self._closings and self._closings:
            raise SlotValueError("outcome has no closing in the script")
        return [self._closing(str(outcome), ctx), EndCall(outcome)]


def _reason(exc: LLMError) -> str:
    """A bounded label for why the model did not answer (usable as a metric label)."""
    if isinstance(exc, LLMTimeoutError):
        return "timeout"
    if isinstance(exc, LLMProtocolError):
        return "malformed_stream"
    if isinstance(exc, LLMHTTPError):
        return "http_error"
    return "error"

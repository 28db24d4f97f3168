"""The embedded script policy: deterministic, offline, about a millisecond per turn.

It walks an :class:`~engine.agent.script.AgentScript` as a small state machine (greeting -> questions ->
closing, with a side state when it has asked for a callback time). Decisions, in priority order, on each lead turn:

1. Voicemail (first two lead turns, still at the greeting): leave ``voicemail_message`` if any, end ``voicemail``.
2. Opt-out, anywhere: ``OptOut`` + the opted_out line + ``EndCall(opted_out)`` in that same turn.
3. Wrong person -> wrong_person line, ``EndCall(wrong_person)``.
4. "Let me talk to a person" -> with a ``transfer`` rule whose ``when`` is ``on_request`` or ``both``: its ``say``
   line, ``Transfer`` and ``EndCall(transferred)``; without one, ``ScheduleCallback(note=...)``,
   ``callback_requested``.
5. Busy / call later -> ``callback_requested`` with ``callback_at`` when a time was said; without one the policy
   asks once "when should I call you back?" and closes with whatever the next turn gives (maybe no time), unless
   the lead changes their mind ("go ahead"). "No" to the greeting's "is this a good time?" counts as busy.
   While a question is pending, a turn that answers it is taken as the answer unless it says "call"/"busy".
   "Not interested" (without "don't call") closes as ``not_qualified``: declining is not withdrawing consent.
6. "Are you a robot / who is this" -> the truthful identity line (an AI assistant), then the pending question.
7. "Sorry? / can you repeat" -> the pending question again (not counted as a failed answer).
8. Otherwise the turn answers the pending question. A choice answer that is only close to an option ("self
   employee", "concreet", "salary" for "salaried") is confirmed first ("Just to confirm, self employed?"): a yes
   records the option, a no or anything unclear counts as an unclear answer. An unclear answer is re-asked ONCE
   (``reprompt``); a second unclear answer records the slot as ``None`` (unknown) and moves on, because
   re-asking a third time annoys more leads than it recovers, and the lead is still talking to us.
   Numbers, money and choices for LATER questions found in the same turn ("yes, and my bill is about 3000") are
   recorded too and their questions skipped (also when the turn does not answer the pending question, as when
   end-of-turn detection cuts a sentence in two). Numbers are confirmed back together with the next question
   in one ``Say``; every other line is a fixed script line, ``Say(cacheable=True)``, listed by ``fixed_lines``.
   A turn made only of the STT prompt's words is Whisper echoing its prompt, and counts as unclear.
9. When every question has a value (or ``None``), ``qualify`` decides ``qualified`` / ``not_qualified``, or
   ``needs_review`` when its result turns on an unknown slot (``qualify.verdict``); a ``stop_if`` answer ends
   earlier with ``not_qualified``. A qualified lead is transferred (instead of the qualified closing) when
   the ``transfer`` rule's ``when`` is ``qualified`` or ``both``.

An answering machine found in the audio or by the carrier (``on_answering_machine``, after its greeting) gets the
same voicemail ending as 1.

Silence: the first timeout re-prompts ("Are you still there?" + the pending question again), the second
closes politely with ``no_response``. DTMF: ``1`` = talk to a person (a transfer when the script's rule takes
requests, else callback_requested with a note), ``0`` = talk to a person (only with such a rule), ``9`` = do not
call me again (opt-out); other digits are ignored.

Slot values recorded: yes_no -> bool, number -> int/float, amount_inr -> int rupees, choice -> option name,
when -> ISO-8601 string in Asia/Kolkata, text -> str; ``callback_at`` -> ISO string or None.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from enum import Enum
from typing import Any

from engine.agent import qualify as q
from engine.agent.choices import near_choice
from engine.agent.intents import Intent, detect_intents
from engine.agent.policy import Action, EndCall, OptOut, PolicyContext, RecordSlot, Say, ScheduleCallback, Transfer
from engine.agent.script import AgentScript, Question
from engine.agent.slots import (
    IST,
    amount_is_explicit,
    extract,
    extract_choice,
    extract_when,
    extract_yes_no,
    is_unsure,
    normalize_text,
)
from engine.records import Lead, Outcome

__all__ = ["ScriptPolicy", "format_inr", "spoken_time"]

_EXPLICIT_CALLBACK_RE = re.compile(
    r"\b(?:call|calling|ring|busy|driving|meeting|can't talk|cannot talk|not a good time|not free"
    r"|abhi nahi|abhi nahin|baad mein|baad me|time nahi|vyast|ghante baad|der baad)\b"
)
_HELLO_ONLY_RE = re.compile(r"^(?:(?:hello|hi|hey|hallo|haan|ha|yes|hello sir|hello madam|namaste|ji)\s?)+$")
_CALL_ME_RE = re.compile(r"\bcall me\b")
# After "when should I call you back?", the lead may change their mind and talk now.
_RESUME_RE = re.compile(
    r"\b(?:go ahead|carry on|continue|i can talk|talk now|tell me now|now is (?:fine|ok|okay|good)|"
    r"(?:it's|it is) (?:fine|ok|okay) now|ask me now|ask now)\b"
)
_LEADING_NO_RE = re.compile(r"^(?:(?:no|nope|nah|nahi|nahin|ji nahi|na|not really)\b\s*)+")
_EARLY_TYPES = ("amount_inr", "number", "choice")
_ENDING_INTENTS = {Intent.OPT_OUT, Intent.WRONG_PERSON, Intent.CALLBACK, Intent.HUMAN, Intent.VOICEMAIL}
_MAX_GREETING_REPROMPTS = 1


class _Stage(Enum):
    GREETING = "greeting"
    QUESTIONS = "questions"
    CALLBACK_TIME = "callback_time"
    ENDED = "ended"


def format_inr(amount: int) -> str:
    """Rupees as an Indian speaker says them: "3,000 rupees", "2.5 lakh rupees", "1 crore rupees"."""
    for scale, word in ((10_000_000, "crore"), (100_000, "lakh")):
        if amount >= scale:
            value = round(amount / scale, 2)
            text = f"{value:g}"
            return f"{text} {word} rupees"
    return f"{amount:,} rupees"


def _format_number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}"


def spoken_time(at: datetime | None, now: datetime) -> str:
    """ "today at 5 PM", "tomorrow at 5:30 PM", "on Monday at 11 AM", "on 5 December at 6 PM"; None -> "later"."""
    if at is None:
        return "later"
    local, ref = at.astimezone(IST), now.astimezone(IST)
    hour12 = local.hour % 12 or 12
    clock = f"{hour12}" + (f":{local.minute:02d}" if local.minute else "") + (" AM" if local.hour < 12 else " PM")
    days = (local.date() - ref.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if 1 < days < 7:
        return f"on {local.strftime('%A')} at {clock}"
    return f"on {local.day} {local.strftime('%B')} at {clock}"


def _spoken_value(value: Any) -> str:
    """A slot as a salesperson hears it in the whisper: rupees spoken, yes/no as words, nothing for unknown."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _format_number(value)
    return str(value).replace("_", " ")


class ScriptPolicy:
    """One instance per call (it keeps the call's dialogue state). Implements ``DialoguePolicy``."""

    def __init__(self, script: AgentScript) -> None:
        self.script = script
        self._stage = _Stage.GREETING
        self._values: dict[str, Any] = {}  # slot -> value as recorded (None: asked twice, still unclear)
        self._current: Question | None = None
        self._reasked: set[str] = set()
        self._unknown: set[str] = set()  # slots answered, but unclearly even after the re-prompt
        self._confirming: str | None = None  # the option a near answer to the pending choice question was close to
        self._lead_turns = 0
        self._greeting_reprompts = 0
        self._callback_time_asked = False
        self._echo_vocabulary: set[str] | None = None

    # -- DialoguePolicy ----------------------------------------------------------------------------------
    async def greeting(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        yield self._fixed(ctx.lead, self.script.greeting)

    async def on_lead_turn(self, ctx: PolicyContext, text: str) -> AsyncIterator[Action]:
        for action in self._decide(ctx, text):
            yield action

    async def on_silence(self, ctx: PolicyContext, count: int) -> AsyncIterator[Action]:
        for action in self._silence(ctx, count):
            yield action

    async def on_answering_machine(self, ctx: PolicyContext) -> AsyncIterator[Action]:
        for action in self._voicemail(ctx):
            yield action

    async def on_dtmf(self, ctx: PolicyContext, digit: str) -> AsyncIterator[Action]:
        if self._stage is _Stage.ENDED:
            return
        if digit == "9":
            for action in self._opt_out(ctx):
                yield action
        elif digit == "1" or (digit == "0" and self._transfers_on_request()):
            for action in self._human(ctx, "", f"lead pressed {digit} to talk to a person"):
                yield action

    def fixed_lines(self, lead: Lead) -> list[str]:
        s = self.script
        templates = [s.greeting, s.replies.identity, s.replies.good_time, s.replies.ask_callback_time,
                     s.replies.still_there]  # fmt: skip
        for question in s.questions:
            templates += [question.ask, self._reprompt_template(question)]
        templates += [line for line in s.closing.model_dump().values() if "{callback_at}" not in line]
        if s.transfer is not None:
            templates.append(s.transfer.say)
        if s.voicemail_message:
            templates.append(s.voicemail_message)
        lines: list[str] = []
        for template in templates:
            line = s.render(template, lead)
            if line not in lines:
                lines.append(line)
        return lines

    def settles_turn(self, text: str) -> bool:
        """A yes or no to a yes/no question, or one of a choice question's options. Numbers ("twelve...
        thousand"), times and free text may still grow into a different answer: those wait for punctuation or
        Smart-Turn."""
        question = self._current
        if self._stage is not _Stage.QUESTIONS or question is None or question.type not in ("yes_no", "choice"):
            return False
        if self._confirming is not None and extract_yes_no(text) is not None:
            return True
        value = extract(
            question.type, text, options=question.options, yes_words=question.yes_words, no_words=question.no_words
        )
        return value is not None

    def expects_more(self, text: str) -> bool:
        """The words so far open a reply without giving one: nothing in them answers the pending question or asks
        for anything ("Well.", "Let me check.", "The house...", "About.", "Forty" for a bill in rupees). Whisper
        ends such fragments with a full stop at a thinking pause, so the listener waits its longer silence."""
        # A bare yes or no is no reply to a choice question; anything the agent acts on is.
        if self._stage in (_Stage.ENDED, _Stage.CALLBACK_TIME) or detect_intents(text) - {Intent.AFFIRM, Intent.DENY}:
            return False
        if is_unsure(text):
            return False
        if self._stage is _Stage.GREETING:
            return extract_yes_no(text) is None
        question = self._current
        if question is None or question.type == "text":
            return False
        if self._confirming is not None and extract_yes_no(text) is not None:
            return False
        if question.type == "amount_inr":
            return not amount_is_explicit(text)
        value = extract(
            question.type,
            text,
            now=datetime.now(IST),
            options=question.options,
            yes_words=question.yes_words,
            no_words=question.no_words,
        )
        return value is None and near_choice(text, question.options or {}) is None

    def stt_prompt(self) -> str | None:
        # Shaped like a transcript of this very call (measured on Piper -> 8 kHz mu-law -> Whisper tiny.en):
        # "5 lakh" instead of "five left". No word that means opt-out or callback ("DND", "later"): Whisper
        # sometimes echoes its prompt on a short or noisy turn, and an echo must never end the call.
        prompt = f"{self.script.agent_name} from {self.script.company}: Hello. Lead: Yes."
        words = self._prompt_words()
        if words:
            prompt += " " + ", ".join(words) + "."
        return prompt[:240]

    def _prompt_words(self) -> list[str]:
        s = self.script
        words: list[str] = []
        options = [k.replace("_", " ") for qn in s.questions for k in (qn.options or {})]
        for word in [*s.hotwords, *options]:
            # a word that alone reads as "call later" / "DND" could end a call if Whisper echoed it
            if word.lower() not in (w.lower() for w in words) and not detect_intents(word) & _ENDING_INTENTS:
                words.append(word)
        return words[:24]

    def _is_prompt_echo(self, norm: str) -> bool:
        """Whisper's prompt-echo hallucination ("SunRoof, solar, lakh, kilowatt, kilowatt") rather than speech."""
        tokens = norm.split()
        if len(tokens) < 3:
            return False
        if self._echo_vocabulary is None:
            source = " ".join([*self._prompt_words(), self.script.company, self.script.agent_name])
            self._echo_vocabulary = set(normalize_text(source).split())
        hits = sum(1 for t in tokens if t in self._echo_vocabulary)
        return hits / len(tokens) >= 0.75

    # -- decisions ---------------------------------------------------------------------------------------
    def _decide(self, ctx: PolicyContext, text: str) -> list[Action]:
        if self._stage is _Stage.ENDED:
            return []
        self._lead_turns += 1
        norm = normalize_text(text)
        if self._is_prompt_echo(norm):
            text = norm = ""  # not the lead's words: handled like an unclear turn
        intents = detect_intents(text, ctx.lead.name)

        if (
            self._stage is _Stage.GREETING
            and self._lead_turns <= 2
            and Intent.VOICEMAIL in intents
            and not _CALL_ME_RE.search(norm)
        ):
            return self._voicemail(ctx)
        if Intent.OPT_OUT in intents:
            return self._opt_out(ctx)
        if Intent.WRONG_PERSON in intents:
            return self._close(ctx, Outcome.WRONG_PERSON, self.script.closing.wrong_person)
        if Intent.HUMAN in intents:
            return self._human(ctx, text, "lead asked to talk to a person")
        if self._stage is _Stage.CALLBACK_TIME:
            if _RESUME_RE.search(norm) and extract_when(text, ctx.call_started_at) is None:
                self._stage = _Stage.QUESTIONS
                return self._next(ctx, [])
            return self._callback(ctx, text, force=True)
        if self._stage is _Stage.GREETING:
            return self._after_greeting(ctx, text, norm, intents)
        if self._confirming is not None:
            return self._confirmation(ctx, text, norm, intents)
        return self._answer(ctx, text, norm, intents)

    def _after_greeting(self, ctx: PolicyContext, text: str, norm: str, intents: set[Intent]) -> list[Action]:
        affirm = Intent.AFFIRM in intents
        if Intent.CALLBACK in intents:
            return self._callback(ctx, text)
        if Intent.NOT_INTERESTED in intents:
            return self._close(ctx, Outcome.NOT_QUALIFIED, self.script.closing.not_qualified)
        if Intent.DENY in intents and not affirm:  # "no" to "is this a good time?"
            return self._callback(ctx, text)
        if Intent.ROBOT in intents:
            return [self._fixed(ctx.lead, self.script.replies.identity),
                    self._fixed(ctx.lead, self.script.replies.good_time)]  # fmt: skip
        unclear = not norm or (_HELLO_ONLY_RE.match(norm) and not affirm) or (Intent.REPEAT in intents and not affirm)
        if unclear and self._greeting_reprompts < _MAX_GREETING_REPROMPTS:
            self._greeting_reprompts += 1
            if Intent.REPEAT in intents:
                return [self._fixed(ctx.lead, self.script.greeting)]
            return [self._fixed(ctx.lead, self.script.replies.good_time)]
        self._stage = _Stage.QUESTIONS
        early = self._capture_early(ctx, text, after=-1, current_type=None)
        records = [a for a in early if isinstance(a, RecordSlot)]
        return records + self._next(ctx, [a.text for a in early if isinstance(a, Say)])

    def _answer(self, ctx: PolicyContext, text: str, norm: str, intents: set[Intent]) -> list[Action]:
        question = self._current
        assert question is not None  # QUESTIONS stage always has a pending question
        value = self._extract(ctx, question, text)

        if Intent.CALLBACK in intents and (value is None or _EXPLICIT_CALLBACK_RE.search(norm)):
            return self._callback(ctx, text)
        if value is None:
            if Intent.ROBOT in intents:
                return [self._fixed(ctx.lead, self.script.replies.identity), self._fixed(ctx.lead, question.ask)]
            if Intent.NOT_INTERESTED in intents:
                return self._close(ctx, Outcome.NOT_QUALIFIED, self.script.closing.not_qualified)
            if Intent.REPEAT in intents:
                return [self._fixed(ctx.lead, question.ask)]
            index = self.script.questions.index(question)
            early = self._capture_early(ctx, text, after=index, current_type=question.type)
            if early:  # "and my bill is about 5000" arriving as its own turn: useful, not a failed answer
                records: list[Action] = [a for a in early if isinstance(a, RecordSlot)]
                said = [a.text for a in early if isinstance(a, Say)]
                if not said:
                    return [*records, self._fixed(ctx.lead, question.ask)]
                return [*records, Say(" ".join([*said, self.script.render(question.ask, ctx.lead)]))]
            if question.type == "choice" and question.options:
                near = near_choice(text, question.options)
                if near is not None:
                    self._confirming = near
                    spoken = near.replace("_", " ")
                    return [Say(self.script.render(self.script.replies.confirm_choice, ctx.lead, value=spoken))]
            return self._unclear(ctx, question)
        return self._accept(ctx, question, value, text)

    def _confirmation(self, ctx: PolicyContext, text: str, norm: str, intents: set[Intent]) -> list[Action]:
        """The turn after "Just to confirm, self employed?": yes takes the option, an option named takes that."""
        question, option = self._current, self._confirming
        assert question is not None and option is not None
        if Intent.CALLBACK in intents and _EXPLICIT_CALLBACK_RE.search(norm):
            self._confirming = None
            return self._callback(ctx, text)
        if Intent.ROBOT in intents or (Intent.REPEAT in intents and extract_yes_no(text) is None):
            spoken = option.replace("_", " ")
            head = [self._fixed(ctx.lead, self.script.replies.identity)] if Intent.ROBOT in intents else []
            return [*head, Say(self.script.render(self.script.replies.confirm_choice, ctx.lead, value=spoken))]
        self._confirming = None
        # "No, business." corrects the guess: the option named after the "no" is the answer, not a negated one.
        named = extract_choice(_LEADING_NO_RE.sub("", norm), question.options or {})
        if named is not None:
            return self._accept(ctx, question, named, text)
        if extract_yes_no(text) is True:
            return self._accept(ctx, question, option, text)
        return self._unclear(ctx, question)

    def _unclear(self, ctx: PolicyContext, question: Question) -> list[Action]:
        """Re-ask once; the second time record the slot as unknown and go on: the lead is talking to us."""
        if question.slot not in self._reasked:
            self._reasked.add(question.slot)
            return [self._fixed(ctx.lead, self._reprompt_template(question))]
        self._unknown.add(question.slot)
        return self._accept(ctx, question, None, "")

    def _accept(self, ctx: PolicyContext, question: Question, value: Any, text: str) -> list[Action]:
        """Record the answer (None: unknown), stop or confirm, and move to the next question."""
        actions: list[Action] = [RecordSlot(question.slot, value)]
        self._values[question.slot] = value
        if self._stops(question, value):
            return [*actions, *self._close(ctx, Outcome.NOT_QUALIFIED, self.script.closing.not_qualified)]
        confirms = [self._confirm_line(ctx, question, value)] if value is not None else []
        index = self.script.questions.index(question)
        early = self._capture_early(ctx, text, after=index, current_type=question.type)
        actions += [a for a in early if isinstance(a, RecordSlot)]
        confirms += [a.text for a in early if isinstance(a, Say)]
        return actions + self._next(ctx, [c for c in confirms if c])

    # -- answers -----------------------------------------------------------------------------------------
    def _extract(self, ctx: PolicyContext, question: Question, text: str) -> Any:
        value = extract(
            question.type,
            text,
            now=ctx.call_started_at,
            options=question.options,
            yes_words=question.yes_words,
            no_words=question.no_words,
        )
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    def _stops(self, question: Question, value: Any) -> bool:
        stop = question.stop_if
        if stop is None or value is None:
            return False
        expr = self.script.stop_expr(question.slot)
        if expr is not None:
            return q.evaluate(expr, self._values)
        if isinstance(stop, list):
            return value in stop
        if isinstance(stop, bool) or isinstance(value, bool):
            return isinstance(stop, bool) and isinstance(value, bool) and value is stop
        return bool(value == stop)

    def _capture_early(self, ctx: PolicyContext, text: str, *, after: int, current_type: str | None) -> list[Action]:
        """Values for later, still-unasked questions that the lead volunteered in this turn."""
        actions: list[Action] = []
        numeric_taken = current_type in ("amount_inr", "number")
        later = self.script.questions[after + 1 :]
        # Money talk ("I paid 15,000 last year") belongs to an amount question even when a plain number
        # question comes first in the script.
        for question in sorted(later, key=lambda qn: qn.type != "amount_inr"):
            if question.slot in self._values or question.type not in _EARLY_TYPES:
                continue
            if question.type in ("amount_inr", "number") and (
                numeric_taken or (question.type == "amount_inr" and not amount_is_explicit(text))
            ):
                continue
            value = self._extract(ctx, question, text)
            if value is None:
                continue
            if question.type in ("amount_inr", "number"):
                numeric_taken = True
            self._values[question.slot] = value
            actions.append(RecordSlot(question.slot, value))
            line = self._confirm_line(ctx, question, value)
            if line:
                actions.append(Say(line))
        return actions

    def _confirm_line(self, ctx: PolicyContext, question: Question, value: Any) -> str:
        if question.type == "amount_inr":
            spoken = format_inr(int(value))
            template = question.confirm or "Got it, {value}."
        elif question.type == "number":
            spoken = _format_number(value)
            template = question.confirm or "Okay, {value}."
        elif question.confirm:
            spoken = str(value)
            template = question.confirm
        else:
            return ""
        return self.script.render(template, ctx.lead, value=spoken)

    def _next(self, ctx: PolicyContext, confirms: list[str]) -> list[Action]:
        pending = next((qn for qn in self.script.questions if qn.slot not in self._values), None)
        if pending is None:
            decided = q.verdict(self.script.qualify_expr, self._values, self._unknown)
            outcome, line = {
                True: (Outcome.QUALIFIED, self.script.closing.qualified),
                False: (Outcome.NOT_QUALIFIED, self.script.closing.not_qualified),
                None: (Outcome.NEEDS_REVIEW, self.script.closing.needs_review),
            }[decided]
            rule = self.script.transfer
            if outcome is Outcome.QUALIFIED and rule is not None and rule.on_qualified():
                head_says: list[Action] = [Say(" ".join(confirms))] if confirms else []
                return head_says + self._transfer(ctx, "qualified")
            head: list[Action] = [Say(" ".join(confirms))] if confirms else []
            return head + self._close(ctx, outcome, line)
        self._current = pending
        if confirms:
            return [Say(" ".join([*confirms, self.script.render(pending.ask, ctx.lead)]))]
        return [self._fixed(ctx.lead, pending.ask)]

    # -- endings -----------------------------------------------------------------------------------------
    def _close(self, ctx: PolicyContext, outcome: Outcome, template: str, **extra: str) -> list[Action]:
        self._stage = _Stage.ENDED
        line = self.script.render(template, ctx.lead, **extra)
        return [Say(line, cacheable="{callback_at}" not in template), EndCall(outcome)]

    def _voicemail(self, ctx: PolicyContext) -> list[Action]:
        self._stage = _Stage.ENDED
        if self.script.voicemail_message:
            return [self._fixed(ctx.lead, self.script.voicemail_message), EndCall(Outcome.VOICEMAIL)]
        return [EndCall(Outcome.VOICEMAIL)]

    def _opt_out(self, ctx: PolicyContext) -> list[Action]:
        return [OptOut(), *self._close(ctx, Outcome.OPTED_OUT, self.script.closing.opted_out)]

    def _schedule(self, ctx: PolicyContext, at: datetime | None, note: str, template: str) -> list[Action]:
        return [
            ScheduleCallback(at=at, note=note),
            RecordSlot("callback_at", at.isoformat() if at else None),
            *self._close(ctx, Outcome.CALLBACK_REQUESTED, template, callback_at=spoken_time(at, ctx.call_started_at)),
        ]

    def _transfers_on_request(self) -> bool:
        return self.script.transfer is not None and self.script.transfer.on_request()

    def _transfer(self, ctx: PolicyContext, reason: str) -> list[Action]:
        rule = self.script.transfer
        assert rule is not None
        self._stage = _Stage.ENDED
        whisper = ""
        if rule.whisper:
            slots = {}
            for name, value in ctx.slots.items():
                money = name in self.script.slot_names and self.script.question(name).type == "amount_inr"
                spoken = format_inr(int(value)) if money and value is not None else _spoken_value(value)
                slots[f"slots.{name}"] = spoken
            whisper = self.script.render(rule.whisper, ctx.lead, **slots)
        transfer = Transfer(
            to=rule.to, mode=rule.mode, reason=reason, whisper=whisper, answer_timeout_s=rule.answer_timeout_s
        )
        return [self._fixed(ctx.lead, rule.say), transfer, EndCall(Outcome.TRANSFERRED)]

    def _human(self, ctx: PolicyContext, text: str, note: str) -> list[Action]:
        if self._transfers_on_request():
            return self._transfer(ctx, "lead_request")
        at = extract_when(text, ctx.call_started_at) if text else None
        return self._schedule(ctx, at, note, self.script.closing.human_requested)

    def _callback(self, ctx: PolicyContext, text: str, *, force: bool = False) -> list[Action]:
        at = extract_when(text, ctx.call_started_at)
        if at is None and not force and not self._callback_time_asked:
            self._callback_time_asked = True
            self._stage = _Stage.CALLBACK_TIME
            return [self._fixed(ctx.lead, self.script.replies.ask_callback_time)]
        note = "lead asked to be called back" + ("" if at else " (no time given)")
        return self._schedule(ctx, at, note, self.script.closing.callback_requested)

    def _silence(self, ctx: PolicyContext, count: int) -> list[Action]:
        if self._stage is _Stage.ENDED:
            return []
        if count >= 2:
            return self._close(ctx, Outcome.NO_RESPONSE, self.script.closing.no_response)
        self._confirming = None  # the re-prompt asks the question itself again
        if self._stage is _Stage.GREETING:
            prompt = self.script.replies.good_time
        elif self._stage is _Stage.CALLBACK_TIME:
            prompt = self.script.replies.ask_callback_time
        else:
            assert self._current is not None
            prompt = self._current.ask
        return [self._fixed(ctx.lead, self.script.replies.still_there), self._fixed(ctx.lead, prompt)]

    # -- lines -------------------------------------------------------------------------------------------
    def _reprompt_template(self, question: Question) -> str:
        return question.reprompt or f"{self.script.replies.not_understood} {question.ask}"

    def _fixed(self, lead: Lead, template: str) -> Say:
        return Say(self.script.render(template, lead), cacheable=True)

"""Agent scripts: a campaign's greeting, questions, qualification rule and closing lines, validated up front.

A script is client input, so every mistake must come back as a list of errors that name the field
(``questions[2].type``) and, for YAML/JSON text, the line, instead of surfacing mid-call as a spoken "{x}" or a
crash. Validation runs in two passes: pydantic checks shapes and types, then :func:`_semantic_errors` checks what
types cannot express (placeholders, AI disclosure in the greeting, unique slots, the ``qualify`` expression).

Placeholders: ``{lead.name}``, ``{lead.first_name}``, ``{lead.metadata.X}``, ``{agent_name}``, ``{company}``;
``{callback_at}`` in the callback_requested / human_requested closings; ``{value}`` in a question's ``confirm``
line; ``{slots.X}`` (X a question's slot) in ``transfer.whisper``. ``{{`` and ``}}`` are literal braces. A
``{lead.metadata.X}`` the lead does not have renders as nothing (lists from clients are uneven).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from engine.agent import qualify as q
from engine.records import Lead
from engine.speech.languages import DEFAULT_LANGUAGE, Language, voice_problem

__all__ = [
    "AgentScript",
    "Closing",
    "Question",
    "Replies",
    "ScriptError",
    "TransferRule",
    "demo_script",
    "load_script_document",
    "load_script_file",
    "load_script_text",
    "parse_script",
    "render",
]

# Spoken lines are synthesized and played in real time: a cap keeps one script line from stalling a call.
Line = Annotated[str, StringConstraints(min_length=1, max_length=400)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Word = Annotated[str, StringConstraints(max_length=60)]
SlotType = Literal["yes_no", "number", "amount_inr", "choice", "when", "text"]
RESERVED_SLOTS = frozenset({"callback_at", "value", "lead", "agent_name", "company"})
_SLOT_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_METADATA_RE = re.compile(r"^lead\.metadata\.([A-Za-z_][A-Za-z0-9_]*)$")
# "AI" as a word, or spelled out; "virtual assistant" alone hides that it is a machine, so it does not count.
_AI_DISCLOSURE_RE = re.compile(r"\b(?:AI|A\.I\.|artificial intelligence)(?![A-Za-z])", re.IGNORECASE)
# Hindi: AI in Devanagari, "artificial" (kritrim), "automated" (swachalit), bot, robot. A Devanagari letter or sign
# must not touch the word on either side: "बॉटल" (bottle) is no disclosure.
_HINDI_DISCLOSURE_RE = re.compile(r"(?<![\u0900-\u097F])(?:एआई|ए\.\s?आई\.?|कृत्रिम|स्वचालित|बॉट|रोबोट)(?![\u0900-\u097F])")
# Hinglish written in Latin letters: the same words romanized.
_ROMAN_HINDI_DISCLOSURE_RE = re.compile(
    r"\b(?:kritrim|krutrim|kritrima|swachalit|svachalit|swachalita|bot|robot)\b", re.IGNORECASE
)
_DISCLOSURE: dict[str, tuple[tuple[re.Pattern[str], ...], str]] = {
    "en-IN": ((_AI_DISCLOSURE_RE,), "'AI' or 'artificial intelligence'"),
    "hi-IN": ((_AI_DISCLOSURE_RE, _HINDI_DISCLOSURE_RE), "'AI', 'एआई', 'कृत्रिम', 'स्वचालित', 'बॉट' or 'रोबोट'"),
    "hinglish": (
        (_AI_DISCLOSURE_RE, _ROMAN_HINDI_DISCLOSURE_RE, _HINDI_DISCLOSURE_RE),
        "'AI', 'kritrim', 'swachalit', 'bot' or 'robot' (or the Devanagari words)",
    ),
}
# The lines a script may leave out, in Hindi for a hi-IN script (the English defaults would be read out by a Hindi
# voice). Hinglish scripts keep the English ones: the lead already speaks a mix.
_HINDI_REPLIES = {
    "identity": "मैं {agent_name} हूँ, {company} की ओर से एक एआई सहायक।",
    "good_time": "क्या अभी बात करने का सही समय है?",
    "ask_callback_time": "ठीक है। मैं आपको कब वापस कॉल करूँ?",
    "still_there": "क्या आप लाइन पर हैं?",
    "not_understood": "माफ़ कीजिए, मुझे समझ नहीं आया।",
}
_HINDI_CLOSINGS = {
    "no_response": "माफ़ कीजिए, आपकी आवाज़ नहीं आ रही। हम फिर कभी कॉल करेंगे। नमस्ते।",
    "human_requested": "ज़रूर, {company} से कोई व्यक्ति आपको वापस कॉल करेगा। नमस्ते।",
}
_RECORDING_DISCLOSURE_RE = re.compile(r"\brecord(?:ed|ing)\b", re.IGNORECASE)
# Hindi and Hinglish say it with the loanword: "yeh call record ho rahi hai", "यह कॉल रिकॉर्ड की जा रही है".
_HINDI_RECORDING_DISCLOSURE_RE = re.compile(
    r"(?<![\u0900-\u097F])(?:रिकॉर्ड|रिकार्ड|रेकॉर्ड)|\brecord(?:ed|ing)?\b", re.IGNORECASE
)


def recording_disclosure_problem(greeting: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Why ``greeting`` cannot open a recorded call (it must say the call is recorded, in the script's language),
    or None."""
    pattern = _RECORDING_DISCLOSURE_RE if language == "en-IN" else _HINDI_RECORDING_DISCLOSURE_RE
    if pattern.search(greeting):
        return None
    example = "'... this call is recorded ...'" if language == "en-IN" else "'... यह कॉल रिकॉर्ड की जा रही है ...'"
    return f"a recorded call's greeting must say so (e.g. {example}); or create the campaign with recording off"


class ScriptError(ValueError):
    """An invalid agent script. ``errors``: [{"field": "questions[2].type", "line": 14 | None, "message": ...}]."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        parts = [
            f"{e['field'] or '<script>'}" + (f" (line {e['line']})" if e.get("line") else "") + f": {e['message']}"
            for e in errors
        ]
        super().__init__("invalid agent script: " + "; ".join(parts))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Question(_Strict):
    slot: Name
    type: SlotType
    ask: Line
    reprompt: Line | None = None  # default: replies.not_understood + ask
    confirm: Line | None = None  # said back with the next question; {value}; default for number/amount_inr types
    options: dict[Name, list[Word]] | None = None  # choice only: option -> synonyms
    yes_words: list[Word] = Field(default_factory=list)  # yes_no only: extra words meaning yes ("own it")
    no_words: list[Word] = Field(default_factory=list)  # yes_no only: extra words meaning no ("rented")
    # This answer ends the questions as not_qualified: a value (yes_no: true/false; choice: option or list of
    # options) or, for number/amount/when/text slots, an expression such as "monthly_bill < 1000".
    stop_if: bool | int | float | str | list[str] | None = None


class Closing(_Strict):
    qualified: Line
    not_qualified: Line
    callback_requested: Line
    opted_out: Line
    wrong_person: Line
    no_response: Line = "Sorry, I cannot hear you. We will try another time. Goodbye."
    human_requested: Line = "Sure, a person from {company} will call you back. Goodbye."
    needs_review: Line = "Thank you for your answers. Someone from {company} will get back to you. Goodbye."


class Replies(_Strict):
    """Lines the policy needs beyond the questions; every one has a sensible default."""

    identity: Line = "I am {agent_name}, an AI assistant calling from {company}."
    good_time: Line = "Is this a good time to talk?"
    ask_callback_time: Line = "Sure. When should I call you back?"
    still_there: Line = "Are you still there?"
    not_understood: Line = "Sorry, I did not catch that."
    confirm_choice: Line = "Just to confirm, {value}?"  # an answer close to, not equal to, an option


class TransferRule(_Strict):
    """Hand the lead to a salesperson: after qualifying, when the lead asks for a person (or presses 0), or both."""

    to: Annotated[str, StringConstraints(min_length=3, max_length=24)]  # a phone number; stored as E.164
    when: Literal["qualified", "on_request", "both"] = "on_request"
    mode: Literal["cold", "warm"] = "cold"
    say: Line = "Please hold, I am connecting you to a person from {company}."
    whisper: Line | None = None  # warm: said to the salesperson before the lead joins
    answer_timeout_s: float = Field(default=20.0, ge=5, le=60)

    def on_request(self) -> bool:
        return self.when in ("on_request", "both")

    def on_qualified(self) -> bool:
        return self.when in ("qualified", "both")


class AgentScript(_Strict):
    name: Name
    company: Name
    agent_name: Name
    category: StrictInt = Field(ge=1, le=8, description="TRAI preference category 1-8 of the campaign")
    greeting: Line
    hotwords: list[Word] = Field(default_factory=list, max_length=50)
    questions: list[Question] = Field(min_length=1, max_length=30)
    qualify: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    closing: Closing
    replies: Replies = Field(default_factory=Replies)
    voicemail_message: Line | None = None
    language: Language = DEFAULT_LANGUAGE
    voice: Name | None = None  # a configured voice (engine.speech.languages.VOICES); None: the language's default
    transfer: TransferRule | None = None

    @model_validator(mode="before")
    @classmethod
    def _hindi_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("language") != "hi-IN":
            return data
        data = dict(data)
        for key, defaults in (("replies", _HINDI_REPLIES), ("closing", _HINDI_CLOSINGS)):
            given = data.get(key, {} if key == "replies" else None)
            if isinstance(given, Mapping):
                data[key] = {**defaults, **given}
        return data

    _qualify_expr: q.Expr | None = PrivateAttr(default=None)
    _stop_exprs: dict[str, q.Expr] = PrivateAttr(default_factory=dict)

    @property
    def qualify_expr(self) -> q.Expr:
        if self._qualify_expr is None:
            self._qualify_expr = q.parse_expression(self.qualify)
        return self._qualify_expr

    def stop_expr(self, slot: str) -> q.Expr | None:
        """The parsed ``stop_if`` expression of ``slot``'s question, None when its stop_if is a plain value."""
        if slot not in self._stop_exprs:
            question = self.question(slot)
            stop = question.stop_if
            if not isinstance(stop, str) or question.type == "choice":
                return None
            self._stop_exprs[slot] = q.parse_expression(stop)
        return self._stop_exprs[slot]

    @property
    def slot_names(self) -> list[str]:
        return [question.slot for question in self.questions]

    def question(self, slot: str) -> Question:
        return next(question for question in self.questions if question.slot == slot)

    def render(self, template: str, lead: Lead, **extra: str) -> str:
        return render(template, lead=lead, agent_name=self.agent_name, company=self.company, **extra)


# -- rendering -------------------------------------------------------------------------------------------
def render(template: str, *, lead: Lead, agent_name: str, company: str, **extra: str) -> str:
    """Fill placeholders of a validated template (unknown names were rejected at validation)."""
    first_name = lead.name.split()[0] if lead.name.split() else lead.name

    def fill(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = (m.group(1) or "").strip()
        fixed = {"lead.name": lead.name, "lead.first_name": first_name, "agent_name": agent_name,
                 "company": company}  # fmt: skip
        if name in fixed:
            return fixed[name]
        if name in extra:
            return extra[name]
        meta = _METADATA_RE.match(name)
        if meta:
            return str(lead.metadata.get(meta.group(1), ""))
        return ""

    return re.sub(r"\s{2,}", " ", _PLACEHOLDER_RE.sub(fill, template)).strip()


def _placeholder_errors(text: str, extra: tuple[str, ...]) -> list[str]:
    allowed = ["lead.name", "lead.first_name", "agent_name", "company", *extra]
    problems: list[str] = []
    for m in _PLACEHOLDER_RE.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if m.group(1) is None:
            problems.append(f"unbalanced {token!r} at position {m.start()} (write {token * 2} for a literal brace)")
            continue
        name = m.group(1).strip()
        if name in allowed or _METADATA_RE.match(name):
            continue
        shown = ", ".join("{" + a + "}" for a in [*allowed, "lead.metadata.X"])
        problems.append(f"unknown placeholder {{{name}}}; allowed here: {shown}")
    return problems


# -- validation ------------------------------------------------------------------------------------------
Loc = tuple[str | int, ...]


def _semantic_errors(script: AgentScript) -> list[tuple[Loc, str]]:
    slot_types = {question.slot: question for question in script.questions}
    known = set(slot_types)
    errors = _disclosure_errors(script) + _voice_errors(script)
    for text_loc, text, extra in _spoken_texts(script):
        errors.extend((text_loc, problem) for problem in _placeholder_errors(text, extra))
    errors += [
        (("hotwords", i), "hotwords must not be empty") for i, word in enumerate(script.hotwords) if not word.strip()
    ]
    errors += _question_errors(script.questions)
    for i, question in enumerate(script.questions):
        errors.extend(_stop_if_errors(script, i, question, known, slot_types))
    return errors + _qualify_errors(script, known, slot_types) + _transfer_errors(script, known)


def e164_number(raw: str) -> str | None:
    """``raw`` as E.164 when it is a valid number (national Indian forms read as +91), else None."""
    try:
        number = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _transfer_errors(script: AgentScript, known: set[str]) -> list[tuple[Loc, str]]:
    rule = script.transfer
    if rule is None:
        return []
    errors: list[tuple[Loc, str]] = []
    number = e164_number(rule.to)
    if number is None:
        errors.append((("transfer", "to"), "not a valid phone number (e.g. +919876543210)"))
    else:
        rule.to = number
    if rule.whisper is not None:
        slot_fields = tuple(f"slots.{slot}" for slot in sorted(known))
        errors += [(("transfer", "whisper"), p) for p in _placeholder_errors(rule.whisper, slot_fields)]
    if rule.mode == "cold" and rule.whisper is not None:
        errors.append((("transfer", "whisper"), "a whisper is spoken to the salesperson only in a warm transfer"))
    return errors


def _discloses(text: str, language: str) -> bool:
    return any(pattern.search(text) for pattern in _DISCLOSURE[language][0])


def _disclosure_errors(script: AgentScript) -> list[tuple[Loc, str]]:
    errors: list[tuple[Loc, str]] = []
    words = _DISCLOSURE[script.language][1]
    if not _discloses(script.greeting, script.language):
        example = {
            "en-IN": "'... this is {agent_name}, an AI assistant calling from {company} ...'",
            "hi-IN": "'... मैं {agent_name}, {company} की ओर से एक एआई सहायक बोल रही हूँ ...'",
            "hinglish": "'... main {agent_name}, {company} se ek AI assistant bol rahi hoon ...'",
        }[script.language]
        errors.append(
            (("greeting",), f"the greeting must disclose that the caller is an AI assistant: a {script.language} "
             f"script says {words} (e.g. {example})")
        )  # fmt: skip
    if not _discloses(script.replies.identity, script.language):
        errors.append((("replies", "identity"), f"the identity line answers 'are you a robot?': it must say {words}"))
    return errors


def _voice_errors(script: AgentScript) -> list[tuple[Loc, str]]:
    if script.voice is None:
        return []
    problem = voice_problem(script.language, script.voice)
    return [] if problem is None else [(("voice",), problem)]


def _spoken_texts(script: AgentScript) -> list[tuple[Loc, str, tuple[str, ...]]]:
    """Every template the script speaks, with where it is and the placeholders it may use beyond the common ones."""
    texts: list[tuple[Loc, str, tuple[str, ...]]] = [(("greeting",), script.greeting, ())]
    if script.voicemail_message is not None:
        texts.append((("voicemail_message",), script.voicemail_message, ()))
    for field_name, value in script.closing.model_dump().items():
        # only a callback closing knows a callback time; anywhere else it would be spoken as nothing
        allowed: tuple[str, ...] = ("callback_at",) if field_name in ("callback_requested", "human_requested") else ()
        texts.append((("closing", field_name), value, allowed))
    for field_name, value in script.replies.model_dump().items():
        texts.append((("replies", field_name), value, ("value",) if field_name == "confirm_choice" else ()))
    if script.transfer is not None:
        texts.append((("transfer", "say"), script.transfer.say, ()))
    for i, question in enumerate(script.questions):
        texts.append((("questions", i, "ask"), question.ask, ()))
        if question.reprompt is not None:
            texts.append((("questions", i, "reprompt"), question.reprompt, ()))
        if question.confirm is not None:
            texts.append((("questions", i, "confirm"), question.confirm, ("value",)))
    return texts


def _question_errors(questions: list[Question]) -> list[tuple[Loc, str]]:
    errors: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, question in enumerate(questions):
        loc: Loc = ("questions", i)
        errors += _slot_name_errors(loc, question.slot)
        if question.slot in seen:
            errors.append(((*loc, "slot"), f"duplicate slot {question.slot!r} (also questions[{seen[question.slot]}])"))
        seen.setdefault(question.slot, i)
        errors += _options_errors(loc, question)
        if question.type != "yes_no":
            for name in ("yes_words", "no_words"):
                if getattr(question, name):
                    errors.append(((*loc, name), f"{name} are only for yes_no questions"))
    return errors


def _slot_name_errors(loc: Loc, slot: str) -> list[tuple[Loc, str]]:
    if not _SLOT_RE.match(slot):
        return [((*loc, "slot"), "slot names use lower-case letters, digits and _ (e.g. monthly_bill)")]
    if slot in q.KEYWORDS or slot in RESERVED_SLOTS:
        return [((*loc, "slot"), f"{slot!r} is a reserved word")]
    return []


def _options_errors(loc: Loc, question: Question) -> list[tuple[Loc, str]]:
    if question.type != "choice":
        if question.options is not None:
            return [((*loc, "options"), f"options are only for choice questions, not {question.type}")]
        return []
    if not question.options:
        return [((*loc, "options"), "a choice question needs options: {option: [synonyms]}")]
    return [((*loc, "options"), "option names must not be empty") for key in question.options if not key.strip()]


def _qualify_errors(script: AgentScript, known: set[str], slot_types: Mapping[str, Question]) -> list[tuple[Loc, str]]:
    try:
        expr = q.parse_expression(script.qualify, known)
    except q.QualifyError as exc:
        where = _caret(script.qualify, exc.position)
        return [(("qualify",), f"{exc.message} at position {exc.position}: {where}")]
    script._qualify_expr = expr
    return [(("qualify",), problem) for problem in _type_errors(expr, slot_types, script.qualify)]


def _stop_if_errors(
    script: AgentScript, i: int, question: Question, known: set[str], slot_types: Mapping[str, Question]
) -> list[tuple[Loc, str]]:
    stop = question.stop_if
    loc: Loc = ("questions", i, "stop_if")
    if stop is None:
        return []
    if question.type == "yes_no":
        return [] if isinstance(stop, bool) else [(loc, "stop_if of a yes_no question is true or false")]
    if question.type == "choice":
        wanted = stop if isinstance(stop, list) else [stop]
        options = question.options or {}
        bad = [w for w in wanted if not isinstance(w, str) or w not in options]
        if bad:
            return [(loc, f"stop_if names {bad!r}, not options of {question.slot} ({', '.join(options)})")]
        return []
    if isinstance(stop, bool | list):
        return [(loc, f"stop_if of a {question.type} question is a value or an expression such as "
                 f"'{question.slot} < 1000'")]  # fmt: skip
    if isinstance(stop, int | float):
        if question.type in ("number", "amount_inr"):
            return []
        return [(loc, f"stop_if of a {question.type} question is an expression")]
    try:
        expr = q.parse_expression(stop, known)
    except q.QualifyError as exc:
        return [(loc, f"{exc.message} at position {exc.position}: {_caret(stop, exc.position)}")]
    script._stop_exprs[question.slot] = expr
    return [(loc, problem) for problem in _type_errors(expr, slot_types, stop)]


def _type_errors(expr: q.Expr, slot_types: Mapping[str, Question], source: str) -> list[str]:
    """Comparisons that can never be true as written: a typo in a choice option, a number against text."""
    problems: list[str] = []
    for cmp in q.comparisons(expr):
        for name_side, lit_side in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
            if not isinstance(name_side, q.Name) or not isinstance(lit_side, q.Literal):
                continue
            question = slot_types.get(name_side.name)
            if question is None:
                continue
            value = lit_side.value
            where = f"at position {lit_side.position}"
            if question.type == "choice" and isinstance(value, str):
                options = question.options or {}
                if value.casefold() not in {o.casefold() for o in options}:
                    problems.append(f"{value!r} is not an option of {question.slot} ({', '.join(options)}) {where}")
            elif question.type in ("number", "amount_inr") and not (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                problems.append(f"{question.slot} is a number; compare it with a number {where}")
            elif question.type == "yes_no" and not isinstance(value, bool):
                problems.append(f"{question.slot} is yes/no; compare it with true or false {where}")
            elif question.type == "choice" and not isinstance(value, str):
                problems.append(f"{question.slot} is a choice; compare it with a quoted option {where}")
            if cmp.op not in ("==", "!=") and question.type in ("yes_no", "choice", "text"):
                problems.append(f"{question.slot} can only be compared with == or != at position {cmp.position}")
    return problems


def _caret(source: str, position: int) -> str:
    return f"{source[:position]}>>>{source[position:]}"


# -- loading ---------------------------------------------------------------------------------------------
def _field_name(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _trim_loc(loc: Loc, data: Any) -> tuple[Loc, Loc]:
    """(loc as shown: up to the first missing key; the longest prefix that exists in the data)."""
    shown: list[str | int] = []
    node = data
    existing: Loc = ()
    for part in loc:
        shown.append(part)
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]
            existing = tuple(shown)
        else:
            break
    return tuple(shown), existing


_FRIENDLY = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (check the spelling)",
}


def _build(data: Any, lines: Mapping[Loc, int] | None) -> AgentScript:
    def line_of(loc: Loc) -> int | None:
        if lines is None:
            return None
        while loc not in lines and loc:
            loc = loc[:-1]
        return lines.get(loc)

    if not isinstance(data, Mapping):
        raise ScriptError([{"field": "", "line": line_of(()), "message": "an agent script is a mapping of fields"}])
    try:
        script = AgentScript.model_validate(dict(data))
    except ValidationError as exc:
        errors: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for err in exc.errors():
            shown, existing = _trim_loc(tuple(err["loc"]), data)
            field = _field_name(shown)
            message = _FRIENDLY.get(err["type"], err["msg"])
            if (field, message) in seen:
                continue  # a union reports one failure per member; one message per field is enough
            seen.add((field, message))
            errors.append({"field": field, "line": line_of(existing), "message": message})
        raise ScriptError(errors) from None
    problems = _semantic_errors(script)
    if problems:
        raise ScriptError(
            [{"field": _field_name(loc), "line": line_of(loc), "message": message} for loc, message in problems]
        )
    return script


def parse_script(data: dict[str, Any]) -> AgentScript:
    """Validate an already-parsed script (e.g. the JSON body of an API request); errors carry no line."""
    return _build(data, None)


# Scripts arrive from clients over the API: a bound on size and nesting keeps parsing linear and shallow, and YAML
# aliases are refused because every later walk of the data (the line map, storing it as JSON) expands them: nine
# aliases of nine aliases of ... grow ninefold per level from a few hundred bytes.
MAX_SCRIPT_CHARS = 200_000
MAX_SCRIPT_DEPTH = 32
_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET_RE = re.compile(r"[\[\]{}]")


class _ScriptLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a nesting bound (its composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a script: write the value out", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_SCRIPT_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_SCRIPT_DEPTH} levels", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _json_too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_SCRIPT_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKET_RE.findall(_JSON_STRING_RE.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_SCRIPT_DEPTH:
            return True
    return False


def _line_map(text: str) -> tuple[dict[Loc, int], list[tuple[Loc, int]]]:
    """1-based line of every key / list item in a YAML (or JSON) document, and the keys given twice (YAML
    would silently keep the last one, hiding the client's mistake)."""
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[Loc, int]] = []
    root = yaml.compose(text, Loader=_ScriptLoader)
    if root is None:
        return lines, duplicates

    def walk(node: yaml.Node, path: Loc) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    duplicates.append(((*path, key), line))
                    continue
                seen.add(key)
                walk(value_node, (*path, key))
                lines[(*path, key)] = line
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())
    return lines, duplicates


def _error(message: str, line: int | None = None) -> ScriptError:
    return ScriptError([{"field": "", "line": line, "message": message}])


def _read_text(text: str) -> tuple[Any, dict[Loc, int] | None]:
    """The data of a YAML or JSON script and the line of each of its keys; syntax errors carry the line."""
    if len(text) > MAX_SCRIPT_CHARS:
        raise _error(f"the script is longer than {MAX_SCRIPT_CHARS} characters")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        if _json_too_deep(text):
            raise _error(f"invalid JSON: nested deeper than {MAX_SCRIPT_DEPTH} levels")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _error(f"invalid JSON: {exc.msg}", exc.lineno) from None
        except ValueError as exc:  # e.g. an integer longer than Python reads
            raise _error(f"invalid JSON: {exc}") from None
    else:
        try:
            data = yaml.load(text, Loader=_ScriptLoader)  # a SafeLoader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "syntax error"
            raise _error(f"invalid YAML: {problem}", line) from None
        except (yaml.YAMLError, ValueError) as exc:
            raise _error(f"invalid YAML: {exc}") from None
    lines: dict[Loc, int] | None = None
    try:
        lines, duplicates = _line_map(text)
    except yaml.YAMLError:
        duplicates = []  # valid JSON that YAML cannot read (tabs): errors just go without lines
    if duplicates:
        raise ScriptError(
            [{"field": _field_name(loc), "line": line, "message": "duplicate key"} for loc, line in duplicates]
        )
    return data, lines


def load_script_text(text: str) -> AgentScript:
    """Parse a YAML or JSON agent script; syntax and field errors carry the line when known."""
    return _build(*_read_text(text))


def load_script_document(text: str) -> tuple[Any, AgentScript]:
    """The data a YAML or JSON script holds, as written (what is stored), and the validated script."""
    data, lines = _read_text(text)
    return data, _build(data, lines)


def load_script_file(path: str | Path) -> AgentScript:
    """A script from a file; a file too large to be a script is refused before it is read."""
    try:
        with Path(path).open("rb") as f:
            data = f.read(4 * MAX_SCRIPT_CHARS + 1)  # UTF-8: at most 4 bytes a character
    except OSError as exc:
        raise _error(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > 4 * MAX_SCRIPT_CHARS:
        raise _error(f"the script is longer than {MAX_SCRIPT_CHARS} characters")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(f"cannot read {path}: not UTF-8 text") from None
    return load_script_text(text)


def demo_script() -> AgentScript:
    """The built-in rooftop-solar script (engine/agent/scripts/demo_solar.yaml)."""
    text = resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").read_text(encoding="utf-8")
    return load_script_text(text)

"""The tools (function calls) the LLM policy offers the model, and how their arguments become slot values.

The model may record a slot, opt the lead out, schedule a callback or end the call with one of the outcomes the
conversation decides; every value it passes is read the way the script policy reads the lead's own words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.agent import slots
from engine.agent.script import AgentScript, Question
from engine.agent.slots import IST
from engine.records import Outcome

# Outcomes the model may choose with end_call; opted_out goes through opt_out (which also suppresses the number)
# and the rest (hung_up, error, no_response) are decided by the engine, not by the conversation.
MODEL_OUTCOMES = (
    Outcome.QUALIFIED,
    Outcome.NOT_QUALIFIED,
    Outcome.WRONG_PERSON,
    Outcome.CALLBACK_REQUESTED,
    Outcome.VOICEMAIL,
)
TOOL_NAMES = ("record_slot", "end_call", "opt_out", "schedule_callback")


def closing_lines(script: AgentScript) -> dict[str, str]:
    """The script's closing lines by outcome, without the ones it leaves empty."""
    return {outcome: text for outcome, text in script.closing.model_dump().items() if text}


def model_outcomes(script: AgentScript) -> list[str]:
    """The outcomes end_call offers: those the script has a closing line for, and voicemail."""
    closings = closing_lines(script)
    return [str(o) for o in MODEL_OUTCOMES if str(o) in closings or o == Outcome.VOICEMAIL]


def build_tools(script: AgentScript) -> list[dict[str, Any]]:
    return [
        _tool(
            "record_slot",
            "Record the lead's answer to one question.",
            {
                "slot": {"type": "string", "enum": script.slot_names},
                "value": {"type": ["string", "number", "boolean"]},
            },
            ["slot", "value"],
        ),
        _tool(
            "end_call",
            "End the call with an outcome; the matching closing line is spoken for you.",
            {"outcome": {"type": "string", "enum": model_outcomes(script)}},
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


# -- tool-call values ----------------------------------------------------------------------------------------
class SlotValueError(ValueError):
    pass


def coerce_slot_value(question: Question, value: Any, call_started_at: datetime) -> Any:
    """The model's value in the shape the script policy records for this slot type.

    Typed JSON values are taken as they are; strings go through the script policy's own extractors, so "5 lakh"
    from the model means what it means when the lead says it."""
    kind = question.type
    if kind == "yes_no" and isinstance(value, bool):
        return value
    if kind in ("number", "amount_inr") and isinstance(value, int | float) and not isinstance(value, bool):
        return round(value) if kind == "amount_inr" or value == int(value) else value
    if kind == "when":
        at = parse_when(str(value), call_started_at)
        if at is None:
            raise SlotValueError("not a date and time")
        return at.isoformat()
    try:
        result = slots.extract(
            kind,
            str(value),
            now=call_started_at,
            options=question.options,
            yes_words=question.yes_words,
            no_words=question.no_words,
        )
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

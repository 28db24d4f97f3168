"""What the LLM policy sends the model each turn: the system prompt (the script's questions, rules and closing
lines, and what the call has learned so far) followed by the conversation."""

from __future__ import annotations

import json

from engine.agent.llm_tools import closing_lines, model_outcomes
from engine.agent.policy import PolicyContext
from engine.agent.script import AgentScript, Question
from engine.agent.slots import IST
from engine.records import Outcome

_MAX_HISTORY_MESSAGES = 24  # bounds the prompt on long calls; the slots carry what was learned before
_TYPE_HINTS = {
    "yes_no": "true or false",
    "number": "a number",
    "amount_inr": "whole rupees as a number (1 lakh = 100000, 1 crore = 10000000)",
    "choice": "one of the option names",
    "when": "an ISO 8601 date and time in India (Asia/Kolkata)",
    "text": "a short text",
}
_RULES = [
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
]


def build_system_prompt(script: AgentScript, ctx: PolicyContext) -> str:
    lines = [
        f"You are {script.agent_name}, an AI assistant making an outbound phone call on behalf of "
        f"{script.company} ({script.name}). Everything you write is spoken aloud to the lead by a "
        "text-to-speech voice.",
        "",
        *_RULES,
        "",
        "Questions (slot name, value type, question):",
    ]
    lines += [_question_line(n, question) for n, question in enumerate(script.questions, 1)]
    lines += ["", f"The lead is qualified when: {script.qualify}"]
    lines += ["", "Closing lines, spoken for you after the matching tool call:"]
    reachable = {*model_outcomes(script), str(Outcome.OPTED_OUT)}
    lines += [f"- {outcome}: {text}" for outcome, text in closing_lines(script).items() if outcome in reachable]
    recorded = {k: v for k, v in ctx.slots.items() if v is not None}
    lines += [
        "",
        f"Slots recorded so far: {json.dumps(recorded, default=str) if recorded else 'none'}",
        f"The call started at {ctx.call_started_at.astimezone(IST).isoformat(timespec='minutes')} (India time).",
    ]
    return "\n".join(lines)


def _question_line(n: int, question: Question) -> str:
    hint = _TYPE_HINTS.get(question.type, "a value")
    line = f"{n}. {question.slot} ({question.type}: {hint}): {question.ask}"
    if question.options:
        line += f" Options: {', '.join(question.options)}."
    if question.stop_if is not None:
        line += f" Stop (end_call not_qualified) if the answer is: {json.dumps(question.stop_if)}."
    return line


def build_messages(script: AgentScript, ctx: PolicyContext, text: str) -> list[dict[str, str]]:
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

"""Whatever Whisper produces (noise, hallucinations, other scripts), the NLU and the policy never crash, and
every call still ends with exactly one outcome within a bounded number of turns."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.agent import qualify as q
from engine.agent.policy import EndCall
from engine.agent.script import demo_script
from engine.agent.script_policy import ScriptPolicy
from engine.agent.slots import IST, extract_amount_inr, extract_choice, extract_number, extract_when, extract_yes_no
from tests.agent.conversation import run_call

WORDS = [
    "yes", "no", "lakh", "crore", "rupees", "a", "and", "half", "thousand", "5", "2.5", "3k", "₹1,20,000",
    "tomorrow", "at", "5", "pm", "call", "me", "later", "busy", "sorry", "robot", "concrete", "sheet", "not",
    "don't", "again", "hmm", "...", "Rs.", "/-", "point", "hundred", "twenty", "in", "minutes", "hours", "the",
]  # fmt: skip
TEXT = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
NOW = datetime(2026, 11, 27, 11, 0, tzinfo=IST)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(TEXT)
def test_extractors_never_raise(text: str) -> None:
    amount = extract_amount_inr(text)
    assert amount is None or (isinstance(amount, int) and amount >= 0)
    assert extract_yes_no(text) in (True, False, None)
    number = extract_number(text)
    assert number is None or number >= 0
    assert extract_choice(text, {"concrete": ["rcc"], "sheet": ["tin"]}) in ("concrete", "sheet", None)
    when = extract_when(text, NOW)
    assert when is None or when.tzinfo is not None


@SETTINGS
@given(st.text(max_size=60))
def test_qualify_parser_only_raises_qualify_error(source: str) -> None:
    try:
        expr = q.parse_expression(source)
    except q.QualifyError as exc:
        assert 0 <= exc.position <= len(source)
    else:
        q.evaluate(expr, {"x": 1})


@SETTINGS
@given(st.lists(TEXT, min_size=1, max_size=14))
async def test_any_conversation_ends_cleanly(turns: list[str]) -> None:
    script = demo_script()
    call = await run_call(ScriptPolicy(script), turns)
    ends = [a for a in call.actions if isinstance(a, EndCall)]
    assert len(ends) <= 1
    if ends:
        assert call.actions[-1] == ends[0]  # nothing after the hang-up
    # every question gets at most: ask, re-ask, plus one repeat/robot answer per turn; never a loop without
    # progress beyond the turns given
    assert len(call.replies) <= len(turns) + 1

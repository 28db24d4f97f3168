"""The script's ``transfer:`` rule: validation, and when the script policy hands the lead to a person."""

from __future__ import annotations

from typing import Any

import pytest

from engine.agent.policy import EndCall, Say, ScheduleCallback, Transfer
from engine.agent.script import AgentScript, ScriptError, demo_script, parse_script
from engine.agent.script_policy import ScriptPolicy
from tests.agent.conversation import RAVI, Dtmf, run_call

QUALIFIED_TURNS = ["Yes, speaking.", "Yes, I am interested.", "Yes, I own it.", "About 3,000 rupees.", "Concrete."]


def with_transfer(**rule: Any) -> AgentScript:
    data = demo_script().model_dump(exclude_none=True)
    data["transfer"] = {"to": "+91 98765 43210", **rule}
    return parse_script(data)


def transfers(actions: list[Any]) -> list[Transfer]:
    return [a for a in actions if isinstance(a, Transfer)]


@pytest.mark.parametrize(
    "utterance", ["Let me talk to a person.", "Can I speak to a real person?", "Connect me to an agent"]
)
async def test_on_request_talk_to_a_person_transfers(utterance: str) -> None:
    call = await run_call(ScriptPolicy(with_transfer(when="on_request")), ["Yes.", utterance])
    [transfer] = transfers(call.actions)
    assert transfer.to == "+919876543210" and transfer.reason == "lead_request" and transfer.mode == "cold"
    assert str(call.outcome) == "transferred"
    assert call.last_said() == "Please hold, I am connecting you to a person from SunRoof Solar."
    assert not call.callbacks
    # the hand-off line plays first, then the transfer, then the end of the agent's part
    assert [type(a) for a in call.replies[-1]] == [Say, Transfer, EndCall]


@pytest.mark.parametrize("digit", ["0", "1"])
async def test_on_request_dtmf_0_and_1_transfer(digit: str) -> None:
    call = await run_call(ScriptPolicy(with_transfer(when="both")), ["Yes.", Dtmf(digit)])
    [transfer] = transfers(call.actions)
    assert transfer.reason == "lead_request"
    assert str(call.outcome) == "transferred"


async def test_dtmf_0_without_a_transfer_rule_is_ignored() -> None:
    call = await run_call(ScriptPolicy(demo_script()), ["Yes.", Dtmf("0")])
    assert call.replies[-1] == [] and call.outcome is None


async def test_qualified_only_rule_keeps_the_callback_for_a_person_request() -> None:
    call = await run_call(ScriptPolicy(with_transfer(when="qualified")), ["Yes.", "Let me talk to a person."])
    assert not transfers(call.actions)
    assert isinstance(call.callbacks[0], ScheduleCallback)
    assert str(call.outcome) == "callback_requested"


async def test_qualified_lead_is_transferred_with_the_whisper() -> None:
    script = with_transfer(
        when="qualified",
        mode="warm",
        whisper="Qualified lead: {lead.name}, bill {slots.monthly_bill}, {slots.owns_home}.",
    )
    call = await run_call(ScriptPolicy(script), QUALIFIED_TURNS)
    [transfer] = transfers(call.actions)
    assert transfer.reason == "qualified" and transfer.mode == "warm" and transfer.answer_timeout_s == 20
    assert transfer.whisper == "Qualified lead: Ravi Kumar, bill 3,000 rupees, yes."
    assert str(call.outcome) == "transferred"
    assert "Our solar expert will call you" not in " ".join(call.said)
    # the number is never part of a transfer's repr (the engine logs actions)
    assert "98765" not in repr(transfer)


async def test_not_qualified_lead_is_not_transferred() -> None:
    call = await run_call(
        ScriptPolicy(with_transfer(when="qualified")), ["Yes.", "Yes.", "No, it is rented.", "1000 rupees", "Metal."]
    )
    assert not transfers(call.actions)
    assert str(call.outcome) == "not_qualified"


async def test_on_request_rule_does_not_transfer_a_qualified_lead() -> None:
    call = await run_call(ScriptPolicy(with_transfer(when="on_request")), QUALIFIED_TURNS)
    assert not transfers(call.actions) and str(call.outcome) == "qualified"


def test_transfer_say_line_is_a_fixed_line() -> None:
    lines = ScriptPolicy(with_transfer()).fixed_lines(RAVI)
    assert "Please hold, I am connecting you to a person from SunRoof Solar." in lines


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"to": "12345"}, "transfer.to", "not a valid phone number"),
        ({"to": "+91 0000 000000"}, "transfer.to", "not a valid phone number"),
        ({"to": "+91" + "9" * 30}, "transfer.to", "at most 24 characters"),
        ({"when": "always"}, "transfer.when", "'qualified', 'on_request' or 'both'"),
        ({"mode": "hot"}, "transfer.mode", "'cold' or 'warm'"),
        ({"mode": "warm", "whisper": "Lead {slots.salary}"}, "transfer.whisper", "unknown placeholder {slots.salary}"),
        ({"mode": "cold", "whisper": "Lead {lead.name}"}, "transfer.whisper", "only in a warm transfer"),
        ({"answer_timeout_s": 600}, "transfer.answer_timeout_s", "less than or equal to 60"),
        ({"say": "x" * 401}, "transfer.say", "at most 400 characters"),
        ({"say": "Hold on {callback_at}"}, "transfer.say", "unknown placeholder {callback_at}"),
        ({"extra": 1}, "transfer.extra", "unknown field"),
    ],
)
def test_invalid_transfer_rules_name_the_field(rule: dict[str, Any], field: str, message: str) -> None:
    data = demo_script().model_dump(exclude_none=True)
    data["transfer"] = {"to": "+919876543210", **rule}
    with pytest.raises(ScriptError) as exc:
        parse_script(data)
    assert any(e["field"] == field and message in e["message"] for e in exc.value.errors), exc.value.errors


def test_national_number_is_stored_as_e164() -> None:
    script = with_transfer(to="09876543210")
    assert script.transfer is not None and script.transfer.to == "+919876543210"

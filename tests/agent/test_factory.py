"""make_policy: the one entry point the engine uses to get a policy for a call request."""

from __future__ import annotations

import pytest

from engine.agent.factory import make_policy
from engine.agent.policy import DialoguePolicy
from engine.agent.script import ScriptError, demo_script
from engine.agent.script_policy import ScriptPolicy
from engine.records import Outcome
from tests.agent.conversation import run_call


async def test_none_means_the_demo_script() -> None:
    policy = make_policy(None)
    assert isinstance(policy, ScriptPolicy) and isinstance(policy, DialoguePolicy)
    assert policy.script == demo_script()
    call = await run_call(policy, ["Wrong number."])
    assert call.outcome is Outcome.WRONG_PERSON


async def test_a_script_dict_is_validated_and_used() -> None:
    data = demo_script().model_dump()
    data["company"] = "BrightSun"
    policy = make_policy(data, "script")
    call = await run_call(policy, [])
    assert "BrightSun" in call.said[0]


def test_one_policy_per_call() -> None:
    assert make_policy(None) is not make_policy(None)


def test_invalid_script_raises_script_error() -> None:
    data = demo_script().model_dump()
    data["category"] = 11
    with pytest.raises(ScriptError) as info:
        make_policy(data)
    assert info.value.errors[0]["field"] == "category"


def test_unknown_policy_name() -> None:
    with pytest.raises(ValueError, match="unknown policy 'gpt'"):
        make_policy(None, "gpt")

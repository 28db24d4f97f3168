"""policy="llm" in a call request: the factory builds an LLMPolicy from the CLOSERR_LLM_* settings the command
layer hands down."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import pytest

from closerr.build import engine_config
from config.settings import Settings, get_settings
from engine.agent.factory import make_policy
from engine.agent.llm_policy import LLMPolicy
from engine.agent.script_policy import ScriptPolicy
from engine.call import _make_policy, run_call
from engine.config import EngineConfig, LlmEndpoint
from engine.records import CallRequest, Lead
from engine.services import EngineServices
from engine.telephony.leg import MediaLeg
from tests.llm.dialogue import greet, lead_says, new_ctx, said
from tests.llm.fake_openai import FakeOpenAI, text_reply


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_llm_settings_defaults_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLOSERR_LLM_BASE_URL", "CLOSERR_LLM_MODEL", "CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.llm_first_token_timeout_s == 1.5
    assert settings.llm_base_url.startswith("http://127.0.0.1")
    monkeypatch.setenv("CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S", "0")
    with pytest.raises(ValueError, match="llm_first_token_timeout_s"):
        Settings()


async def test_factory_builds_the_llm_policy_from_the_environment(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("CLOSERR_LLM_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("CLOSERR_LLM_MODEL", "qualifier-v2")
    monkeypatch.setenv("CLOSERR_LLM_API_KEY", "sk-from-env")
    monkeypatch.setenv("CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S", "0.8")
    llm = engine_config(get_settings()).llm
    policy = make_policy(
        None,
        "llm",
        llm_base_url=llm.base_url,
        llm_model=llm.model,
        llm_api_key=llm.api_key,
        llm_first_token_timeout_s=llm.first_token_timeout_s,
    )
    assert isinstance(policy, LLMPolicy)
    assert isinstance(policy.fallback, ScriptPolicy)
    assert policy.client.first_token_timeout_s == 0.8
    fake_openai.queue(text_reply(["Wonderful. Shall we begin?"])[0])
    ctx = new_ctx()
    await greet(policy, ctx)
    assert said(await lead_says(policy, ctx, "Yes, go ahead.")) == ["Wonderful.", "Shall we begin?"]
    assert fake_openai.requests[0]["model"] == "qualifier-v2"
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-from-env"
    await policy.aclose()


def test_named_profiles_carry_their_own_endpoint_and_key() -> None:
    settings = Settings.model_validate(
        {
            "llm_profiles": {"sarvam": {"base_url": "https://llm.example.in/v1", "model": "qualifier-hi"}},
            "llm_profile_api_keys": {"sarvam": "sk-sarvam"},
        }
    )
    profile = engine_config(settings).llm_profiles["sarvam"]
    assert (profile.base_url, profile.model) == ("https://llm.example.in/v1", "qualifier-hi")
    assert profile.api_key == "sk-sarvam"
    assert profile.first_token_timeout_s == settings.llm_first_token_timeout_s
    with pytest.raises(ValueError, match="CLOSERR_LLM_PROFILES lacks"):
        Settings.model_validate({"llm_profile_api_keys": {"other": "sk"}})
    with pytest.raises(ValueError, match="profile name"):
        Settings.model_validate({"llm_profiles": {"Bad Name": {"base_url": "https://x/v1"}}})


async def test_a_call_goes_to_its_accounts_profile_and_never_elsewhere() -> None:
    config = EngineConfig(llm_profiles={"sarvam": LlmEndpoint(base_url="https://llm.example.in/v1", model="m")})
    services = cast(EngineServices, SimpleNamespace(config=config))
    lead = Lead(name="Ravi", phone="+919812345678")
    policy = _make_policy(CallRequest(call_id="c1", lead=lead, policy="llm", llm_profile="sarvam"), services)
    assert isinstance(policy, LLMPolicy)
    assert policy.client.url == "https://llm.example.in/v1/chat/completions"
    await policy.aclose()

    class Leg:
        hung_up = False

        async def hangup(self) -> None:
            self.hung_up = True

    # A profile this process does not know (the settings changed since it was assigned): no call to the
    # deployment's own endpoint instead, and the lead is not kept waiting.
    leg = Leg()
    request = CallRequest(call_id="c2", lead=lead, policy="llm", llm_profile="gone")
    record = await run_call(request, cast(MediaLeg, leg), services)
    assert leg.hung_up and record.policy == "llm"
    assert record.error is not None and "'gone' is not configured" in record.error

"""policy="llm" in a call request: the factory builds an LLMPolicy from the CLOSERR_LLM_* settings the command
layer hands down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from closerr.build import engine_config
from config.settings import Settings, get_settings
from engine.agent.factory import make_policy
from engine.agent.llm_policy import LLMPolicy
from engine.agent.script_policy import ScriptPolicy
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

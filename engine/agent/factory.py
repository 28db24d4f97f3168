"""Builds the dialogue policy for one call from a call request's ``script`` and ``policy`` fields."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from engine.agent.policy import DialoguePolicy
from engine.agent.script import AgentScript, demo_script, parse_script
from engine.agent.script_policy import ScriptPolicy

__all__ = ["POLICIES", "make_policy"]

POLICIES = ("script", "llm")


@lru_cache(maxsize=1)
def _demo() -> AgentScript:
    # Parsed once per process: a policy only reads its script, so every call can share it.
    return demo_script()


def make_policy(script: dict[str, Any] | None, policy: str = "script") -> DialoguePolicy:
    """A fresh policy for one call. ``script`` None means the built-in demo script.

    Raises ``ScriptError`` for an invalid script and ``ValueError`` for an unknown policy name."""
    agent_script = _demo() if script is None else parse_script(script)
    if policy == "script":
        return ScriptPolicy(agent_script)
    if policy == "llm":
        # Imported here so script-only processes never load the HTTP client. The endpoint comes from
        # CLOSERR_LLM_BASE_URL / CLOSERR_LLM_MODEL / CLOSERR_LLM_API_KEY / CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S.
        from closerr.settings import get_settings
        from engine.agent.llm_policy import LLMPolicy

        settings = get_settings()
        return LLMPolicy(
            agent_script,
            ScriptPolicy(agent_script),  # the guard rails: opt-out detection and the answer when the model fails
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            first_token_timeout_s=settings.llm_first_token_timeout_s,
        )
    raise ValueError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")

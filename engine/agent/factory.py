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


def make_policy(
    script: dict[str, Any] | None,
    policy: str = "script",
    *,
    llm_base_url: str = "http://127.0.0.1:8080/v1",
    llm_model: str = "default",
    llm_api_key: str | None = None,
    llm_first_token_timeout_s: float = 1.5,
) -> DialoguePolicy:
    """A fresh policy for one call. ``script`` None means the built-in demo script; the ``llm_*`` endpoint is the
    one the ``llm`` policy streams from.

    Raises ``ScriptError`` for an invalid script and ``ValueError`` for an unknown policy name."""
    agent_script = _demo() if script is None else parse_script(script)
    if policy == "script":
        return ScriptPolicy(agent_script)
    if policy == "llm":
        # Imported here so script-only processes never load the HTTP client.
        from engine.agent.llm_policy import LLMPolicy

        return LLMPolicy(
            agent_script,
            ScriptPolicy(agent_script),  # the guard rails: opt-out detection and the answer when the model fails
            base_url=llm_base_url,
            model=llm_model,
            api_key=llm_api_key,
            first_token_timeout_s=llm_first_token_timeout_s,
        )
    raise ValueError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")

"""LLMPolicy and its client against a real OpenAI-compatible server: llama.cpp's, serving Gemma 3 270M.

It is a base model, so these tests check the protocol (streaming, timeouts, errors, guard rails), never the
quality of what it says. Greedy decoding keeps its replies repeatable.
"""

from __future__ import annotations

import time

import pytest

from engine.agent.llm_client import ChatCompletionsClient, LLMHTTPError, StreamEnd, TextDelta
from engine.agent.policy import Action, EndCall, OptOut, Say, Utterance
from engine.records import Outcome
from tests.llm.conftest import LlamaServer
from tests.llm.dialogue import apply, greet, lead_says, llm_policy, new_ctx, said

# Generous: the first request on a cold CPU-only server includes loading the prompt; CI machines are slow.
COLD_DEADLINE_S = 60.0
INTERESTED_Q = "Would you like to cut your electricity bill with rooftop solar?"
OPTED_OUT_LINE = "Understood. We will not call you again. Goodbye."


async def test_client_streams_deltas_from_a_real_server(llama_server: LlamaServer) -> None:
    client = ChatCompletionsClient(llama_server.base_url, llama_server.model, first_token_timeout_s=COLD_DEADLINE_S)
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Tell me about India."},
    ]
    events = [e async for e in client.stream(messages, max_tokens=24, temperature=0.0)]
    await client.aclose()
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 2  # token by token, not one block
    assert "".join(d.text for d in deltas).strip()
    assert events[-1] == StreamEnd("length") or events[-1] == StreamEnd("stop")


async def test_client_reports_a_real_server_error(llama_server: LlamaServer) -> None:
    client = ChatCompletionsClient(llama_server.base_url, llama_server.model, first_token_timeout_s=COLD_DEADLINE_S)
    with pytest.raises(LLMHTTPError) as info:
        await anext(client.stream([{"role": "user", "content": "hi"}], extra={"max_tokens": "lots"}))
    await client.aclose()
    assert info.value.status >= 400 and "max_tokens" in str(info.value)


async def test_a_call_with_the_real_model_streams_and_honours_opt_out(llama_server: LlamaServer) -> None:
    policy = llm_policy(
        llama_server.base_url,
        model=llama_server.model,
        first_token_timeout_s=COLD_DEADLINE_S,
        temperature=0.0,
        max_tokens=24,
    )
    ctx = new_ctx()
    await greet(policy, ctx)

    # Turns timed action by action as the turn manager receives them. Whatever the base model makes of them,
    # every turn is answered (by the model or, when it says nothing, by the script), and the model's replies
    # arrive sentence by sentence while it is still generating.
    streamed: list[list[tuple[float, Say]]] = []
    for text in ("Yes, go ahead.", "Yes, I would like that."):
        ctx.history.append(Utterance("lead", text))
        model_turns = policy.stats.model_turns
        started = time.monotonic()
        arrivals: list[tuple[float, Action]] = []
        async for action in policy.on_lead_turn(ctx, text):
            arrivals.append((time.monotonic() - started, action))
        apply(ctx, [a for _, a in arrivals])
        says = [(t, a) for t, a in arrivals if isinstance(a, Say)]
        assert says, f"turn {text!r} went silent"
        assert all(a.text.strip() and "[INST]" not in a.text and "<s>" not in a.text for _, a in says)
        if policy.stats.model_turns > model_turns:
            streamed.append(says)
    assert streamed, policy.stats  # the real model answered at least one turn
    longest = max(streamed, key=len)
    assert len(longest) >= 2
    assert longest[-1][0] - longest[0][0] > 0.02  # handed over as produced, not all at once at the end

    # Opt-out wins at once and the model is not asked.
    turns_before = policy.stats.model_turns + policy.stats.fallback_turns
    actions = await lead_says(policy, ctx, "Stop calling me. Put me on DND.")
    assert actions == [OptOut(), Say(OPTED_OUT_LINE, cacheable=True), EndCall(Outcome.OPTED_OUT)]
    assert policy.stats.model_turns + policy.stats.fallback_turns == turns_before
    await policy.aclose()


async def test_a_missed_first_token_deadline_on_a_real_server_falls_back(llama_server: LlamaServer) -> None:
    # No server answers a prompt of this size within a millisecond: the script policy must answer.
    policy = llm_policy(llama_server.base_url, model=llama_server.model, first_token_timeout_s=0.001)
    ctx = new_ctx()
    await greet(policy, ctx)
    actions = await lead_says(policy, ctx, "Yes, go ahead.")
    assert said(actions) == [INTERESTED_Q]
    assert policy.stats.fallback_reasons == ["timeout"]
    await policy.aclose()

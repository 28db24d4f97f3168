"""A phone call with the LLM policy: a simulated lead calls an engine server (its own process) whose dialogue
policy streams from the real llama.cpp server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from engine.simulator.persona import parse_persona
from engine.simulator.run import free_port, simulate, wait_healthy

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llm_engine_url(llama_server) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "CLOSERR_LLM_BASE_URL": llama_server.base_url,
        "CLOSERR_LLM_MODEL": llama_server.model,
        "CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "closerr.engine_server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout_s=120, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)


async def test_llm_policy_answers_on_a_real_call_and_opt_out_still_wins(llm_engine_url):
    result = await simulate(
        parse_persona(
            """
policy: llm
lead: {name: Ravi Kumar, phone: "+919812345678"}
turns:
  - say: "Yes, speaking."
  - say: "Stop calling me. Remove my number."
"""
        ),
        llm_engine_url,
    )
    bots = [t for t in result["transcript"] if t["role"] == "bot"]
    # The greeting, an answer to "Yes, speaking." (the model's or, when it fails, the script's), and the closing.
    assert len(bots) >= 3, result["transcript"]
    # Never a silent turn (a line cut off by the lead before its first word was heard is recorded empty).
    assert all(t["text"].strip() for t in bots if not t["interrupted"])
    assert result["outcome"] == "opted_out" and result["opted_out"]
    assert result["ended_by"] == "bot"

"""``closerr chat --policy llm``: the typed conversation streams from the endpoint the CLOSERR_LLM_* settings name."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.agent.conftest import SCRIPTS_DIR
from tests.llm.fake_openai import FakeOpenAI, text_reply


async def test_chat_with_the_llm_policy_speaks_the_models_lines(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["Wonderful. Shall we begin?"])[0])
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "CLOSERR_LLM_BASE_URL": fake_openai.base_url,
        "CLOSERR_LLM_MODEL": "qualifier-v2",
        "CLOSERR_LLM_FIRST_TOKEN_TIMEOUT_S": "30",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "closerr.cli", "chat", str(SCRIPTS_DIR / "demo_solar.yaml"), "--policy", "llm",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(b"Yes, go ahead.\n"), timeout=120)
    assert proc.returncode == 0, err.decode()
    agent = [line for line in out.decode().splitlines() if line.startswith("agent: ")]
    assert agent[0].startswith("agent: Hello Ravi Kumar")  # the script's greeting needs no model
    assert agent[1:] == ["agent: Wonderful.", "agent: Shall we begin?"]
    assert fake_openai.requests[0]["model"] == "qualifier-v2"

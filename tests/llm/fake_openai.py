"""A tiny OpenAI-compatible chat-completions server for the cases a real model cannot be made to produce on
demand: tool calls, a late first token, HTTP 500, a malformed stream. It speaks real HTTP/1.1 over a loopback
socket (chunked transfer encoding), so the client under test runs its whole network path.

Each request takes the next queued ``Reply`` (the last one repeats); every request body is kept for asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    """One write of the response body, after ``delay`` seconds and/or once ``gate`` is set."""

    data: bytes
    delay: float = 0.0
    gate: asyncio.Event | None = None


@dataclass
class Reply:
    status: int = 200
    steps: list[Step] = field(default_factory=list)
    content_type: str = "text/event-stream"
    headers_delay: float = 0.0


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> bytes:
    """One ``chat.completion.chunk`` as an SSE event, shaped like OpenAI's."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def text_reply(
    pieces: Sequence[str], *, delay: float = 0.0, gate_after: int | None = None
) -> tuple[Reply, asyncio.Event]:
    """Streams ``pieces`` as content deltas; with ``gate_after`` the rest waits for the returned event."""
    gate = asyncio.Event()
    steps = [Step(chunk({"role": "assistant", "content": ""}))]
    for n, piece in enumerate(pieces):
        held = gate if gate_after is not None and n == gate_after else None
        steps.append(Step(chunk({"content": piece}), delay=delay if n == 0 else 0.0, gate=held))
    steps += [Step(chunk({}, "stop")), Step(DONE)]
    return Reply(steps=steps), gate


def tool_call_reply(calls: Sequence[tuple[str, dict[str, Any]]], text: str = "", split: int = 7) -> Reply:
    """Tool calls streamed the way OpenAI documents it: id, type and name first, then the JSON arguments in
    fragments of ``split`` characters, each call under its own ``index``."""
    steps = [Step(chunk({"role": "assistant", "content": text or None}))]
    for index, (name, args) in enumerate(calls):
        head = {
            "index": index,
            "id": f"call_{index}abc",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        steps.append(Step(chunk({"tool_calls": [head]})))
        encoded = json.dumps(args)
        for start in range(0, len(encoded), split):
            fragment = {"index": index, "function": {"arguments": encoded[start : start + split]}}
            steps.append(Step(chunk({"tool_calls": [fragment]})))
    steps += [Step(chunk({}, "tool_calls")), Step(DONE)]
    return Reply(steps=steps)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.replies: list[Reply] = []
        self.disconnects = 0
        self._server: asyncio.Server | None = None
        self.base_url = ""

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def _next_reply(self) -> Reply:
        if not self.replies:
            return Reply(
                status=500, steps=[Step(b'{"error": {"message": "no reply queued"}}')], content_type="application/json"
            )
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.headers.append(headers)
                self.requests.append(json.loads(body) if body else {})
                await self._respond(writer, self._next_reply())
        except (asyncio.IncompleteReadError, ConnectionError):
            self.disconnects += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.headers_delay:
            await asyncio.sleep(reply.headers_delay)
        reason = {200: "OK", 500: "Internal Server Error", 429: "Too Many Requests"}.get(reply.status, "Status")
        writer.write(
            f"HTTP/1.1 {reply.status} {reason}\r\nContent-Type: {reply.content_type}\r\n"
            "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n".encode()
        )
        await writer.drain()
        for step in reply.steps:
            if step.delay:
                await asyncio.sleep(step.delay)
            if step.gate is not None:
                await step.gate.wait()
            if step.data:
                writer.write(b"%x\r\n%s\r\n" % (len(step.data), step.data))
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

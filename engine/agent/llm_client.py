"""A small streaming client for OpenAI-compatible chat-completions endpoints.

The protocol work is sans-I/O: ``SSEParser`` turns bytes into server-sent events and ``ChatStreamAssembler``
turns ``chat.completion.chunk`` objects into text deltas and whole tool calls (OpenAI streams a tool call as
fragments of its JSON arguments, keyed by ``index``). ``ChatCompletionsClient`` is the thin httpx layer on
top; its one piece of policy is the first-token deadline, because on a phone call a late reply is as bad as
none.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)

# Bodies of error responses are read only this far: enough for a message, never a whole page.
_ERROR_BODY_LIMIT = 2048


# -- errors ------------------------------------------------------------------------------------------------
class LLMError(Exception):
    """Anything that keeps the model from answering this turn; the caller falls back."""


class LLMTimeoutError(LLMError):
    pass


class LLMHTTPError(LLMError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


class LLMProtocolError(LLMError):
    """The stream was not a well-formed chat-completions stream."""


# -- server-sent events (sans-I/O) -------------------------------------------------------------------------
@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEParser:
    """Incremental parser for the ``text/event-stream`` format (WHATWG HTML, "server-sent events").

    Bytes may be split anywhere, even inside a UTF-8 sequence or between ``\\r`` and ``\\n``.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._pending_cr = False  # a trailing "\r" may be the first half of "\r\n"

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        self._buf.extend(chunk)
        while True:
            line, ok = self._take_line()
            if not ok:
                break
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: an event without its terminating blank line is incomplete and dropped (per spec)."""
        self._buf.clear()
        self._data.clear()
        return []

    def _take_line(self) -> tuple[str, bool]:
        for i, byte in enumerate(self._buf):
            if byte in (0x0A, 0x0D):
                raw = bytes(self._buf[:i])
                skip = 1
                if byte == 0x0D:
                    if i + 1 < len(self._buf):
                        if self._buf[i + 1] == 0x0A:
                            skip = 2
                    else:
                        self._pending_cr = True
                del self._buf[: i + skip]
                return raw.decode("utf-8", errors="replace"), True
        return "", False

    def _process_line(self, line: str) -> SSEEvent | None:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
            self._data = []
            self._event = ""
            return event
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


# -- chat-completion chunks (sans-I/O) ---------------------------------------------------------------------
@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as an object; a model that writes broken JSON gets its call ignored upstream."""
        if not self.arguments.strip():
            return {}
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError as exc:
            raise LLMProtocolError(f"tool call {self.name!r}: arguments are not JSON") from exc
        if not isinstance(value, dict):
            raise LLMProtocolError(f"tool call {self.name!r}: arguments are not a JSON object")
        return value


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallsDone:
    """All tool calls of the reply, assembled, in index order (emitted once, at the end of the choice)."""

    calls: list[ToolCall]


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: str | None


StreamEvent = TextDelta | ToolCallsDone | StreamEnd


@dataclass
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStreamAssembler:
    """Feeds on SSE ``data`` payloads of a streamed chat completion; only choice 0 is used."""

    def __init__(self) -> None:
        self._tools: dict[int, _PartialToolCall] = {}
        self._finish_reason: str | None = None
        self._done = False
        self._tools_emitted = False
        self._has_text = False

    @property
    def done(self) -> bool:
        return self._done

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason

    def feed(self, data: str) -> list[StreamEvent]:
        if self._done:
            return []
        if data.strip() == "[DONE]":
            return self._finish()
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise LLMProtocolError("stream chunk is not JSON") from exc
        if not isinstance(chunk, dict):
            raise LLMProtocolError("stream chunk is not a JSON object")
        if "error" in chunk:
            # Some servers report failures in-band, after a 200 status line.
            raise LLMError(f"server error in stream: {_error_message(chunk['error'])}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise LLMProtocolError("stream chunk has no choices list")
        events: list[StreamEvent] = []
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise LLMProtocolError("choice delta is not an object")
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._has_text = True
                events.append(TextDelta(content))
            self._feed_tool_calls(delta)
            reason = choice.get("finish_reason")
            if reason:
                self._finish_reason = str(reason)
        return events

    def has_started(self) -> bool:
        """True once the reply has any content: text, or the first fragment of a tool call."""
        return self._has_text or bool(self._tools)

    def close(self) -> list[StreamEvent]:
        """End of the byte stream. Without ``[DONE]`` the reply must at least carry a finish reason."""
        if self._done:
            return []
        if self._finish_reason is None:
            raise LLMProtocolError("stream ended before the reply finished")
        return self._finish()

    def _feed_tool_calls(self, delta: dict[str, Any]) -> None:
        calls = delta.get("tool_calls")
        legacy = delta.get("function_call")  # pre-tools "functions" API: one call, no index
        if isinstance(legacy, dict):
            calls = [{"index": 0, "function": legacy}]
        if calls is None:
            return
        if not isinstance(calls, list):
            raise LLMProtocolError("tool_calls is not a list")
        for position, call in enumerate(calls):
            if not isinstance(call, dict):
                raise LLMProtocolError("tool call delta is not an object")
            index = call.get("index", position)
            if not isinstance(index, int):
                raise LLMProtocolError("tool call index is not an integer")
            partial = self._tools.setdefault(index, _PartialToolCall())
            if isinstance(call.get("id"), str) and call["id"]:
                partial.id = call["id"]
            function = call.get("function") or {}
            if not isinstance(function, dict):
                raise LLMProtocolError("tool call function is not an object")
            name = function.get("name")
            if isinstance(name, str) and name and name != partial.name:
                # OpenAI sends the name whole in the first fragment; some servers repeat it in every fragment
                # (ignored above) and a few split it before the arguments start (joined here).
                partial.name = partial.name + name if not partial.arguments else partial.name or name
            if isinstance(function.get("arguments"), str):
                partial.arguments.append(function["arguments"])

    def _finish(self) -> list[StreamEvent]:
        self._done = True
        events: list[StreamEvent] = []
        if self._tools and not self._tools_emitted:
            self._tools_emitted = True
            calls = []
            for index in sorted(self._tools):
                partial = self._tools[index]
                if not partial.name:
                    raise LLMProtocolError(f"tool call {index} has no function name")
                calls.append(ToolCall(partial.id or f"call_{index}", partial.name, "".join(partial.arguments)))
            events.append(ToolCallsDone(calls))
        events.append(StreamEnd(self._finish_reason))
        return events


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "unknown")[:200]
    return str(error)[:200]


# -- the HTTP layer ----------------------------------------------------------------------------------------
class ChatCompletionsClient:
    """Streams ``POST {base_url}/chat/completions``.

    ``first_token_timeout_s`` bounds the time from sending the request to the first content (text or a tool
    call fragment): connection, queueing and prompt processing all count. After that, each read may take up to
    ``idle_timeout_s``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | str | None = None,
        *,
        first_token_timeout_s: float = 1.5,
        idle_timeout_s: float = 5.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if first_token_timeout_s <= 0:
            raise ValueError("first_token_timeout_s must be positive")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key if isinstance(api_key, SecretStr) or api_key is None else SecretStr(api_key)
        self.first_token_timeout_s = first_token_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._owns_client = http_client is None
        # Reads are timed by _events (first-token deadline, then idle_timeout_s), not by httpx: its read timeout
        # would also cut the wait for response headers, which some servers send only after prompt processing.
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(connect=first_token_timeout_s, read=None, write=5.0, pool=first_token_timeout_s)
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self._api_key is not None and self._api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    async def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        temperature: float = 0.3,
        max_tokens: int = 160,
        extra: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Yield text deltas as they arrive, then ``ToolCallsDone`` (if any) and ``StreamEnd``.

        Raises ``LLMTimeoutError``, ``LLMHTTPError``, ``LLMProtocolError`` or ``LLMError``; closing the
        iterator early (barge-in) closes the HTTP response.
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = "auto"
        if extra:
            body.update(extra)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.first_token_timeout_s
        request = self._http.build_request("POST", self.url, json=body, headers=self._headers())
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._http.send(request, stream=True)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise LLMTimeoutError("no response before the first-token deadline") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"request failed: {type(exc).__name__}") from exc
        try:
            if response.status_code >= 400:
                raise LLMHTTPError(response.status_code, await _read_error(response))
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type:
                raise LLMProtocolError(f"expected text/event-stream, got {content_type or 'no content type'!r}")
            async for event in self._events(response, deadline):
                yield event
        finally:
            await response.aclose()

    async def _events(self, response: httpx.Response, deadline: float) -> AsyncIterator[StreamEvent]:
        loop = asyncio.get_running_loop()
        sse = SSEParser()
        chat = ChatStreamAssembler()
        started = False
        chunks = response.aiter_bytes()
        while not chat.done:
            # Per-read timeouts: a timeout scope must not stay open across a yield to the consumer.
            timeout = self.idle_timeout_s if started else deadline - loop.time()
            try:
                chunk = await asyncio.wait_for(anext(chunks), timeout=max(timeout, 0.0))
            except StopAsyncIteration:
                break
            except (TimeoutError, httpx.TimeoutException) as exc:
                what = "stream stalled" if started else "no first token before the deadline"
                raise LLMTimeoutError(what) from exc
            except httpx.HTTPError as exc:
                raise LLMError(f"stream broken: {type(exc).__name__}") from exc
            for sse_event in sse.feed(chunk):
                if sse_event.event == "error":
                    raise LLMError(f"server error event: {sse_event.data[:200]}")
                for event in chat.feed(sse_event.data):
                    yield event
                started = started or chat.has_started()
                if chat.done:
                    break
        sse.close()
        for event in chat.close():
            yield event


async def _read_error(response: httpx.Response) -> str:
    raw = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            raw.extend(chunk)
            if len(raw) >= _ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    text = raw[:_ERROR_BODY_LIMIT].decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:200] or response.reason_phrase
    if isinstance(parsed, dict) and "error" in parsed:
        return _error_message(parsed["error"])
    return text.strip()[:200]

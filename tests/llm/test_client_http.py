"""ChatCompletionsClient over real loopback HTTP against the scripted server."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from engine.agent.llm_client import (
    ChatCompletionsClient,
    LLMError,
    LLMHTTPError,
    LLMProtocolError,
    LLMTimeoutError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallsDone,
)
from tests.llm.fake_openai import DONE, FakeOpenAI, Reply, Step, chunk, text_reply, tool_call_reply

MESSAGES = [{"role": "user", "content": "hello"}]


async def collect(client: ChatCompletionsClient, **kwargs: object) -> list[StreamEvent]:
    return [event async for event in client.stream(MESSAGES, **kwargs)]  # type: ignore[arg-type]


async def test_streams_text_and_sends_a_well_formed_request(fake_openai: FakeOpenAI) -> None:
    reply, _ = text_reply(["Hello", " there."])
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m1", SecretStr("sk-test"), first_token_timeout_s=2)
    tools = [{"type": "function", "function": {"name": "opt_out", "parameters": {"type": "object"}}}]
    events = await collect(client, tools=tools, max_tokens=50)
    await client.aclose()
    assert events == [TextDelta("Hello"), TextDelta(" there."), StreamEnd("stop")]
    body = fake_openai.requests[0]
    assert body["model"] == "m1" and body["stream"] is True and body["max_tokens"] == 50
    assert body["messages"] == MESSAGES and body["tools"] == tools and body["tool_choice"] == "auto"
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-test"
    assert fake_openai.headers[0]["accept"] == "text/event-stream"


async def test_no_api_key_sends_no_authorization_header(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(text_reply(["Hi."])[0])
    client = ChatCompletionsClient(fake_openai.base_url, "m1", None)
    await collect(client)
    await client.aclose()
    assert "authorization" not in fake_openai.headers[0]


async def test_text_arrives_before_the_rest_of_the_reply_is_written(fake_openai: FakeOpenAI) -> None:
    reply, gate = text_reply(["First.", " Second."], gate_after=1)
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m", first_token_timeout_s=2)
    stream = client.stream(MESSAGES)
    assert await anext(stream) == TextDelta("First.")  # the server is still holding " Second."
    gate.set()
    assert [e async for e in stream] == [TextDelta(" Second."), StreamEnd("stop")]
    await client.aclose()


async def test_tool_call_stream_is_assembled(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(tool_call_reply([("schedule_callback", {"when": "tomorrow at 5 pm"})], split=4))
    client = ChatCompletionsClient(fake_openai.base_url, "m")
    events = await collect(client)
    await client.aclose()
    assert isinstance(events[0], ToolCallsDone)
    assert events[0].calls[0].name == "schedule_callback"
    assert events[0].calls[0].parsed_arguments() == {"when": "tomorrow at 5 pm"}
    assert events[1] == StreamEnd("tool_calls")


async def test_first_token_timeout_counts_a_slow_first_content_chunk(fake_openai: FakeOpenAI) -> None:
    # Headers and the role chunk come at once; the first word is late.
    reply, _ = text_reply(["Late."], delay=1.5)
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m", first_token_timeout_s=0.3)
    with pytest.raises(LLMTimeoutError, match="first token"):
        await collect(client)
    await client.aclose()


async def test_first_token_timeout_counts_slow_response_headers(fake_openai: FakeOpenAI) -> None:
    reply, _ = text_reply(["Late."])
    reply.headers_delay = 1.5
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m", first_token_timeout_s=0.3)
    with pytest.raises(LLMTimeoutError):
        await collect(client)
    await client.aclose()


async def test_a_stall_after_the_first_token_is_an_error(fake_openai: FakeOpenAI) -> None:
    stalled = Reply(steps=[Step(chunk({"content": "Hello"})), Step(chunk({"content": " again"}), delay=2.0)])
    fake_openai.queue(stalled)
    client = ChatCompletionsClient(fake_openai.base_url, "m", first_token_timeout_s=1, idle_timeout_s=0.3)
    got: list[StreamEvent] = []
    with pytest.raises(LLMTimeoutError, match="stalled"):
        async for event in client.stream(MESSAGES):
            got.append(event)
    assert got == [TextDelta("Hello")]
    await client.aclose()


async def test_http_500_is_reported_with_the_server_message(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(
        Reply(500, [Step(b'{"error": {"message": "CUDA out of memory"}}')], content_type="application/json")
    )
    client = ChatCompletionsClient(fake_openai.base_url, "m")
    with pytest.raises(LLMHTTPError) as info:
        await collect(client)
    await client.aclose()
    assert info.value.status == 500
    assert "CUDA out of memory" in str(info.value)


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        (Reply(steps=[Step(b"data: {not json}\n\n")]), LLMProtocolError, "not JSON"),
        (Reply(steps=[Step(chunk({"content": "cut"}))]), LLMProtocolError, "before the reply finished"),
        (Reply(steps=[Step(b"{}")], content_type="application/json"), LLMProtocolError, "event-stream"),
        (Reply(steps=[Step(b"event: error\ndata: overloaded\n\n")]), LLMError, "overloaded"),
    ],
)
async def test_malformed_streams_are_errors(
    fake_openai: FakeOpenAI, reply: Reply, error: type[Exception], match: str
) -> None:
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m")
    with pytest.raises(error, match=match):
        await collect(client)
    await client.aclose()


async def test_nothing_listening_is_an_error() -> None:
    client = ChatCompletionsClient("http://127.0.0.1:9/v1", "m", first_token_timeout_s=1)
    with pytest.raises(LLMError):
        await collect(client)
    await client.aclose()


async def test_closing_the_stream_early_hangs_up_on_the_server(fake_openai: FakeOpenAI) -> None:
    reply, gate = text_reply(["One.", " Two."], gate_after=1)
    fake_openai.queue(reply)
    client = ChatCompletionsClient(fake_openai.base_url, "m")
    stream = client.stream(MESSAGES)
    assert await anext(stream) == TextDelta("One.")
    await stream.aclose()  # barge-in: the turn manager cancels the reply
    await client.aclose()
    gate.set()
    for _ in range(50):
        if fake_openai.disconnects:
            break
        await asyncio.sleep(0.02)
    assert fake_openai.disconnects == 1


async def test_done_without_finish_reason_and_extra_bytes_after_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(steps=[Step(chunk({"content": "Ok."}) + DONE + b"data: trailing junk\n\n")]))
    client = ChatCompletionsClient(fake_openai.base_url, "m")
    assert await collect(client) == [TextDelta("Ok."), StreamEnd(None)]
    await client.aclose()

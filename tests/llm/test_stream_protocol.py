"""The sans-I/O halves of the LLM client: server-sent events and chat-completion chunk assembly."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.agent.llm_client import (
    ChatStreamAssembler,
    LLMError,
    LLMProtocolError,
    SSEEvent,
    SSEParser,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallsDone,
)
from tests.llm.fake_openai import DONE, chunk, tool_call_reply

STREAM = (
    b": keep-alive comment\n\n"
    b"event: message\nid: 7\ndata: first\n\n"
    b"data: multi\r\ndata: line\r\n\r\n"
    b"data:no-space\rdata: caf\xc3\xa9 \xe2\x82\xb9500\r\r"
    b'data: {"a": 1}\n\n'
    b"data: unterminated"
)
EXPECTED = [
    SSEEvent("first", "message", "7"),
    SSEEvent("multi\nline", "message", "7"),
    SSEEvent("no-space\ncafé ₹500", "message", "7"),
    SSEEvent('{"a": 1}', "message", "7"),
]


def test_sse_events_with_every_line_ending_comments_and_ids() -> None:
    parser = SSEParser()
    assert parser.feed(STREAM) == EXPECTED
    assert parser.close() == []  # an event without its blank line is dropped, per the spec


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=12))
def test_sse_parser_does_not_care_where_the_bytes_are_split(cuts: list[int]) -> None:
    """Cuts anywhere: inside UTF-8 sequences, between \\r and \\n, inside field names."""
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    parser = SSEParser()
    events = []
    for start, end in itertools.pairwise(bounds):
        events += parser.feed(STREAM[start:end])
    assert events == EXPECTED


def _data_payloads(raw: bytes) -> list[str]:
    return [event.data for event in SSEParser().feed(raw)]


def test_text_deltas_then_end() -> None:
    chat = ChatStreamAssembler()
    events = []
    for data in _data_payloads(chunk({"role": "assistant"}) + chunk({"content": "Hi"}) + chunk({"content": "!"})):
        events += chat.feed(data)
    assert events == [TextDelta("Hi"), TextDelta("!")]
    assert chat.has_started()
    events = chat.feed(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    assert events == []
    assert chat.feed("[DONE]") == [StreamEnd("stop")]
    assert chat.done


def test_role_only_chunk_is_not_a_first_token() -> None:
    chat = ChatStreamAssembler()
    chat.feed(_data_payloads(chunk({"role": "assistant", "content": ""}))[0])
    assert not chat.has_started()


def test_openai_tool_call_deltas_are_assembled_per_index() -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("record_slot", {"slot": "monthly_bill", "value": 3000}),
        ("end_call", {"outcome": "qualified"}),
    ]
    raw = b"".join(step.data for step in tool_call_reply(calls, split=3).steps)
    chat = ChatStreamAssembler()
    events = []
    for data in _data_payloads(raw):
        events += chat.feed(data)
    assert events[:-2] == []  # nothing until the reply is finished
    done, end = events[-2:]
    assert isinstance(done, ToolCallsDone)
    assert end == StreamEnd("tool_calls")
    assert [(c.id, c.name) for c in done.calls] == [("call_0abc", "record_slot"), ("call_1abc", "end_call")]
    assert done.calls[0].parsed_arguments() == {"slot": "monthly_bill", "value": 3000}
    assert done.calls[1].parsed_arguments() == {"outcome": "qualified"}


def test_interleaved_parallel_tool_calls_and_repeated_names() -> None:
    chat = ChatStreamAssembler()
    deltas = [
        {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "opt_out", "arguments": "{"}}]},
        {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "record_slot", "arguments": '{"slot":'}}]},
        {"tool_calls": [{"index": 1, "function": {"name": "opt_out", "arguments": "}"}}]},  # name repeated
        {"tool_calls": [{"index": 0, "function": {"arguments": ' "x", "value": true}'}}]},
    ]
    for delta in deltas:
        chat.feed(json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
    chat.feed(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    events = chat.close()  # no [DONE]: a finish reason is enough
    assert events[0] == ToolCallsDone(
        [ToolCall("a", "record_slot", '{"slot": "x", "value": true}'), ToolCall("b", "opt_out", "{}")]
    )


def test_legacy_function_call_delta() -> None:
    chat = ChatStreamAssembler()
    chat.feed(json.dumps({"choices": [{"delta": {"function_call": {"name": "opt_out", "arguments": ""}}}]}))
    chat.feed(json.dumps({"choices": [{"delta": {}, "finish_reason": "function_call"}]}))
    events = chat.feed("[DONE]")
    assert isinstance(events[0], ToolCallsDone)
    assert events[0].calls[0].name == "opt_out"
    assert events[0].calls[0].parsed_arguments() == {}


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("not json", LLMProtocolError),
        ("[1, 2]", LLMProtocolError),
        ('{"object": "chat.completion.chunk"}', LLMProtocolError),
        ('{"choices": [{"delta": "text"}]}', LLMProtocolError),
        ('{"choices": [{"delta": {"tool_calls": {"index": 0}}}]}', LLMProtocolError),
        ('{"error": {"message": "model overloaded"}}', LLMError),
    ],
)
def test_malformed_chunks_raise(payload: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        ChatStreamAssembler().feed(payload)


def test_stream_cut_before_the_reply_finished_is_an_error() -> None:
    chat = ChatStreamAssembler()
    chat.feed(_data_payloads(chunk({"content": "Hello"}))[0])
    with pytest.raises(LLMProtocolError, match="before the reply finished"):
        chat.close()


def test_tool_call_without_a_name_is_an_error() -> None:
    chat = ChatStreamAssembler()
    chat.feed(json.dumps({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]}))
    with pytest.raises(LLMProtocolError, match="no function name"):
        chat.feed("[DONE]")


def test_broken_tool_arguments_are_reported_not_guessed() -> None:
    with pytest.raises(LLMProtocolError, match="not JSON"):
        ToolCall("c", "record_slot", '{"slot": "x", "val').parsed_arguments()
    with pytest.raises(LLMProtocolError, match="not a JSON object"):
        ToolCall("c", "record_slot", "[1]").parsed_arguments()


def test_done_marker_stops_further_parsing() -> None:
    chat = ChatStreamAssembler()
    assert chat.feed(DONE.decode()[6:].strip()) == [StreamEnd(None)]
    assert chat.feed("garbage after done") == []

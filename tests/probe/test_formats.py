import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from troubleshooter.probe.formats import (
    _NOT_JSON,
    AutoDecoder,
    JSONBodyDecoder,
    NDJSONDecoder,
    SSEDecoder,
    TextDecoder,
    WebSocketMessages,
    _interpret_any,
    _loads,
    _plain_openai_content,
    interpret_json,
    make_decoder,
)
from troubleshooter.probe.record import Event
from troubleshooter.probe.sse import TooLong


def decode(decoder, *chunks: bytes) -> list[Event]:
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.finish()


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


def sse(obj) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


def openai(delta=None, finish=None, **extra) -> bytes:
    return sse({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra})


def test_openai_chunks_become_content_finish_usage_and_terminal():
    decoder = SSEDecoder(1 << 20)
    events = decode(
        decoder,
        openai({"role": "assistant", "content": ""}),
        openai({"content": "Hel"}),
        openai({"content": "lo"}, finish="stop"),
        sse({"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}}),
        b"data: [DONE]\n\n",
    )
    assert kinds(events) == ["meta", "content", "content", "finish", "usage", "terminal"]
    assert "".join(e.text for e in events if e.kind == "content") == "Hello"
    assert events[3].finish_reason == "stop"
    assert events[4].usage == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
    assert decoder.format == "sse/openai" and decoder.expects_terminal


def test_an_openai_error_object_in_the_stream_is_an_error_event():
    [event] = decode(SSEDecoder(1 << 20), sse({"error": {"message": "Rate limit reached", "type": "rate_limit"}}))
    assert event.kind == "error"
    assert "Rate limit reached" in event.detail


def test_tool_call_arguments_count_as_content():
    delta = {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}
    [event] = decode(SSEDecoder(1 << 20), openai(delta))
    assert (event.kind, event.detail, event.text) == ("content", "tool-call", '{"city":')


def anthropic(name: str, **payload) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n".encode()


def test_an_anthropic_stream_maps_to_the_same_vocabulary():
    decoder = SSEDecoder(1 << 20)
    events = decode(
        decoder,
        anthropic("message_start", message={"usage": {"input_tokens": 9, "output_tokens": 1}}),
        anthropic("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        anthropic("ping"),
        anthropic("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hi"}),
        anthropic("content_block_stop", index=0),
        anthropic("message_delta", delta={"stop_reason": "max_tokens"}, usage={"output_tokens": 5}),
        anthropic("message_stop"),
    )
    assert kinds(events) == ["usage", "meta", "ping", "content", "meta", "finish", "usage", "terminal"]
    assert events[5].finish_reason == "max_tokens"
    assert decoder.format == "sse/anthropic" and decoder.expects_terminal


def test_an_anthropic_error_event_is_an_error():
    payload = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    [event] = decode(SSEDecoder(1 << 20), f"event: error\ndata: {json.dumps(payload)}\n\n".encode())
    assert event.kind == "error"
    assert "overloaded_error" in event.detail


def test_generic_sse_text_data_is_content_and_has_no_terminal_to_expect():
    decoder = SSEDecoder(1 << 20)
    events = decode(decoder, b"data: plain words\n\n", b": heartbeat\n\n", b"event: done\ndata: bye\n\n")
    assert kinds(events) == ["content", "comment", "terminal"]
    assert decoder.format == "sse/generic" and not decoder.expects_terminal


def test_non_json_data_inside_a_vendor_stream_is_garbage():
    decoder = SSEDecoder(1 << 20, dialect="openai")
    [event] = decode(decoder, b"data: <html>502 Bad Gateway</html>\n\n")
    assert event.kind == "garbage"


def test_openai_responses_api_events_are_understood():
    events = decode(
        SSEDecoder(1 << 20),
        sse({"type": "response.output_text.delta", "delta": "Hi"}),
        sse({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}}),
    )
    assert kinds(events) == ["content", "finish", "terminal"]
    assert events[1].finish_reason == "max_output_tokens"


def test_ndjson_lines_from_ollama_end_with_a_terminal():
    decoder = NDJSONDecoder(1 << 20)
    lines = [{"message": {"content": "Hi"}, "done": False}, {"message": {"content": ""}, "done": True, "done_reason": "length", "eval_count": 3}]
    events = decode(decoder, *(json.dumps(line).encode() + b"\n" for line in lines))
    assert kinds(events) == ["content", "finish", "usage", "terminal"]
    assert decoder.expects_terminal


def test_an_ndjson_line_that_is_not_json_is_garbage_not_a_crash():
    events = decode(NDJSONDecoder(1 << 20), b'{"text": "a"}\nnot json\n{"text": "b"}')
    assert kinds(events) == ["content", "garbage", "content"]


def test_a_whole_json_body_is_read_at_the_end():
    answer = {"object": "chat.completion", "choices": [{"message": {"content": "All of it"}, "finish_reason": "stop"}]}
    body = json.dumps(answer, indent=2).encode()
    decoder = JSONBodyDecoder(1 << 20)
    assert decoder.feed(body[:10]) == []
    events = decoder.feed(body[10:]) + decoder.finish()
    assert kinds(events) == ["content", "finish"]


def test_a_json_body_larger_than_the_limit_stops():
    with pytest.raises(TooLong):
        JSONBodyDecoder(100).feed(b"{" + b" " * 200)


def test_text_keeps_a_character_split_across_chunks_whole():
    assert "".join(e.text for e in decode(TextDecoder(), b"caf\xc3", b"\xa9")) == "café"


def test_binary_garbage_is_noticed_and_never_raises():
    decoder = TextDecoder()
    decode(decoder, b"\x00\xff\xfe\x80garbage", b"\xc3")
    assert decoder.facts() == {"invalid_utf8": True, "looks_binary": True}


@pytest.mark.parametrize(
    ("content_type", "first_bytes", "expected"),
    [
        ("text/event-stream; charset=utf-8", b"{}", "sse/generic"),
        ("application/x-ndjson", b"data: x", "ndjson"),
        ("application/json", b"{}", "json"),
        ("text/plain", b"\xef\xbb\xbfdata: x\n\n", "sse/generic"),
        ("", b"  {\"text\": \"a\"}\n", "ndjson"),
        ("application/octet-stream", b"\x00\x01", "text"),
    ],
)
def test_auto_picks_the_format_from_content_type_then_first_bytes(content_type, first_bytes, expected):
    decoder = AutoDecoder(content_type, 1 << 20)
    decoder.feed(first_bytes)
    assert decoder.format == expected


def test_auto_waits_past_leading_blank_bytes_before_choosing():
    decoder = AutoDecoder("", 1 << 20)
    assert decoder.feed(b"\n\n") == []
    assert decoder.format == "auto"
    assert kinds(decoder.feed(b"data: x\n\n")) == ["content"]


def test_an_explicit_format_overrides_the_content_type():
    assert make_decoder("anthropic", "text/plain", 1024).format == "sse/anthropic"
    assert make_decoder("text", "text/event-stream", 1024).format == "text"


def test_websocket_messages_are_interpreted_like_stream_events():
    messages = WebSocketMessages()
    sent = ['{"choices": [{"delta": {"content": "a"}}]}', "plain", b"\x00\x01", "[DONE]"]
    events = [event for message in sent for event in messages.events_for(message)]
    assert kinds(events) == ["content", "content", "content", "terminal"]
    assert events[2].detail == "binary"
    assert messages.format == "websocket/openai"


# The common OpenAI chunk, {"choices": [{"delta": {"content": ...}}]}, with a
# few of its fields changed or added: the quick reading of that shape must give
# what the full reading gives, or step aside.
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(["", "x", "stop", "error"]), st.just({}), st.just([]),
    st.just({"prompt_tokens": 1}), st.just({"message": "boom"}), st.just([{"function": {"arguments": "{}"}}]),
    st.just([{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]),
)
_PLACES = st.sampled_from(
    [("chunk", key) for key in ("choices", "usage", "type", "error", "object")]
    + [("choice", key) for key in ("delta", "finish_reason", "text", "message", "index")]
    + [("delta", key) for key in ("content", "role", "reasoning_content", "reasoning", "tool_calls")]
)


@st.composite
def openai_chunks(draw: st.DrawFn) -> dict:
    delta = {"content": "Hel"}
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice]}
    for (where, key), value in draw(st.lists(st.tuples(_PLACES, _VALUES), max_size=3)):
        {"chunk": chunk, "choice": choice, "delta": delta}[where][key] = value
    return chunk


_PLAIN = {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}


@given(openai_chunks())
@example({**_PLAIN, "type": "error"})
@example({**_PLAIN, "error": {"message": "boom"}})
@example({**_PLAIN, "usage": {"total_tokens": 3}})
@settings(max_examples=1000, deadline=None)
def test_the_quick_reading_of_plain_openai_chunks_matches_the_full_reading(obj):
    assert interpret_json(obj, "openai") == _interpret_any(obj, "openai")


def test_the_quick_reading_takes_the_common_chunks():
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": None, "finish_reason": None}]}
    assert _plain_openai_content(chunk) == "Hi"
    assert interpret_json(chunk, "openai") == [Event("content", 0.0, "Hi")]


@given(st.one_of(st.text(alphabet='{}[]":,0 \t\n\rab\\', max_size=20), st.builds(json.dumps, openai_chunks())))
@settings(max_examples=500, deadline=None)
def test_json_is_read_as_json_loads_reads_it(text):
    try:
        expected = json.loads(text)
    except ValueError:
        assert _loads(text) is _NOT_JSON
    else:
        assert _loads(text) == expected


def test_a_flood_of_plain_events_decodes_the_same_in_bulk_and_byte_by_byte():
    body = b"".join(
        [openai({"role": "assistant"}), *(openai({"content": f"w{i} "}) for i in range(50)),
         b": keep-alive\n\n", b"event: message\ndata: {\"choices\":[{\"delta\":{\"content\":\"named\"}}]}\n\n",
         b"data: {not json}\n\n", openai({"content": "last"}, finish="stop"), b"data: [DONE]\n\n"]
    )
    at_once = decode(SSEDecoder(1 << 20, "openai"), body)
    assert at_once == decode(SSEDecoder(1 << 20, "openai"), *(body[i : i + 1] for i in range(len(body))))
    assert kinds(at_once) == ["meta"] + ["content"] * 50 + ["comment", "content", "garbage", "content", "finish", "terminal"]
    assert "".join(event.text for event in at_once if event.kind == "content").endswith("w49 namedlast")


@pytest.mark.parametrize("choices", [True, 7, "text", {"delta": {"content": "x"}}])
def test_an_openai_chunk_whose_choices_is_not_a_list_is_read_without_crashing(choices):
    chunk = {"object": "chat.completion.chunk", "choices": choices}
    assert [event.kind for event in interpret_json(chunk)] in ([], ["meta"])
    decoder = make_decoder("openai", "text/event-stream", 1 << 20)
    events = decoder.feed(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
    assert events[-1].kind == "terminal"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN}',  # json reads NaN; orjson refuses it
        '{"a": "\\ud800"}',  # a lone surrogate
        "[" * 1100 + "]" * 1100,  # nested past orjson's limit
        '  {"a": 1}  ',
        '{"a": 1} trailing',
        "",
    ],
)
def test_json_in_a_stream_is_exactly_what_the_standard_library_calls_json(text):
    from troubleshooter.probe.formats import _NOT_JSON, _loads

    try:
        expected = json.loads(text)
    except (ValueError, RecursionError):
        expected = _NOT_JSON
    got = _loads(text)
    if expected is _NOT_JSON:
        assert got is _NOT_JSON
    else:
        assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_the_one_difference_from_the_standard_library_is_an_integer_past_64_bits_read_as_a_float():
    from troubleshooter.probe.formats import _loads

    assert _loads('{"a": 18446744073709551615}') == {"a": 18446744073709551615}
    assert _loads('{"a": 123456789012345678901234567890}') == {"a": 1.2345678901234568e29}


@st.composite
def chunks_of_runs(draw: st.DrawFn) -> dict:
    chunk = draw(openai_chunks())
    chunk["id"] = draw(st.sampled_from(["chatcmpl-1", "chatcmpl-2", None, 5, "", "c" * 70]))
    choices = chunk["choices"]
    if isinstance(choices, list) and choices and isinstance(choices[0], dict) and draw(st.booleans()):
        choices[0]["delta"] = {"role": "assistant", "content": "Hel"}  # a run that starts (again)
    return chunk


@given(st.lists(chunks_of_runs(), max_size=8))
@settings(max_examples=1000, deadline=None)
def test_the_one_pass_reading_of_plain_chunks_gives_the_same_events_and_run_marks_as_the_full_reading(chunks):
    from troubleshooter.probe.formats import _RunMarkers

    quick, full = _RunMarkers(), _RunMarkers()
    for obj in chunks:
        text = quick.plain_chunk_text(obj)
        if text is None:
            quick.note(obj)
            quick_events = interpret_json(obj, "openai")
        else:
            quick_events = [Event("content", 0.0, text)]
        full.note(obj)
        assert quick_events == interpret_json(obj, "openai")
    assert quick.facts() == full.facts()
    assert (quick.ids, quick.id_changes, quick.role_restarts) == (full.ids, full.id_changes, full.role_restarts)

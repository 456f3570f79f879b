from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from troubleshooter.probe.sse import LineSplitter, SSEComment, SSEMessage, SSEParser, TooLong


def parse(*chunks: bytes, max_line_bytes: int = 1 << 20) -> list[SSEMessage | SSEComment]:
    parser = SSEParser(max_line_bytes)
    items = [item for chunk in chunks for item in parser.feed(chunk)]
    return items + parser.finish()


def messages(*chunks: bytes) -> list[SSEMessage]:
    return [item for item in parse(*chunks) if isinstance(item, SSEMessage)]


def test_it_reads_event_data_id_and_retry_fields():
    [message] = messages(b"event: delta\ndata: hello\nid: 7\nretry: 1500\n\n")
    assert message == SSEMessage(event="delta", data="hello", id="7", retry=1500)


def test_an_event_without_a_type_is_a_message():
    [message] = messages(b"data: x\n\n")
    assert message.event == "message"


def test_it_joins_multi_line_data_with_newlines():
    [message] = messages(b"data: first\ndata: second\ndata:\n\n")
    assert message.data == "first\nsecond\n"


def test_it_treats_cr_lf_and_crlf_line_ends_alike():
    assert messages(b"data: a\r\r") == messages(b"data: a\n\n") == messages(b"data: a\r\n\r\n")


def test_a_crlf_split_across_chunks_is_one_line_end():
    # If the LF after a chunk-final CR counted as a line of its own, the
    # parser would dispatch here and lose the second data line.
    [message] = messages(b"data: a\r", b"\ndata: b\r", b"\n\r\n")
    assert message.data == "a\nb"


def test_it_strips_one_leading_bom_even_when_split_across_chunks():
    [message] = messages(b"\xef\xbb", b"\xbfdata: x\n\n")
    assert message.data == "x"


def test_it_keeps_a_bom_that_is_not_at_the_start():
    items = parse(b"data: x\n\n\xef\xbb\xbfdata: y\n\n")
    assert [item.data for item in items if isinstance(item, SSEMessage)] == ["x"]


def test_it_reports_comments_because_heartbeats_are_evidence():
    assert parse(b": keep-alive\n\n") == [SSEComment(" keep-alive")]


def test_a_field_without_a_colon_has_an_empty_value():
    [message] = messages(b"data\n\n")
    assert message.data == ""


def test_only_one_space_after_the_colon_is_stripped():
    [message] = messages(b"data:  two spaces\n\n")
    assert message.data == " two spaces"


def test_it_ignores_unknown_fields_and_a_retry_that_is_not_a_number():
    [message] = messages(b"foo: bar\nretry: soon\ndata: x\n\n")
    assert message.retry is None


def test_an_id_containing_null_is_ignored():
    [message] = messages(b"id: 1\n\nid: 2\x003\ndata: x\n\n")
    assert message.id == "1"


def test_the_event_type_resets_after_each_dispatch():
    first, second = messages(b"event: a\ndata: 1\n\ndata: 2\n\n")
    assert (first.event, second.event) == ("a", "message")


def test_an_event_with_no_data_is_not_dispatched():
    assert messages(b"event: ping\n\n") == []


def test_an_unterminated_event_at_the_end_is_dropped():
    parser = SSEParser()
    assert parser.feed(b"data: never finished") == []
    assert parser.finish() == []


def test_it_tells_when_the_stream_ended_inside_an_event():
    parser = SSEParser()
    parser.feed(b"data: a\n")
    assert parser.has_pending_event


def test_invalid_utf8_is_replaced_and_noticed():
    parser = SSEParser()
    [message] = parser.feed(b"data: \xff\xfe ok\n\n")
    assert message.data.endswith(" ok")
    assert parser.invalid_utf8


def test_a_line_longer_than_the_limit_stops_before_it_is_buffered():
    parser = SSEParser(max_line_bytes=1000)
    parser.feed(b"data: " + b"a" * 900)
    with pytest.raises(TooLong):
        parser.feed(b"a" * 200)


def test_many_short_data_lines_in_one_event_hit_the_limit_too():
    parser = SSEParser(max_line_bytes=1000)
    with pytest.raises(TooLong):
        parser.feed(b"data: 0123456789\n" * 200)


def test_the_line_splitter_keeps_at_most_the_limit_in_memory():
    splitter = LineSplitter(max_line_bytes=10)
    assert splitter.feed(b"12345") == []
    with pytest.raises(TooLong):
        splitter.feed(b"678901")


SSE_ALPHABET = st.sampled_from([b"data: x", b"data:", b"event: e", b"id: 1", b":c", b"retry: 5", b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xc3\xa9", b"data", b" "])


@st.composite
def sse_bytes_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = b"".join(draw(st.lists(SSE_ALPHABET, max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=10)))
    return data, cuts


@given(sse_bytes_and_cuts())
@settings(max_examples=300, deadline=None)
def test_any_chunking_of_the_same_bytes_gives_the_same_events(case: tuple[bytes, list[int]]):
    data, cuts = case
    bounds = [0, *cuts, len(data)]
    chunks = [data[start:end] for start, end in pairwise(bounds)]
    assert parse(*chunks) == parse(data)


@given(st.lists(st.binary(max_size=64), max_size=20))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_raise(chunks: list[bytes]):
    parse(*chunks)


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_byte_by_byte_feeding_matches_feeding_at_once(data: bytes):
    assert parse(*(data[i : i + 1] for i in range(len(data)))) == parse(data)


def reference_parse(data: bytes) -> list[SSEMessage | SSEComment]:
    """The spec read literally over the whole stream at once: decode, drop one
    BOM, split lines, apply fields. The incremental parser must agree."""
    import re

    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    *lines, partial = re.split(r"\r\n|\r|\n", text)
    items: list[SSEMessage | SSEComment] = []
    event_type, data_lines, last_id, retry = "", [], "", None
    for line in lines:
        if line == "":
            if data_lines:
                items.append(SSEMessage(event_type or "message", "\n".join(data_lines), last_id, retry))
            event_type, data_lines = "", []
        elif line.startswith(":"):
            items.append(SSEComment(line[1:]))
        else:
            name, colon, value = line.partition(":")
            value = value[1:] if colon and value.startswith(" ") else value
            if name == "event":
                event_type = value
            elif name == "data":
                data_lines.append(value)
            elif name == "id" and "\x00" not in value:
                last_id = value
            elif name == "retry" and value.isascii() and value.isdigit():
                retry = int(value)
    if partial.startswith(":"):
        items.append(SSEComment(partial[1:]))
    return items


@given(sse_bytes_and_cuts())
@settings(max_examples=500, deadline=None)
def test_the_incremental_parser_agrees_with_a_literal_reading_of_the_spec(case: tuple[bytes, list[int]]):
    data, cuts = case
    bounds = [0, *cuts, len(data)]
    assert parse(*(data[start:end] for start, end in pairwise(bounds))) == reference_parse(data)


# Whole events as most streams send them, and the pieces that break such a run
# up: the parser reads a run of plain `data: ` events in bulk, and must read it
# exactly as the line-by-line rules do, wherever the run starts, stops or is cut.
PLAIN_EVENT_ALPHABET = st.sampled_from(
    [
        b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n',
        b"data: x\n\n",
        b"data: \n\n",
        b"data: caf\xc3\xa9\n\n",
        b"data: data: y\n\n",
        b"data:  two spaces\n\n",
        b"data:x\n\n",
        b"data: a\ndata: b\n\n",
        b"event: e\n",
        b"id: 7\n",
        b"retry: 5\n",
        b": ping\n\n",
        b"data: x",
        b"\n",
        b"\r",
        b"\r\n",
        b"\xff",
        b"\xef\xbb\xbf",
    ]
)


@st.composite
def plain_runs_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = b"".join(draw(st.lists(PLAIN_EVENT_ALPHABET, max_size=30)))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=6)))
    return data, cuts


def chunks_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[start:end] for start, end in pairwise(bounds)]


@given(plain_runs_and_cuts())
@settings(max_examples=500, deadline=None)
def test_runs_of_plain_events_read_in_bulk_agree_with_the_line_by_line_reading(case: tuple[bytes, list[int]]):
    data, cuts = case
    # One byte at a time never holds a whole event, so that reading is line by line throughout.
    one_by_one = parse(*(data[i : i + 1] for i in range(len(data))))
    assert parse(*chunks_at(data, cuts)) == one_by_one == reference_parse(data)


def outcome(chunks: list[bytes], max_line_bytes: int) -> list[SSEMessage | SSEComment] | str:
    try:
        return parse(*chunks, max_line_bytes=max_line_bytes)
    except TooLong as too_long:
        return too_long.what


@given(plain_runs_and_cuts(), st.integers(min_value=1, max_value=120))
@settings(max_examples=300, deadline=None)
def test_limits_hold_the_same_in_bulk_and_line_by_line(case: tuple[bytes, list[int]], max_line_bytes: int):
    data, cuts = case
    one_by_one = outcome([data[i : i + 1] for i in range(len(data))], max_line_bytes)
    assert outcome(chunks_at(data, cuts), max_line_bytes) == one_by_one


def test_compact_items_carry_what_messages_carry():
    data = b"id: 3\nretry: 10\n\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\n: hb\n\n"
    compact = SSEParser().feed_compact(data)
    assert compact == [("message", "a", "3", 10), ("message", "b", "3", 10), ("e", "c", "3", 10), SSEComment(" hb")]
    assert [SSEMessage(*item) if isinstance(item, tuple) else item for item in compact] == SSEParser().feed(data)

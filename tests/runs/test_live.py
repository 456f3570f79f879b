"""What a run page shows, folded from numbered events, and the drawn timeline."""

from __future__ import annotations

from typing import Any

from troubleshooter.runs.live import (
    MAX_POINTS_PER_LANE,
    MAX_TEXT_CHARS,
    LiveState,
    draw,
)


def numbered(payloads: list[dict[str, Any]], start: int = 1, stream: str = "stream") -> list[dict[str, Any]]:
    return [{"stream": stream, **payload, "seq": seq} for seq, payload in enumerate(payloads, start=start)]


def healthy_events(words: list[str], gap: float = 0.1) -> list[dict[str, Any]]:
    payloads: list[dict[str, Any]] = [
        {"type": "request", "t": 0.0, "at": 0.0},
        {"type": "response", "t": 0.05, "status": 200, "headers": {"Content-Type": "text/event-stream"}},
    ]
    for index, word in enumerate(words):
        t = 0.1 + index * gap
        payloads.append({"type": "chunk", "t": t, "size": 10, "index": index})
        payloads.append({"type": "event", "kind": "content", "t": t, "text": word})
    payloads.append({"type": "event", "kind": "terminal", "t": 0.1 + len(words) * gap})
    payloads.append({"type": "end", "kind": "terminal-event", "t": 0.1 + len(words) * gap, "reason": ""})
    return numbered(payloads)


def test_it_counts_chunks_bytes_and_content_and_keeps_the_text():
    state = LiveState(["stream"])
    state.apply(healthy_events(["Hello", " world"]))
    lane = state.lanes["stream"]
    assert (lane.chunks, lane.bytes, lane.content_events, lane.status) == (2, 20, 2, 200)
    assert lane.text == "Hello world"
    assert lane.ending == "terminal-event" and lane.state == "ended"
    assert lane.first_byte == 0.1
    assert state.totals()["events"] == 3


def test_replaying_events_a_viewer_already_has_changes_nothing():
    events = healthy_events(["a", "b", "c"])
    state = LiveState(["stream"])
    state.apply(events[:5])
    state.apply(events)  # a replay that overlaps what was applied
    state.apply(events[3:])
    assert state.lanes["stream"].text == "abc"
    assert state.lanes["stream"].chunks == 3
    assert state.last_seq == events[-1]["seq"]


def test_text_after_a_sequence_number_holds_only_the_newer_pieces():
    events = healthy_events(["one ", "two ", "three"])
    state = LiveState(["stream"])
    state.apply(events)
    second_content = next(e["seq"] for e in events if e.get("text") == "two ")
    assert state.lanes["stream"].text_after(second_content - 1) == "two three"
    assert state.lanes["stream"].text_after(events[-1]["seq"]) == ""


def test_a_flood_of_text_is_counted_but_only_the_start_is_kept():
    big = "x" * 1000
    state = LiveState(["stream"])
    state.apply(numbered([{"type": "event", "kind": "content", "t": 0.1, "text": big} for _ in range(150)]))
    lane = state.lanes["stream"]
    assert len(lane.text) == MAX_TEXT_CHARS
    assert lane.text_chars == 150_000
    assert lane.text_truncated


def test_heartbeats_errors_and_finish_reasons_are_noted():
    state = LiveState(["stream"])
    state.apply(numbered([
        {"type": "event", "kind": "comment", "t": 0.1, "text": "keep-alive"},
        {"type": "event", "kind": "ping", "t": 0.2},
        {"type": "event", "kind": "finish", "t": 0.3, "finish_reason": "length"},
        {"type": "event", "kind": "error", "t": 0.4, "detail": "overloaded_error: Overloaded"},
    ]))
    lane = state.lanes["stream"]
    assert lane.heartbeats == 2
    assert lane.finish_reason == "length"
    assert lane.errors == ["overloaded_error: Overloaded"]


def test_events_of_parallel_streams_go_to_their_own_lanes_in_the_plan_order():
    state = LiveState(["alone", "stream 1", "stream 2"])
    events = [
        {"type": "request", "t": 0.0, "at": 1.5, "stream": "stream 2", "seq": 1},
        {"type": "chunk", "t": 0.2, "size": 5, "stream": "stream 2", "seq": 2},
        {"type": "chunk", "t": 0.1, "size": 7, "stream": "alone", "seq": 3},
    ]
    state.apply(events)
    assert [lane.label for lane in state.ordered_lanes] == ["alone", "stream 1", "stream 2"]
    assert state.lanes["stream 2"].start == 1.5
    assert state.lanes["stream 1"].state == "waiting"
    assert state.elapsed() == 1.7


def test_the_timeline_has_a_tick_per_chunk_and_a_rising_line():
    state = LiveState(["stream"])
    state.apply(healthy_events(["a", "b", "c", "d"]))
    drawing = draw(state)
    lane = drawing.lanes[0]
    assert lane.ticks.count("M") == 4
    ys = [float(point.split(",")[1]) for point in lane.points.split()]
    assert ys == sorted(ys, reverse=True)  # cumulative bytes only go up (y goes down)
    assert ys[-1] == lane.baseline - (lane.height - 14)
    assert lane.end_x is not None and lane.ending == "terminal-event"


def test_a_long_silence_before_a_cut_is_marked_with_its_length():
    payloads = [
        {"type": "request", "t": 0.0, "at": 0.0},
        {"type": "chunk", "t": 0.1, "size": 10},
        {"type": "chunk", "t": 0.2, "size": 10},
        {"type": "end", "kind": "clean-close", "t": 62.2, "reason": "closed"},
    ]
    state = LiveState(["stream"])
    state.apply(numbered(payloads))
    gaps = draw(state).lanes[0].gaps
    assert [gap.label for gap in gaps] == ["62.0 s"]


def test_a_live_run_stretches_the_axis_to_now_so_a_silence_is_seen_growing():
    state = LiveState(["stream"])
    state.apply(numbered([{"type": "request", "t": 0.0, "at": 0.0}, {"type": "chunk", "t": 0.1, "size": 10}]))
    drawing = draw(state, now=5.0)
    assert drawing.duration == 5.0
    assert drawing.axis_ticks[-1][1] == "5 s"
    assert [gap.label for gap in drawing.lanes[0].gaps] == ["4.9 s"]


def test_a_buffered_stream_shows_one_jump_at_the_end():
    payloads = [{"type": "request", "t": 0.0, "at": 0.0}]
    payloads += [{"type": "chunk", "t": 9.8 + i * 0.001, "size": 100} for i in range(3)]
    state = LiveState(["stream"])
    state.apply(numbered(payloads))
    lane = draw(state).lanes[0]
    assert [gap.label for gap in lane.gaps] == ["9.8 s"]
    assert lane.first_byte_x is not None and lane.first_byte_x > 700
    # Flat at zero until the burst, then straight up: a step, never a ramp.
    points = [tuple(map(float, point.split(","))) for point in lane.points.split()]
    before_burst = [y for x, y in points if x < lane.first_byte_x]
    assert before_burst and set(before_burst) == {float(lane.baseline)}


def test_thousands_of_chunks_are_thinned_to_a_bounded_number_of_points():
    payloads = [{"type": "chunk", "t": i * 0.001, "size": 1} for i in range(20_000)]
    state = LiveState(["stream"])
    state.apply(numbered(payloads))
    lane = draw(state).lanes[0]
    assert len(lane.points.split()) <= MAX_POINTS_PER_LANE + 2
    assert lane.ticks.count("M") <= 800  # one per pixel column at most


def test_many_lanes_are_drawn_compact_and_two_lanes_tall():
    many = LiveState([f"stream {i}" for i in range(10)])
    two = LiveState(["direct", "through the proxy"])
    assert draw(many).lanes[0].height < draw(two).lanes[0].height
    assert draw(many).height > draw(two).height

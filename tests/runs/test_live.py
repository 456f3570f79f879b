"""What a run page shows, folded from numbered events, and the drawn timeline."""

from __future__ import annotations

from typing import Any

from troubleshooter.runs.live import (
    LABEL_BAND,
    MAX_POINTS_PER_LANE,
    MAX_TEXT_CHARS,
    NARROW_CHART_WIDTH,
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
    assert ys[-1] == lane.baseline - (lane.height - 14 - LABEL_BAND)  # the name and totals sit above
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


def compare_events(second_started: bool = True) -> list[dict]:
    """A direct lane that streams for 1.5 s, then (from 1.6 s into the run) the same request
    through a proxy whose one chunk comes 1.53 s after its own request."""
    payloads = [{"type": "request", "t": 0.0, "at": 0.0, "stream": "direct"}]
    payloads += [{"type": "chunk", "t": 0.1 * i, "size": 10, "stream": "direct"} for i in range(1, 16)]
    payloads += [{"type": "end", "kind": "terminal-event", "t": 1.5, "reason": "", "stream": "direct"}]
    if second_started:
        payloads += [
            {"type": "request", "t": 0.0, "at": 1.6, "stream": "through the proxy"},
            {"type": "chunk", "t": 1.53, "size": 150, "stream": "through the proxy"},
            {"type": "end", "kind": "terminal-event", "t": 1.54, "reason": "", "stream": "through the proxy"},
        ]
    return [{**payload, "seq": index} for index, payload in enumerate(payloads, start=1)]


def test_lanes_run_one_after_another_are_each_drawn_from_their_own_request():
    state = LiveState(["direct", "through the proxy"])
    state.apply(compare_events())
    drawing = draw(state)
    direct, proxied = drawing.lanes
    assert drawing.duration == 1.54  # the longer lane, not the run's 3.1 s
    assert direct.start_x == proxied.start_x == drawing.plot_left
    # The proxy's chunk is drawn where its own first byte was: 1.53 s after its request.
    span = drawing.plot_right - drawing.plot_left
    assert proxied.first_byte_x == round(drawing.plot_left + 1.53 / 1.54 * span, 1)


def test_a_lane_not_yet_started_is_left_empty_instead_of_shown_silent():
    state = LiveState(["direct", "through the proxy"])
    state.apply(compare_events(second_started=False))
    waiting = draw(state, now=2.9).lanes[1]
    assert waiting.gaps == [] and waiting.points == "" and waiting.caption == "waiting for its turn"


def test_end_marks_take_the_colour_of_each_lanes_verdict_once_it_is_known():
    state = LiveState(["direct", "through the proxy"])
    state.apply(compare_events())
    assert [lane.end_mark for lane in draw(state).lanes] == ["", ""]
    judged = draw(state, outcomes={"direct": "healthy", "through the proxy": "buffered"})
    assert [lane.end_mark for lane in judged.lanes] == ["ok", "problem"]


def test_the_narrow_drawing_for_phones_has_fewer_axis_labels():
    state = LiveState(["stream"])
    state.apply(healthy_events(["a", "b", "c", "d"]))
    wide, narrow = draw(state, now=17.0), draw(state, now=17.0, width=NARROW_CHART_WIDTH)
    assert narrow.width == NARROW_CHART_WIDTH and len(narrow.axis_ticks) <= 5 < len(wide.axis_ticks)

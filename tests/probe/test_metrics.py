import json

import pytest

from tests.probe.servers import make_record, steady_stream
from troubleshooter.probe.metrics import (
    analyse_overlap,
    burst_chunk_count,
    densest_window,
    max_share_in_window,
    measure,
    percentile,
    share_in_last_part,
)
from troubleshooter.probe.record import Event, Read


def test_it_measures_first_byte_first_content_duration_and_sizes():
    record = make_record(
        reads=[(0.30, 100), (0.50, 200), (0.90, 300)],
        events=[(0.30, "meta"), (0.50, "content"), (0.90, "content"), (0.90, "terminal")],
        ending=("terminal-event", 1.0),
        facts={"decoded_bytes": 1200},
    )
    metrics = measure(record)
    assert metrics.time_to_first_byte == 0.30
    assert metrics.time_to_first_content == 0.50
    assert metrics.duration == 1.0
    assert (metrics.bytes, metrics.decoded_bytes, metrics.chunk_count) == (600, 1200, 3)
    assert (metrics.event_count, metrics.content_event_count, metrics.content_chars) == (4, 2, 2)
    assert metrics.terminal_seen
    assert metrics.gap_before_end == pytest.approx(0.1)
    assert metrics.gap_max == pytest.approx(0.4)


def test_percentiles_interpolate_between_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 99) == 5
    assert percentile([], 50) is None
    assert percentile(list(range(101)), 95) == 95


def test_gap_percentiles_come_from_the_time_between_reads():
    reads, events = steady_stream(11, gap=0.05)
    metrics = measure(make_record(reads=reads, events=events, ending=("clean-close", 0.7)))
    assert metrics.gap_p50 == pytest.approx(0.05)
    assert metrics.gap_p99 == pytest.approx(0.05)


def test_a_stream_that_arrives_at_once_has_all_its_bytes_in_one_10_ms_window():
    reads = [Read(9.8 + i * 0.0001, 100) for i in range(20)]
    assert max_share_in_window(reads, 0.010) == 1.0
    window = densest_window(reads)
    assert window.reads == 20 and window.start == pytest.approx(9.8)


def test_a_steady_stream_has_a_small_share_in_any_10_ms_window():
    reads = [Read(i * 0.05, 100) for i in range(20)]
    assert max_share_in_window(reads, 0.010) == pytest.approx(0.05)


def test_the_share_in_the_last_5_percent_catches_end_loaded_streams():
    reads = [Read(0.1, 10), Read(9.9, 990)]
    assert share_in_last_part(reads, 10.0, 0.05) == pytest.approx(0.99)


def test_burst_chunks_are_reads_within_5_ms_of_a_neighbour():
    reads = [Read(0.0, 1), Read(0.002, 1), Read(0.004, 1), Read(0.5, 1), Read(1.0, 1), Read(1.001, 1)]
    assert burst_chunk_count(reads, 0.005) == 5


def test_reads_of_proxy_buffer_sizes_are_counted():
    metrics = measure(make_record(reads=[(1.0, 4096), (2.0, 8192), (2.5, 100)]))
    assert metrics.buffer_sized_chunk_count == 2
    assert metrics.buffer_sized_share == pytest.approx(12288 / 12388)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 3, "completion_tokens": 7}, (3, 7)),
        ({"input_tokens": 4, "output_tokens": 9}, (4, 9)),
        ({"prompt_eval_count": 2, "eval_count": 5}, (2, 5)),
    ],
)
def test_tokens_come_from_whatever_usage_the_server_sent(usage, expected):
    record = make_record(events=[Event(kind="usage", t=1.0, usage=usage)])
    metrics = measure(record)
    assert (metrics.input_tokens, metrics.output_tokens) == expected


def test_the_finish_reason_is_the_last_one_reported():
    record = make_record(events=[Event(kind="finish", t=1.0, finish_reason="length")])
    assert measure(record).finish_reason == "length"


def test_metrics_of_an_empty_record_do_not_fail():
    metrics = measure(make_record(ending=("connect-error", 0.2), time_to_headers=None))
    assert metrics.time_to_first_byte is None and metrics.gap_p50 is None and metrics.gap_before_end is None
    json.dumps(metrics.to_dict())


def parallel_records(first_bytes: list[float], length: float, start_spread: float = 0.0):
    records = []
    for index, first in enumerate(first_bytes):
        reads = [(first + step * length / 4, 50) for step in range(5)]
        records.append(make_record(reads=reads, ending=("terminal-event", first + length + 0.01), started_monotonic=100 + index * start_spread))
    return records


def test_streams_that_ran_together_overlap():
    analysis = analyse_overlap(parallel_records([0.1, 0.1, 0.11, 0.12], length=1.0))
    assert analysis.max_overlap == 4
    assert not analysis.ran_serially
    assert len(analysis.first_byte_steps) == 1


def test_streams_that_queued_behind_one_worker_ran_serially_in_steps():
    analysis = analyse_overlap(parallel_records([0.1, 1.2, 2.3, 3.4], length=1.0))
    assert analysis.max_overlap == 1
    assert analysis.ran_serially
    assert [len(step) for step in analysis.first_byte_steps] == [1, 1, 1, 1]


def test_two_workers_show_as_steps_of_two():
    analysis = analyse_overlap(parallel_records([0.1, 0.1, 1.2, 1.2, 2.3, 2.3], length=1.0))
    assert [len(step) for step in analysis.first_byte_steps] == [2, 2, 2]
    assert analysis.max_overlap == 2


def test_parallel_runs_are_placed_on_one_time_axis():
    analysis = analyse_overlap(parallel_records([0.1, 0.1], length=1.0, start_spread=2.0))
    assert analysis.streams[1].first_byte == pytest.approx(2.1)
    assert analysis.ran_serially


def test_rates_around_a_size_compare_throughput_before_and_after_it():
    from troubleshooter.probe.metrics import rates_around

    reads = [Read(t=0.1 + i * 0.1, size=1000) for i in range(10)] + [Read(t=1.0 + i, size=1000) for i in range(1, 4)]
    rates = rates_around(reads, 5000)
    assert rates.crossed_at == pytest.approx(0.5)
    assert rates.before == pytest.approx(5000 / 0.4)
    assert rates.after == pytest.approx(8000 / 3.5)
    assert rates.bytes_after == 8000
    assert rates_around(reads, 10**6) is None
    assert rates_around(reads[:5], 5000) is None  # nothing came after the size was reached

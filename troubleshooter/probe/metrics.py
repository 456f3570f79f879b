"""Measurements: pure functions of a Record.

Nothing here touches the network or the clock, so every number a verdict
quotes can be recomputed from a stored run, and tested on hand-built records.
Times are seconds since the request started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .record import Read, Record

# Reads closer together than this arrived "at once": no model emits tokens
# that fast, but a buffer being flushed does.
BURST_GAP_SECONDS = 0.005
WINDOW_SECONDS = 0.010
LAST_SHARE_OF_DURATION = 0.05
# Proxies flush in blocks of their buffer size (nginx: 4 or 8 KiB by default;
# larger blocks for bigger buffers). 64 KiB is left out: it is also the size
# of one full socket read here, so it says nothing about the server side.
BUFFER_BLOCK_SIZES = frozenset({4096, 8192, 16384, 32768})


@dataclass(frozen=True)
class Metrics:
    time_to_headers: float | None
    time_to_first_byte: float | None
    time_to_first_content: float | None
    duration: float
    request_sent: float | None  # when the request was fully sent
    duration_since_sent: float  # what a server's own clock would measure
    bytes: int
    decoded_bytes: int
    chunk_count: int
    event_count: int
    content_event_count: int
    content_chars: int
    comment_count: int  # SSE comments: heartbeats
    error_event_count: int
    output_tokens: int | None  # as reported by the usage the server sent
    input_tokens: int | None
    gap_p50: float | None
    gap_p95: float | None
    gap_p99: float | None
    gap_max: float | None
    gap_before_end: float | None  # silence between the last read and the end
    arrival_spread: float | None  # first read to last read
    content_spread: float | None  # first content event to last
    share_in_last_5_percent: float  # of bytes, in the last 5% of the duration
    max_share_in_10_ms: float  # largest share of bytes in any 10 ms window
    burst_chunk_count: int  # reads that came within 5 ms of a neighbour
    buffer_sized_chunk_count: int  # reads of exactly 4, 8, 16 or 32 KiB
    buffer_sized_share: float  # share of bytes that came in such reads
    terminal_seen: bool
    finish_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def measure(record: Record) -> Metrics:
    reads = sorted(record.reads, key=lambda read: read.t)
    content = [event for event in record.events if event.kind == "content"]
    gaps = read_gaps(reads)
    duration = record.ending.t if record.ending else (reads[-1].t if reads else 0.0)
    input_tokens, output_tokens = token_counts(record)
    request_sent = record.facts.get("milestones", {}).get("request_sent")
    return Metrics(
        time_to_headers=record.time_to_headers,
        time_to_first_byte=reads[0].t if reads else None,
        time_to_first_content=content[0].t if content else None,
        duration=duration,
        request_sent=request_sent,
        duration_since_sent=duration - (request_sent or 0.0),
        bytes=sum(read.size for read in reads),
        decoded_bytes=int(record.facts.get("decoded_bytes", 0)),
        chunk_count=len(reads),
        event_count=len(record.events),
        content_event_count=len(content),
        content_chars=sum(len(event.text) for event in content),
        comment_count=sum(1 for event in record.events if event.kind == "comment"),
        error_event_count=sum(1 for event in record.events if event.kind == "error"),
        output_tokens=output_tokens,
        input_tokens=input_tokens,
        gap_p50=percentile(gaps, 50),
        gap_p95=percentile(gaps, 95),
        gap_p99=percentile(gaps, 99),
        gap_max=max(gaps) if gaps else None,
        gap_before_end=gap_before_end(record),
        arrival_spread=reads[-1].t - reads[0].t if reads else None,
        content_spread=content[-1].t - content[0].t if content else None,
        share_in_last_5_percent=share_in_last_part(reads, duration, LAST_SHARE_OF_DURATION),
        max_share_in_10_ms=max_share_in_window(reads, WINDOW_SECONDS),
        burst_chunk_count=burst_chunk_count(reads, BURST_GAP_SECONDS),
        buffer_sized_chunk_count=sum(1 for read in reads if read.size in BUFFER_BLOCK_SIZES),
        buffer_sized_share=_share(sum(read.size for read in reads if read.size in BUFFER_BLOCK_SIZES), reads),
        terminal_seen=any(event.kind == "terminal" for event in record.events),
        finish_reason=finish_reason(record),
    )


def _share(part: int, reads: Sequence[Read]) -> float:
    total = sum(read.size for read in reads)
    return part / total if total else 0.0


def read_gaps(reads: Sequence[Read]) -> list[float]:
    return [later.t - earlier.t for earlier, later in pairwise(reads)]


def percentile(values: Sequence[float], percent: float) -> float | None:
    """Linear interpolation between closest ranks (what numpy does by default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * percent / 100
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def gap_before_end(record: Record) -> float | None:
    if record.ending is None:
        return None
    last_sign_of_life = record.reads[-1].t if record.reads else record.time_to_headers
    if last_sign_of_life is None:
        return None
    return max(record.ending.t - last_sign_of_life, 0.0)


def share_in_last_part(reads: Sequence[Read], duration: float, part: float) -> float:
    total = sum(read.size for read in reads)
    if not total or duration <= 0:
        return 0.0
    start = duration * (1 - part)
    return sum(read.size for read in reads if read.t >= start) / total


def max_share_in_window(reads: Sequence[Read], window: float) -> float:
    """The largest share of all bytes that arrived within any `window` seconds."""
    total = sum(read.size for read in reads)
    densest = densest_window(reads, window)
    return densest.bytes / total if densest and total else 0.0


@dataclass(frozen=True)
class Window:
    """The densest stretch of a stream: where most bytes arrived together."""

    reads: int
    bytes: int
    start: float
    span: float  # first to last read inside the window


def densest_window(reads: Sequence[Read], window: float = WINDOW_SECONDS) -> Window | None:
    if not reads:
        return None
    best = Window(0, -1, 0.0, 0.0)
    in_window = 0
    first = 0
    for last, read in enumerate(reads):
        in_window += read.size
        while read.t - reads[first].t > window:
            in_window -= reads[first].size
            first += 1
        if in_window > best.bytes:
            best = Window(last - first + 1, in_window, reads[first].t, read.t - reads[first].t)
    return best


def burst_chunk_count(reads: Sequence[Read], burst_gap: float) -> int:
    """How many reads arrived within `burst_gap` of the read before or after."""
    in_burst = [False] * len(reads)
    for index in range(1, len(reads)):
        if reads[index].t - reads[index - 1].t <= burst_gap:
            in_burst[index] = in_burst[index - 1] = True
    return sum(in_burst)


@dataclass(frozen=True)
class RatesAround:
    """Throughput before and after a stream passed a given size."""

    threshold: int
    crossed_at: float  # when the threshold was passed
    before: float  # bytes per second, first read to the crossing
    after: float  # bytes per second, the crossing to the last read
    bytes_after: int


def rates_around(reads: Sequence[Read], threshold: int) -> RatesAround | None:
    """None when the stream never passed `threshold` bytes, or nothing came after."""
    ordered = sorted(reads, key=lambda read: read.t)
    total = 0
    for index, read in enumerate(ordered):  # noqa: B007 - index is read after the loop
        total += read.size
        if total >= threshold:
            break
    else:
        return None
    crossed_at, rest = ordered[index].t, ordered[index + 1 :]
    if not rest or crossed_at <= ordered[0].t or rest[-1].t <= crossed_at:
        return None
    bytes_after = sum(read.size for read in rest)
    return RatesAround(
        threshold=threshold,
        crossed_at=crossed_at,
        before=total / (crossed_at - ordered[0].t),
        after=bytes_after / (rest[-1].t - crossed_at),
        bytes_after=bytes_after,
    )


def token_counts(record: Record) -> tuple[int | None, int | None]:
    """(input, output) tokens from the last usage report of each kind."""
    input_tokens = output_tokens = None
    for event in record.events:
        if event.kind != "usage" or not event.usage:
            continue
        usage = event.usage
        for key in ("prompt_tokens", "input_tokens", "prompt_eval_count"):
            if key in usage:
                input_tokens = usage[key]
        for key in ("completion_tokens", "output_tokens", "eval_count"):
            if key in usage:
                output_tokens = usage[key]
    return input_tokens, output_tokens


def finish_reason(record: Record) -> str | None:
    reasons = [event.finish_reason for event in record.events if event.finish_reason]
    return reasons[-1] if reasons else None


# --- several runs of the same request at once ---------------------------------

# First bytes further apart than this (or than half a stream's length, if
# longer) belong to different "steps": requests that waited for a free worker.
STEP_MIN_SECONDS = 0.15


@dataclass(frozen=True)
class StreamTiming:
    """One stream of a parallel run, on the run's shared time axis."""

    start: float
    first_byte: float | None
    last_byte: float | None
    end: float
    ending: str
    median_gap: float | None


@dataclass(frozen=True)
class OverlapAnalysis:
    streams: list[StreamTiming]
    max_overlap: int  # most streams receiving at the same moment
    ran_serially: bool  # every stream started receiving only after the previous ended
    first_byte_steps: list[list[float]]  # first-byte times, grouped into steps
    baseline_first_byte: float | None = None  # the same request alone, before
    baseline_median_gap: float | None = None
    baseline_ending: str | None = None

    @property
    def n(self) -> int:
        return len(self.streams)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"n": self.n}


def stream_timing(record: Record, origin: float) -> StreamTiming:
    offset = record.started_monotonic - origin
    reads = sorted(record.reads, key=lambda read: read.t)
    end = record.ending.t if record.ending else (reads[-1].t if reads else 0.0)
    return StreamTiming(
        start=offset,
        first_byte=offset + reads[0].t if reads else None,
        last_byte=offset + reads[-1].t if reads else None,
        end=offset + end,
        ending=record.ending.kind if record.ending else "none",
        median_gap=percentile(read_gaps(reads), 50),
    )


def analyse_overlap(records: Sequence[Record], baseline: Record | None = None) -> OverlapAnalysis:
    """Did parallel copies of one request really run in parallel, or queue?"""
    origin = min((record.started_monotonic for record in records), default=0.0)
    streams = [stream_timing(record, origin) for record in records]
    # A stream is "receiving" from its first byte to its last one; its end
    # (the close) may trail the next stream's first byte by a hair.
    receiving = sorted(
        (stream.first_byte, stream.last_byte)
        for stream in streams
        if stream.first_byte is not None and stream.last_byte is not None
    )
    baseline_timing = stream_timing(baseline, baseline.started_monotonic) if baseline else None
    return OverlapAnalysis(
        streams=streams,
        max_overlap=_max_overlap(receiving),
        ran_serially=len(receiving) > 1
        and all(later[0] >= earlier[1] for earlier, later in pairwise(receiving)),
        first_byte_steps=_first_byte_steps(streams),
        baseline_first_byte=baseline_timing.first_byte if baseline_timing else None,
        baseline_median_gap=baseline_timing.median_gap if baseline_timing else None,
        baseline_ending=baseline_timing.ending if baseline_timing else None,
    )


def _max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    moments = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # An end and a start at the same instant do not overlap: ends sort first.
    current = best = 0
    for _, change in moments:
        current += change
        best = max(best, current)
    return best


def _first_byte_steps(streams: Sequence[StreamTiming]) -> list[list[float]]:
    first_bytes = sorted(stream.first_byte for stream in streams if stream.first_byte is not None)
    if not first_bytes:
        return []
    lengths = sorted(stream.end - stream.first_byte for stream in streams if stream.first_byte is not None)
    threshold = max(STEP_MIN_SECONDS, 0.5 * (percentile(lengths, 50) or 0.0))
    steps: list[list[float]] = [[first_bytes[0]]]
    for previous, current in pairwise(first_bytes):
        if current - previous > threshold:
            steps.append([])
        steps[-1].append(current)
    return steps

"""What a viewer of a run sees, rebuilt from the run's numbered events.

Plain Python, no Django: the page, the websocket consumer and the finished permalink all
fold the same events into a LiveState and draw it the same way, so a viewer who joins late
sees exactly what one who watched from the start sees.

The events are the experiment's live events as `troubleshooter.probe.events` describes
them, numbered by the run's writer (`seq`); a lane's `request` event carries `at`, the
seconds since the run started, so that lanes that start later are drawn later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from troubleshooter.probe.events import LiveEvent, StreamEvent

# Text shown per lane; a flood of content past this is counted but not kept for the page.
MAX_TEXT_CHARS = 100_000
# A silence this long (and long relative to the whole run) is marked on the timeline.
MIN_MARKED_GAP_SECONDS = 1.0
MAX_POINTS_PER_LANE = 400

CHART_WIDTH = 800
# Phones get a drawing of their own, about as wide as their screen, so that its text is
# drawn at its own size instead of shrunk with an 800-unit drawing.
NARROW_CHART_WIDTH = 360
PLOT_MARGIN = 8
LABEL_BAND = 16  # above a tall lane's byte line: the lane's name and totals
RIGHT_MARGIN = 16
AXIS_HEIGHT = 26
TALL_LANE = 84  # one or two lanes: a chart of cumulative bytes each
SHORT_LANE = 30  # many lanes: compact bands, the picture is who waited for whom


@dataclass
class Lane:
    label: str
    start: float = 0.0  # seconds since the run started
    state: str = "waiting"  # waiting, connecting, receiving, ended
    status: int | None = None
    content_type: str = ""
    bytes: int = 0
    chunks: int = 0
    events: int = 0
    content_events: int = 0
    heartbeats: int = 0  # comments and pings: what keeps idle timeouts away
    errors: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    first_byte: float | None = None  # seconds since the lane started
    ending: str | None = None
    ending_reason: str = ""
    ended_at: float | None = None  # seconds since the lane started
    text_chars: int = 0
    pieces: list[tuple[int, str]] = field(default_factory=list)  # (seq, text) for the page
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (t since lane start, cumulative bytes)

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.pieces)

    @property
    def text_truncated(self) -> bool:
        return self.text_chars > MAX_TEXT_CHARS

    def text_after(self, seq: int) -> str:
        return "".join(text for piece_seq, text in self.pieces if piece_seq > seq)

    @property
    def waiting(self) -> bool:
        """Not started: its request has not gone out, and nothing has arrived."""
        return self.state == "waiting" and not self.arrivals

    @property
    def last_t(self) -> float:
        if self.ended_at is not None:
            return self.ended_at
        return self.arrivals[-1][0] if self.arrivals else 0.0


class LiveState:
    """Folds a run's events, in sequence order, into what the page shows."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.lanes: dict[str, Lane] = {label: Lane(label) for label in labels}
        self.last_seq = 0

    def apply(self, events: Iterable[LiveEvent]) -> None:
        for event in events:
            seq = event.get("seq", 0)
            if seq <= self.last_seq:
                continue  # already folded in: replays may overlap what a viewer has
            self.last_seq = seq
            self._apply_one(self._lane(event["stream"]), event, seq)

    def _lane(self, label: str) -> Lane:
        if label not in self.lanes:
            self.lanes[label] = Lane(label)
        return self.lanes[label]

    def _apply_one(self, lane: Lane, event: LiveEvent, seq: int) -> None:
        if event["type"] == "request":
            lane.state = "connecting"
            lane.start = event.get("at", 0.0)
        elif event["type"] == "response":
            lane.status = event["status"]
            lane.content_type = event["headers"].get("Content-Type", "")
            lane.state = "receiving"
        elif event["type"] == "chunk":
            t = event["t"]
            lane.chunks += 1
            lane.bytes += event["size"]
            if lane.first_byte is None:
                lane.first_byte = t
            lane.arrivals.append((t, lane.bytes))
        elif event["type"] == "event":
            self._apply_event(lane, event, seq)
        elif event["type"] == "end":
            lane.state = "ended"
            lane.ending = event["kind"]
            lane.ending_reason = event["reason"]
            lane.ended_at = event["t"]

    @staticmethod
    def _apply_event(lane: Lane, event: StreamEvent, seq: int) -> None:
        lane.events += 1
        event_kind = event["kind"]
        if event_kind == "content":
            text = event.get("text", "")
            lane.content_events += 1
            room = MAX_TEXT_CHARS - lane.text_chars
            if room > 0 and text:
                lane.pieces.append((seq, text[:room]))
            lane.text_chars += len(text)
        elif event_kind in ("comment", "ping"):
            lane.heartbeats += 1
        elif event_kind == "error":
            lane.errors.append(event.get("detail") or event.get("name") or "error")
        elif event_kind == "finish":
            lane.finish_reason = event.get("finish_reason")

    @property
    def ordered_lanes(self) -> list[Lane]:
        return list(self.lanes.values())

    def elapsed(self) -> float:
        """How far the recorded events reach, in seconds since the run started."""
        return max((lane.start + lane.last_t for lane in self.lanes.values()), default=0.0)

    def totals(self) -> dict[str, int]:
        lanes = self.lanes.values()
        return {
            "bytes": sum(lane.bytes for lane in lanes),
            "chunks": sum(lane.chunks for lane in lanes),
            "events": sum(lane.events for lane in lanes),
            "content_events": sum(lane.content_events for lane in lanes),
            "ended": sum(1 for lane in lanes if lane.state == "ended"),
            "lanes": len(self.lanes),
        }


# --- drawing -------------------------------------------------------------------


@dataclass
class Gap:
    x: float
    width: float
    label: str


@dataclass
class LaneDrawing:
    label: str
    top: float
    height: float
    baseline: float  # y of zero bytes
    label_y: float  # where a silence's length is written: mid-height, clear of the byte line
    points: str  # an SVG polyline of cumulative bytes
    ticks: str  # an SVG path: a short stroke under the line per chunk (one per pixel column)
    gaps: list[Gap]
    start_x: float
    first_byte_x: float | None
    end_x: float | None
    ending: str | None
    end_mark: str  # "ok" or "problem" once the lane's verdict is known, else ""
    caption: str


@dataclass
class Drawing:
    width: int
    height: int
    plot_left: float
    plot_right: float
    axis_y: float
    axis_ticks: list[tuple[float, str]]
    lanes: list[LaneDrawing]
    duration: float


def _nice_step(duration: float, target_ticks: int = 6) -> float:
    raw = max(duration, 1e-3) / target_ticks
    magnitude: float = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _seconds_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f} s"


def _human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def draw(state: LiveState, now: float | None = None, outcomes: Mapping[str, str] | None = None,
         width: int = CHART_WIDTH) -> Drawing:
    """The arrival timeline: per lane, cumulative bytes over time, a tick per chunk and
    the long silences marked. Each lane is timed from its own request, so lanes that ran one
    after another (a comparison, repeated runs) line up, and a lane not yet started is left
    empty rather than shown silent. `now` (seconds since the run started) stretches the
    axis while a run is live, so a silence is seen growing. `outcomes` (each lane's verdict,
    once the run is over) colour the end marks as the verdict does: green healthy, red not.
    `width` is the drawing's own width: a narrow drawing keeps its text legible on a phone."""
    lanes = state.ordered_lanes
    plot_left, plot_right = float(PLOT_MARGIN), float(width - RIGHT_MARGIN)
    span = plot_right - plot_left

    def lane_end(lane: Lane) -> float | None:
        if lane.ended_at is not None:
            return lane.ended_at
        if lane.waiting:
            return None
        return max(now - lane.start, lane.last_t) if now is not None else lane.last_t

    duration = max([end for lane in lanes if (end := lane_end(lane)) is not None] + [1e-3])

    def x_of(seconds: float) -> float:
        return round(plot_left + min(max(seconds / duration, 0.0), 1.0) * span, 1)

    lane_height = TALL_LANE if len(lanes) <= 2 else SHORT_LANE
    marked_gap = max(MIN_MARKED_GAP_SECONDS, duration / 40)
    drawings: list[LaneDrawing] = []
    for index, lane in enumerate(lanes):
        top = 8 + index * lane_height
        baseline = top + lane_height - 6
        usable = lane_height - 14 - LABEL_BAND if lane_height > SHORT_LANE else lane_height - 14
        end = lane_end(lane)
        points: list[tuple[float, float]] = [] if lane.waiting else [(plot_left, baseline)]
        for t, cumulative in _thin(lane.arrivals, duration):
            y = round(baseline - (cumulative / lane.bytes) * usable, 1) if lane.bytes else baseline
            x = x_of(t)
            # A step, not a ramp: nothing arrived between two chunks, and a buffered
            # stream must look flat until its one late burst.
            points.append((x, points[-1][1]))
            points.append((x, y))
        if end is not None and points:
            points.append((x_of(end), points[-1][1]))
        columns = sorted({round(x_of(t)) for t, _ in lane.arrivals})
        outcome = (outcomes or {}).get(lane.label)
        drawings.append(
            LaneDrawing(
                label=lane.label,
                top=top,
                height=lane_height,
                baseline=baseline,
                label_y=top + lane_height / 2 + 8,
                points=" ".join(f"{x},{y}" for x, y in points),
                ticks="".join(f"M{x} {baseline}v5" for x in columns),
                gaps=_gaps(lane, end, marked_gap, x_of) if end is not None else [],
                start_x=plot_left,
                first_byte_x=x_of(lane.first_byte) if lane.first_byte is not None else None,
                end_x=x_of(lane.ended_at) if lane.ended_at is not None else None,
                ending=lane.ending,
                end_mark="" if outcome is None else ("ok" if outcome == "healthy" else "problem"),
                caption=_caption(lane),
            )
        )
    axis_y = 8 + len(lanes) * lane_height + 4
    step = _nice_step(duration, target_ticks=max(3, round(span / 110)))
    axis_ticks = [
        (x_of(step * i), _seconds_label(step * i, step)) for i in range(int(duration / step) + 1)
    ]
    return Drawing(
        width=width,
        height=int(axis_y + AXIS_HEIGHT),
        plot_left=plot_left,
        plot_right=plot_right,
        axis_y=axis_y,
        axis_ticks=axis_ticks,
        lanes=drawings,
        duration=duration,
    )


def _thin(arrivals: list[tuple[float, int]], duration: float) -> list[tuple[float, int]]:
    """At most one arrival per column, the last (it carries the running total); each one
    becomes two points of the step line, so the columns are half the point budget."""
    columns_wanted = MAX_POINTS_PER_LANE // 2
    if len(arrivals) <= columns_wanted:
        return arrivals
    columns: dict[int, tuple[float, int]] = {}
    for t, cumulative in arrivals:
        columns[min(int(t / duration * columns_wanted), columns_wanted - 1)] = (t, cumulative)
    return [columns[key] for key in sorted(columns)]


def _gaps(lane: Lane, lane_end: float | None, marked: float, x_of: Any) -> list[Gap]:
    """Silences between arrivals, and from the last arrival to the end (or to now), on the
    lane's own clock."""
    times = [0.0, *(t for t, _ in lane.arrivals)]
    if lane_end is not None:
        times.append(lane_end)
    gaps: list[Gap] = []
    for earlier, later in pairwise(times):
        if later - earlier >= marked:
            x1, x2 = x_of(earlier), x_of(later)
            gaps.append(Gap(x=x1, width=max(x2 - x1, 1.0), label=f"{later - earlier:.1f} s"))
    return gaps


def _caption(lane: Lane) -> str:
    """A few words beside the lane's name."""
    if lane.waiting:
        return "waiting for its turn"
    return f"{_human_bytes(lane.bytes)}, {lane.chunks} chunk{'' if lane.chunks == 1 else 's'}"

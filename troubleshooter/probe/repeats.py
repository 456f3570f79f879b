"""The same request sent several times, one after another, and where each run was cut.

One cut stream cannot tell a limit on total time from a handler that crashed: both end
mid-stream with no terminal event. Several runs can. A limit cuts at the same elapsed time
whatever had arrived; something in the content cuts after the same amount of content
whenever it arrives; a fault that strikes at random (a shared client, a bad replica) cuts
anywhere, or only sometimes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from statistics import median

from .assessment import Assessment
from .diagnosis import Cause, Diagnosis, seconds
from .parallel import SEVERITY

MAX_REPEATS = 10
# Cut times this close together (absolute, or relative to their median) are "the same".
SAME_TIME_SECONDS = 0.25
SAME_TIME_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class CutPoint:
    label: str
    seconds: float
    content_events: int
    bytes: int

    def sentence(self) -> str:
        return (f"{self.label}: cut {seconds(self.seconds)} after the request was sent, after "
                f"{self.content_events} content events ({self.bytes:,} bytes)")


def cut_points(lanes: Sequence[Assessment]) -> list[CutPoint]:
    return [
        CutPoint(lane.label, lane.metrics.duration_since_sent, lane.metrics.content_event_count, lane.metrics.bytes)
        for lane in lanes if lane.verdict.outcome == "cut-off"
    ]


def _same_times(points: Sequence[CutPoint]) -> bool:
    times = [point.seconds for point in points]
    spread = max(times) - min(times)
    return spread <= max(SAME_TIME_SECONDS, SAME_TIME_SHARE * median(times))


def _same_amounts(points: Sequence[CutPoint]) -> bool:
    counts = {point.content_events for point in points}
    return (len(counts) == 1 and min(counts) > 0) or len({point.bytes for point in points}) == 1


def repeat_causes(lanes: Sequence[Assessment]) -> list[Cause]:
    """What the runs' cut points say, beside what each run said on its own."""
    points = cut_points(lanes)
    intact = len(lanes) - len(points)
    if not points:
        return []
    listed = "; ".join(point.sentence() for point in points)
    if intact:
        return [
            Cause("shared-client-race", 0.5, [
                f"{len(points)} of {len(lanes)} identical runs were cut and {intact} were not: {listed}",
                "a fault that strikes only sometimes: state shared between requests, or one bad replica of several",
            ]),
            Cause("multi-worker-routing", 0.45, [
                f"{len(points)} of {len(lanes)} identical runs were cut: if several replicas serve this address, "
                "the cut ones may all have reached the same one",
            ]),
        ]
    if len(points) < 2:
        return []
    same_time, same_amount = _same_times(points), _same_amounts(points)
    if same_time and not same_amount:
        return [Cause("request-timeout", 0.9, [
            f"every run was cut at the same elapsed time, whatever had arrived by then: {listed}",
            "a limit on a request's total time (a worker timeout, a gateway or platform limit) does this",
        ])]
    if same_amount and not same_time:
        return [Cause("callback-exception", 0.85, [
            f"every run was cut after the same amount of content, at different times: {listed}",
            "something in the content itself ends the stream: a handler or callback that raises on it, "
            "a filter, a parser",
        ])]
    if same_time and same_amount:
        return []  # a server this regular cannot be read this way: each run's own verdict stands
    return [Cause("shared-client-race", 0.55, [
        f"the runs were cut at scattered times and amounts: {listed}",
        "a limit would cut at one time and a content fault after one amount; scattered cuts point at a fault "
        "that strikes at random, such as state shared between concurrent requests",
    ])]


def diagnose_repeats(lanes: Sequence[Assessment]) -> tuple[Diagnosis, str, list[str]]:
    """One verdict for the runs (the worst outcome, led by the first run that had it), the
    label of that run, and one line per cut run for the report."""
    worst = min((lane.verdict.outcome for lane in lanes), key=SEVERITY.index)
    leading = next(lane for lane in lanes if lane.verdict.outcome == worst)
    found = repeat_causes(lanes)
    strongest: dict[str, Cause] = {cause.id: cause for cause in found}
    for lane in lanes:
        for cause in lane.verdict.causes:
            if cause.id not in strongest:
                strongest[cause.id] = cause
    causes = sorted(strongest.values(), key=lambda cause: cause.confidence, reverse=True)
    cut = len(cut_points(lanes))
    summary = leading.verdict.summary
    if len(lanes) > 1:
        summary = f"{cut} of {len(lanes)} runs were cut. {summary}" if cut else summary
    verdict = dataclasses.replace(leading.verdict, summary=summary, causes=causes)
    return verdict, leading.label, [point.sentence() for point in cut_points(lanes)]

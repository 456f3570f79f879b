"""N copies of one request at once, after one alone: "does it break only under load?"

The streams' records, set on one time axis, show whether they overlapped or queued behind
each other; the verdict for the group is the worst outcome, the causes that only
concurrency shows, and each stream's causes at their strongest.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from troubleshooter.vocabulary import OUTCOMES

from .assessment import Assessment
from .diagnosis import (
    Cause,
    Diagnosis,
    concurrency_causes,
    hints_for_healthy,
    rule_multi_worker_routing,
    unexplained,
)
from .engine import run_probe
from .events import OnEvent
from .metrics import OverlapAnalysis
from .policy import OutboundPolicy, Resolver, system_resolver
from .record import Ending, Record
from .spec import Limits, ProbeSpec

MAX_PARALLEL = 50

# Worst first: the outcome a group of streams is summarised by.
SEVERITY = (
    "blocked",
    "connect-error",
    "http-error",
    "upstream-error",
    "cut-off",
    "content-error",
    "truncated-by-model",
    "limit-reached",
    "buffered",
    "healthy",
)
assert set(SEVERITY) == set(OUTCOMES)


async def run_parallel(
    spec: ProbeSpec,
    labels: Sequence[str],
    limits: Limits | None = None,
    *,
    baseline: str | None = None,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
) -> tuple[Record | None, list[Record]]:
    """One stream per label at once, after one alone named `baseline` (so that "slower
    under load" has something to be slower than). Returns the baseline and the streams."""
    if not 1 <= len(labels) <= MAX_PARALLEL:
        raise ValueError(f"between 1 and {MAX_PARALLEL} parallel streams, not {len(labels)}")
    alone = None
    if baseline is not None:
        alone = await run_probe(spec, limits, on_event, policy=policy, resolver=resolver, lane=baseline)
    if alone is not None and was_cancelled(alone):
        return alone, [never_started(spec) for _ in labels]
    records = await asyncio.gather(
        *(run_probe(spec, limits, on_event, policy=policy, resolver=resolver, lane=label) for label in labels)
    )
    return alone, list(records)


def was_cancelled(record: Record) -> bool:
    return record.ending is not None and record.ending.kind == "cancelled"


def never_started(spec: ProbeSpec) -> Record:
    """A stream an experiment was going to run when it was cancelled: nothing was sent."""
    return Record(
        request=spec.request_info(),
        format=spec.format,
        ending=Ending(kind="cancelled", t=0.0, reason="the run was cancelled before this stream started"),
    )


def diagnose_group(streams: Sequence[Assessment], analysis: OverlapAnalysis) -> Diagnosis:
    """One verdict for parallel streams, from their own verdicts: the worst outcome, the
    concurrency causes, and each per-stream cause at its highest confidence."""
    outcomes = Counter(stream.verdict.outcome for stream in streams)
    worst = min(outcomes, key=SEVERITY.index) if outcomes else "connect-error"
    routing = rule_multi_worker_routing(
        [stream.record for stream in streams], [stream.verdict.outcome for stream in streams], analysis
    )
    strongest: dict[str, Cause] = {}
    group_causes = [*concurrency_causes(analysis), *([routing] if routing else [])]
    for cause in [*group_causes, *(cause for stream in streams for cause in stream.verdict.causes)]:
        if cause.id not in strongest or cause.confidence > strongest[cause.id].confidence:
            strongest[cause.id] = cause
    counts = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.most_common())
    how = "one after another" if analysis.ran_serially else f"at most {analysis.max_overlap} at the same time"
    summary = f"{len(streams)} parallel streams: {counts}; they received data {how}."
    causes = sorted(strongest.values(), key=lambda cause: cause.confidence, reverse=True)
    hints = []
    if unexplained(worst, causes) and streams:
        quietest = min(streams, key=lambda stream: stream.metrics.content_event_count)
        hints = hints_for_healthy(quietest.metrics, parallel=True)
    return Diagnosis(outcome=worst, summary=summary, causes=causes, hints=hints)

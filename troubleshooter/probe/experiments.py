"""The experiments a person can ask for: one registry, shared by the web and the CLI.

An experiment is one of the debugging steps the guides recommend by hand: stream once and
time it, run N copies at once, compare a direct address with one behind a proxy, or make the
same call through LangChain's ChatOpenAI next to the raw HTTP view. Each kind owns its lanes
(one per stream, labelled), the settings it needs besides the request, how it runs, and how
its lanes' verdicts become one. Every lane is measured and diagnosed once; the Report holds
those assessments, and `report.to_json()` is the one JSON shape that the run page's download
and `manage.py probe --json` both print.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .assessment import Assessment, assess, timeouts_with
from .comparison import explain_difference, run_in_turn
from .diagnosis import Diagnosis
from .engine import run_probe
from .events import OnEvent
from .langchain import openai_chat_spec, via_langchain
from .metrics import OverlapAnalysis, analyse_overlap
from .parallel import MAX_PARALLEL, diagnose_group, never_started, run_parallel, was_cancelled
from .policy import OutboundPolicy
from .record import Record
from .repeats import MAX_REPEATS, diagnose_repeats
from .report import report_json
from .spec import Limits, ProbeSpec, spec_problems


@dataclass(frozen=True)
class Experiment:
    """What to run: a kind, the request, bounds, and the kind's own settings."""

    kind: ExperimentKind
    spec: ProbeSpec
    limits: Limits = Limits()
    concurrency: int = 1  # streams at once, for "parallel"; runs one after another, for "repeat"
    compare_url: str = ""  # the second address, for "compare"
    model: str = ""  # for "langchain"; the spec's URL is then the base URL
    prompt: str = ""
    api_key: str = "not-needed"  # for "langchain"; secret, never reported
    known_timeouts: tuple[float, ...] = ()

    def problems(self) -> list[str]:
        return self.kind.problems(self)

    def lane_labels(self) -> list[str]:
        return self.kind.lane_labels(self.concurrency)


@dataclass(frozen=True)
class Conclusion:
    """How an experiment's lanes add up: the verdict and what supports it."""

    verdict: Diagnosis
    leading_lane: str
    differences: list[str] = dataclasses.field(default_factory=list)
    overlap: OverlapAnalysis | None = None


@dataclass(frozen=True)
class Report:
    kind: ExperimentKind
    lanes: list[Assessment]
    conclusion: Conclusion

    @property
    def verdict(self) -> Diagnosis:
        return self.conclusion.verdict

    @property
    def leading(self) -> Assessment:
        return next(lane for lane in self.lanes if lane.label == self.conclusion.leading_lane)

    @property
    def problem_found(self) -> bool:
        """Some lane (or the group as a whole) did not stream as it should."""
        return self.verdict.outcome != "healthy" or any(not lane.healthy for lane in self.lanes)

    def to_json(self) -> dict[str, Any]:
        return report_json(
            kind=self.kind.id,
            verdict=self.verdict,
            leading=self.leading,
            problem_found=self.problem_found,
            differences=self.conclusion.differences,
            overlap=self.conclusion.overlap,
            lanes=self.lanes,
        )


class ExperimentKind:
    """One kind of experiment. Subclasses are registered in KINDS under their id."""

    id: ClassVar[str]
    title: ClassVar[str]
    # The settings it reads besides the request: the web form shows only these fields.
    settings: ClassVar[tuple[str, ...]] = ()
    # Causes this kind shows better than a single stream does, for "measure it" links.
    shows_best: ClassVar[frozenset[str]] = frozenset()
    # Its verdict weighs all lanes together (rather than being one lane's own verdict).
    group_verdict: ClassVar[bool] = False

    def lane_labels(self, concurrency: int = 1) -> list[str]:
        """The lanes in the order they are drawn; live events name these as their stream."""
        return ["stream"]

    def problems(self, experiment: Experiment) -> list[str]:
        return []

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        """The lanes' records, in lane order. Cancelling stops at once; the records then
        hold what was recorded, and lanes not yet started end as cancelled."""
        raise NotImplementedError

    def conclude(self, lanes: list[Assessment]) -> Conclusion:
        return Conclusion(lanes[0].verdict, lanes[0].label)

    def __repr__(self) -> str:
        return f"<experiment kind {self.id}>"


class Single(ExperimentKind):
    id = "single"
    title = "One stream"

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        label = self.lane_labels()[0]
        return [await run_probe(experiment.spec, experiment.limits, on_event, policy=policy, lane=label)]


class Parallel(ExperimentKind):
    id = "parallel"
    title = "Several streams in parallel"
    settings = ("concurrency",)
    shows_best = frozenset({"worker-saturation", "blocking-event-loop", "shared-client-race", "multi-worker-routing"})
    group_verdict = True
    BASELINE = "alone"

    def lane_labels(self, concurrency: int = 1) -> list[str]:
        return [self.BASELINE, *(f"stream {index + 1}" for index in range(concurrency))]

    def problems(self, experiment: Experiment) -> list[str]:
        if not 2 <= experiment.concurrency <= MAX_PARALLEL:
            return [f"parallel streams must be between 2 and {MAX_PARALLEL}"]
        return []

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        baseline, *streams = self.lane_labels(experiment.concurrency)
        alone, records = await run_parallel(
            experiment.spec, streams, experiment.limits, baseline=baseline, policy=policy, on_event=on_event
        )
        assert alone is not None
        return [alone, *records]

    def conclude(self, lanes: list[Assessment]) -> Conclusion:
        alone, *streams = lanes
        overlap = analyse_overlap([stream.record for stream in streams], alone.record)
        verdict = diagnose_group(streams, overlap)
        worst = next((stream for stream in streams if stream.verdict.outcome == verdict.outcome), streams[0])
        return Conclusion(verdict, worst.label, overlap=overlap)


class _Paired(ExperimentKind):
    """Two lanes of one request: the verdict leads with the first lane that has a problem
    (the proxy buffers, the framework does not stream), or the first when both are fine."""

    labels: ClassVar[tuple[str, str]]

    def lane_labels(self, concurrency: int = 1) -> list[str]:
        return list(self.labels)

    def conclude(self, lanes: list[Assessment]) -> Conclusion:
        leading = next((lane for lane in lanes if not lane.healthy), lanes[0])
        verdict = leading.verdict
        if leading is not lanes[0]:
            verdict = dataclasses.replace(verdict, summary=f"{leading.label.capitalize()}: {verdict.summary}")
        return Conclusion(verdict, leading.label, differences=self.differences(lanes))

    def differences(self, lanes: Sequence[Assessment]) -> list[str]:
        return []


class Compare(_Paired):
    id = "compare"
    title = "Direct vs through a proxy"
    settings = ("compare_url",)
    shows_best = frozenset({"proxy-buffering", "compression-buffering"})
    labels = ("direct", "through the proxy")

    def problems(self, experiment: Experiment) -> list[str]:
        if not experiment.compare_url:
            return ["a comparison needs a second address"]
        return [f"the second address: {problem}" for problem in spec_problems(ProbeSpec(url=experiment.compare_url))]

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        first, second = await run_in_turn(
            experiment.spec, experiment.compare_url, self.labels, experiment.limits, policy=policy, on_event=on_event
        )
        return [first, second]

    def differences(self, lanes: Sequence[Assessment]) -> list[str]:
        return explain_difference(lanes[0], lanes[1]) if len(lanes) == 2 else []


class LangChain(_Paired):
    id = "langchain"
    title = "Raw HTTP vs LangChain's ChatOpenAI"
    settings = ("model", "prompt")
    labels = ("raw HTTP", "ChatOpenAI.astream()")

    def problems(self, experiment: Experiment) -> list[str]:
        return [] if experiment.model else ["the LangChain experiment needs a model name"]

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        base_url = experiment.spec.url.rstrip("/")
        raw_spec = openai_chat_spec(base_url, experiment.api_key, experiment.model, experiment.prompt)
        raw = await run_probe(raw_spec, experiment.limits, on_event, policy=policy, lane=self.labels[0])
        if was_cancelled(raw):
            return [raw, never_started(raw_spec)]
        through = await via_langchain(
            base_url, experiment.api_key, experiment.model, experiment.prompt, experiment.limits,
            policy=policy, on_event=on_event, lane=self.labels[1],
        )
        return [raw, through]


class Repeat(ExperimentKind):
    """The same request several times, one after another: where each run is cut tells a
    limit on total time from a fault in the content or one that strikes at random."""

    id = "repeat"
    title = "The same request several times"
    settings = ("repeats",)
    shows_best = frozenset({"request-timeout", "callback-exception"})
    group_verdict = True

    def lane_labels(self, concurrency: int = 1) -> list[str]:
        return [f"run {index + 1}" for index in range(concurrency)]

    def problems(self, experiment: Experiment) -> list[str]:
        if not 2 <= experiment.concurrency <= MAX_REPEATS:
            return [f"repeats must be between 2 and {MAX_REPEATS}"]
        return []

    async def run(self, experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None) -> list[Record]:
        records: list[Record] = []
        for label in self.lane_labels(experiment.concurrency):
            if records and was_cancelled(records[-1]):
                records.append(never_started(experiment.spec))
                continue
            records.append(await run_probe(experiment.spec, experiment.limits, on_event, policy=policy, lane=label))
        return records

    def conclude(self, lanes: list[Assessment]) -> Conclusion:
        verdict, leading, cuts = diagnose_repeats(lanes)
        return Conclusion(verdict, leading, differences=cuts)


KINDS: dict[str, ExperimentKind] = {
    kind.id: kind for kind in (Single(), Parallel(), Compare(), LangChain(), Repeat())
}


def kind_named(kind_id: str) -> ExperimentKind:
    try:
        return KINDS[kind_id]
    except KeyError:
        raise ValueError(f"unknown experiment '{kind_id}': one of {', '.join(KINDS)}") from None


def kind_for_causes(cause_ids: Sequence[str]) -> str:
    """The kind of experiment that best shows the likeliest of these causes."""
    likeliest = set(cause_ids[:1])
    return next((kind.id for kind in KINDS.values() if kind.shows_best & likeliest), Single.id)


async def run_experiment(
    experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None = None
) -> Report:
    """Run it and return its report. Cancelling the task stops the experiment at once; the
    report then holds what was recorded, with the cancelled lanes' endings."""
    records = await experiment.kind.run(experiment, policy, on_event)
    # Measuring and diagnosing is pure CPU work that grows with the stream; in a thread it
    # cannot stall the other streams and runs that share the loop.
    return await asyncio.to_thread(conclude, experiment, records)


def conclude(experiment: Experiment, records: Sequence[Record]) -> Report:
    """Assess each lane once, then let the kind add them up."""
    timeouts = timeouts_with(experiment.known_timeouts)
    lanes = [assess(label, record, timeouts) for label, record in zip(experiment.lane_labels(), records, strict=True)]
    return Report(experiment.kind, lanes, experiment.kind.conclude(lanes))

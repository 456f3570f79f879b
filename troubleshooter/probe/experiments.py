"""The experiments a person can ask for, run as one unit and reported as plain data.

An experiment is one of the debugging steps the guides recommend by hand: stream once and
time it, run N copies at once, compare a direct address with one behind a proxy, or make the
same call through LangChain's ChatOpenAI next to the raw HTTP view. Each one runs in lanes
(one lane per stream, labelled), and ends in one report: an outcome, ranked causes and
metrics for the whole, and the record, metrics and verdict of every lane.

The web side and the command line both run experiments through here, so they agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .concurrency import (
    MAX_PARALLEL,
    compare,
    openai_chat_spec,
    run_concurrent,
    tagged,
    via_langchain,
)
from .diagnosis import KNOWN_TIMEOUTS, Diagnosis, diagnose
from .engine import run_probe
from .metrics import Metrics, measure
from .policy import OutboundPolicy
from .record import Record
from .recorder import OnEvent
from .spec import Limits, ProbeSpec

KINDS: dict[str, str] = {
    "single": "One stream",
    "parallel": "Several streams in parallel",
    "compare": "Direct vs through a proxy",
    "langchain": "Raw HTTP vs LangChain's ChatOpenAI",
}
COMPARE_LABELS = ("direct", "through the proxy")
LANGCHAIN_LABELS = ("raw HTTP", "ChatOpenAI.astream()")

Timeouts = Mapping[str, Mapping[float, str]]


def timeouts_with(extra: list[float] | tuple[float, ...]) -> dict[str, dict[float, str]]:
    """The known defaults plus the timeouts a user says their own infrastructure uses."""
    label = "the {:g} s timeout you said your infrastructure uses"
    return {
        kind: {**table, **{seconds: label.format(seconds) for seconds in extra}}
        for kind, table in KNOWN_TIMEOUTS.items()
    }


@dataclass(frozen=True)
class Assessment:
    """A record with its metrics and verdict, computed once."""

    record: Record
    metrics: Metrics
    verdict: Diagnosis

    def report(self) -> dict[str, Any]:
        return {**self.verdict.to_dict(), "metrics": self.metrics.to_dict(), "record": self.record.to_dict()}


def assess(record: Record, timeouts: Timeouts = KNOWN_TIMEOUTS) -> Assessment:
    metrics = measure(record)
    return Assessment(record, metrics, diagnose(record, metrics, timeouts=timeouts))


@dataclass(frozen=True)
class Experiment:
    kind: str
    spec: ProbeSpec
    limits: Limits = Limits()
    concurrency: int = 1  # streams at once, for "parallel"
    compare_url: str = ""  # the second address, for "compare"
    model: str = ""  # for "langchain"; the spec's URL is then the base URL
    prompt: str = ""
    api_key: str = "not-needed"  # for "langchain"; secret, never reported
    known_timeouts: tuple[float, ...] = ()

    def problems(self) -> list[str]:
        problems: list[str] = []
        if self.kind not in KINDS:
            problems.append(f"unknown experiment '{self.kind}': one of {', '.join(KINDS)}")
        if self.kind == "parallel" and not 2 <= self.concurrency <= MAX_PARALLEL:
            problems.append(f"parallel streams must be between 2 and {MAX_PARALLEL}")
        if self.kind == "compare" and not self.compare_url:
            problems.append("a comparison needs a second address")
        if self.kind == "langchain" and not self.model:
            problems.append("the LangChain experiment needs a model name")
        return problems

    def lane_labels(self) -> list[str]:
        """The lanes in the order they are drawn; events are tagged with these labels."""
        if self.kind == "parallel":
            return ["alone", *(f"stream {index + 1}" for index in range(self.concurrency))]
        if self.kind == "compare":
            return list(COMPARE_LABELS)
        if self.kind == "langchain":
            return list(LANGCHAIN_LABELS)
        return ["stream"]


def _relabelled(on_event: OnEvent | None, labels: Mapping[Any, str]) -> OnEvent | None:
    """Maps the stream tags the engine uses (0, 1, "baseline"...) to lane labels."""
    if on_event is None:
        return None
    listener = on_event

    def relabelled(payload: dict[str, Any]) -> Any:
        return listener({**payload, "stream": labels.get(payload.get("stream"), str(payload.get("stream")))})

    return relabelled


def _lane(label: str, assessment: Assessment) -> dict[str, Any]:
    return {"label": label, **assessment.report()}


def _was_cancelled() -> bool:
    """True once someone asked this task to stop, even though the engine caught the
    cancellation to return what it had recorded."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def run_experiment(
    experiment: Experiment, policy: OutboundPolicy, on_event: OnEvent | None = None
) -> dict[str, Any]:
    """Run it and return a JSON-ready report. Cancelling the task stops the experiment at
    once; the report then holds what was recorded, with the cancelled lanes' endings."""
    timeouts = timeouts_with(experiment.known_timeouts)
    spec, limits = experiment.spec, experiment.limits
    labels = experiment.lane_labels()

    if experiment.kind == "parallel":
        tags: dict[Any, str] = {"baseline": labels[0], **{index: labels[index + 1] for index in range(experiment.concurrency)}}
        result = await run_concurrent(
            spec, experiment.concurrency, limits, policy=policy, on_event=_relabelled(on_event, tags), timeouts=timeouts
        )
        records = ([result.baseline] if result.baseline else []) + result.records
        return await _off_the_loop(lambda: {
            "kind": experiment.kind,
            **result.diagnosis.to_dict(),
            "metrics": result.analysis.to_dict(),
            "lanes": [_lane(label, assess(record, timeouts)) for label, record in zip(labels, records)],
        })

    if experiment.kind == "compare":
        tags = dict(zip(COMPARE_LABELS, labels))
        result = await compare(
            spec, experiment.compare_url, limits, labels=COMPARE_LABELS, policy=policy,
            on_event=_relabelled(on_event, tags), timeouts=timeouts,
        )
        return await _off_the_loop(lambda: _paired(
            experiment.kind,
            [_lane(labels[0], assess(result.first, timeouts)), _lane(labels[1], assess(result.second, timeouts))],
            result.differences,
        ))

    if experiment.kind == "langchain":
        base_url = spec.url.rstrip("/")
        raw_spec = openai_chat_spec(base_url, experiment.api_key, experiment.model, experiment.prompt)
        raw = await run_probe(raw_spec, limits, tagged(on_event, labels[0]), policy=policy)
        if _was_cancelled():
            return await _off_the_loop(lambda: _paired(experiment.kind, [_lane(labels[0], assess(raw, timeouts))], []))
        through = await via_langchain(
            base_url, experiment.api_key, experiment.model, experiment.prompt, limits,
            policy=policy, on_event=tagged(on_event, labels[1]),
        )
        return await _off_the_loop(lambda: _paired(
            experiment.kind, [_lane(labels[0], assess(raw, timeouts)), _lane(labels[1], assess(through, timeouts))], []
        ))

    record = await run_probe(spec, limits, tagged(on_event, labels[0]), policy=policy)

    def single_report() -> dict[str, Any]:
        single = assess(record, timeouts)
        return {"kind": experiment.kind, **single.verdict.to_dict(), "metrics": single.metrics.to_dict(),
                "lanes": [_lane(labels[0], single)]}

    return await _off_the_loop(single_report)


async def _off_the_loop(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Measuring, diagnosing and copying records into a report is pure CPU work that grows
    with the stream; in a thread it cannot stall the other streams that share the loop."""
    return await asyncio.to_thread(build)


def _paired(kind: str, lanes: list[dict[str, Any]], differences: list[str]) -> dict[str, Any]:
    """Two lanes: the verdict leads with the first lane that has a problem (the proxy
    buffers, the framework does not stream), or the first lane when both are healthy."""
    leading = next((lane for lane in lanes if lane["outcome"] != "healthy"), lanes[0])
    summary = leading["summary"] if leading is lanes[0] else f"{leading['label'].capitalize()}: {leading['summary']}"
    return {
        "kind": kind,
        **{key: leading[key] for key in ("outcome", "causes", "metrics")},
        "summary": summary,
        "leading_lane": leading["label"],
        "problem_found": any(lane["outcome"] != "healthy" for lane in lanes[1:]),
        "differences": differences,
        "lanes": lanes,
    }

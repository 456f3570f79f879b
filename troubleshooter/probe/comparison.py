"""The same request to two addresses, one after the other: "is it the proxy?"

Run one after the other, so a single worker serves both equally; the verdict says in plain
sentences how the two differ and what that difference points at.
"""

from __future__ import annotations

import dataclasses

from .assessment import Assessment
from .diagnosis import Diagnosis, seconds
from .engine import run_probe
from .events import OnEvent
from .parallel import never_started, was_cancelled
from .policy import OutboundPolicy, Resolver, system_resolver
from .record import HEADERS_THAT_MATTER, Record
from .spec import Limits, ProbeSpec


async def run_in_turn(
    spec: ProbeSpec,
    other_url: str,
    labels: tuple[str, str],
    limits: Limits | None = None,
    *,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
) -> tuple[Record, Record]:
    """`spec`, then the same request to `other_url`; the second is not sent once the
    first was cancelled."""
    first = await run_probe(spec, limits, on_event, policy=policy, resolver=resolver, lane=labels[0])
    other = dataclasses.replace(spec, url=other_url)
    if was_cancelled(first):
        return first, never_started(other)
    second = await run_probe(other, limits, on_event, policy=policy, resolver=resolver, lane=labels[1])
    return first, second


def explain_difference(first: Assessment, second: Assessment) -> list[str]:
    """Plain sentences on how two runs of one request differ, ending with
    what that difference points at. Pure."""
    record_a, metrics_a, verdict_a = first.record, first.metrics, first.verdict
    record_b, metrics_b, verdict_b = second.record, second.metrics, second.verdict
    a, b = first.label, second.label
    labels = (a, b)
    sentences: list[str] = []
    if verdict_a.outcome != verdict_b.outcome:
        sentences.append(f"{a.capitalize()}: {verdict_a.outcome}. {b.capitalize()}: {verdict_b.outcome}.")
    else:
        sentences.append(f"Both runs were {verdict_a.outcome}.")
    first_a, first_b = metrics_a.time_to_first_content, metrics_b.time_to_first_content
    if first_a is not None and first_b is not None:
        sentences.append(f"First content arrived after {seconds(first_a)} {a} and after {seconds(first_b)} {b}.")
    for label, verdict in ((a, verdict_a), (b, verdict_b)):
        if verdict.outcome != "healthy":
            sentences.append(f"{label.capitalize()}: {verdict.summary}")
    sentences.extend(_header_differences(record_a, record_b, labels))
    if metrics_a.content_chars != metrics_b.content_chars:
        sentences.append(
            f"Content: {metrics_a.content_chars} characters {a}, {metrics_b.content_chars} characters {b}."
        )
    sentences.append(_what_it_points_at(verdict_a, verdict_b, b))
    return sentences


# Their values differ on every response; only whether a path adds or drops them says anything.
_VALUES_DIFFER_ANYWAY = frozenset(
    {
        "Content-Length", "CF-Ray", "X-Amzn-RequestId", "X-Amz-Apigw-Id",
        "Apigw-Requestid", "X-Vercel-Id", "X-Nf-Request-Id",
    }
)


def _header_differences(record_a: Record, record_b: Record, labels: tuple[str, str]) -> list[str]:
    sentences = []
    for name in HEADERS_THAT_MATTER:
        value_a, value_b = record_a.header(name), record_b.header(name)
        if value_a == value_b or name in _VALUES_DIFFER_ANYWAY and None not in (value_a, value_b):
            continue
        if value_a is None:
            sentences.append(
                f"{labels[1].capitalize()} the response has {name}: {value_b}, which it lacks {labels[0]}."
            )
        elif value_b is None:
            sentences.append(f"{labels[1].capitalize()} the response loses {name}: {value_a}.")
        else:
            sentences.append(f"{name} is {value_a} {labels[0]} but {value_b} {labels[1]}.")
    return sentences


def _what_it_points_at(verdict_a: Diagnosis, verdict_b: Diagnosis, b: str) -> str:
    if verdict_a.outcome == verdict_b.outcome:
        return (
            "Both paths behave the same, so the cause is not in what lies only on the second path: "
            "look at the app itself or at what both paths share."
        )
    if verdict_a.outcome == "healthy":
        top = verdict_b.causes[0].id if verdict_b.causes else None
        lead = f"What lies {b} changes the stream"
        return f"{lead}; the likeliest cause is {top}." if top else f"{lead}."
    if verdict_b.outcome == "healthy":
        return f"The stream is fine {b} but not on the first path, so the first path adds the problem."
    return "Both paths have problems, and different ones: fix the first path first, then compare again."



"""Experiments made of several runs: parallel copies, direct vs proxied, and
the same request through LangChain.

These are the debugging steps people do by hand during an incident ("does
it break only under load?", "is it the proxy?", "is it the framework?"),
each turned into one call that returns records plus plain-word findings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .diagnosis import (
    KNOWN_TIMEOUTS,
    OUTCOMES,
    Cause,
    Diagnosis,
    concurrency_causes,
    diagnose,
    hints_for_healthy,
    rule_multi_worker_routing,
    seconds,
    unexplained,
)
from .engine import run_bounded, run_probe
from .metrics import Metrics, OverlapAnalysis, analyse_overlap, measure
from .policy import (
    OutboundPolicy,
    PinnedNetworkBackend,
    PinnedTransport,
    Resolver,
    TargetRefused,
    system_resolver,
)
from .record import HEADERS_THAT_MATTER, Ending, Event, Record
from .recorder import LimitReached, OnEvent, Recorder, checked_target
from .spec import HeaderSpec, Limits, ProbeSpec

MAX_PARALLEL = 50

# Worst first: the outcome a group of runs is summarised by.
_SEVERITY = (
    "blocked",
    "connect-error",
    "http-error",
    "upstream-error",
    "cut-off",
    "truncated-by-model",
    "buffered",
    "healthy",
)
assert set(_SEVERITY) == set(OUTCOMES)


# --- N parallel copies -------------------------------------------------------


@dataclass
class ConcurrencyResult:
    records: list[Record]
    baseline: Record | None
    analysis: OverlapAnalysis
    diagnosis: Diagnosis

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": len(self.records),
            "records": [record.to_dict() for record in self.records],
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "analysis": self.analysis.to_dict(),
            "diagnosis": self.diagnosis.to_dict(),
        }


async def run_concurrent(
    spec: ProbeSpec,
    n: int,
    limits: Limits | None = None,
    *,
    baseline: bool = True,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
    timeouts: Mapping[str, Mapping[float, str]] = KNOWN_TIMEOUTS,
) -> ConcurrencyResult:
    """Run `n` copies of `spec` at once (after one alone, as a baseline, so
    that "slower under load" has something to be slower than)."""
    if not 1 <= n <= MAX_PARALLEL:
        raise ValueError(f"n must be between 1 and {MAX_PARALLEL}, not {n}")
    alone = None
    if baseline:
        alone = await run_probe(spec, limits, tagged(on_event, "baseline"), policy=policy, resolver=resolver)
    if alone is not None and _was_cancelled(alone):
        records = [_never_started(spec) for _ in range(n)]
    else:
        records = list(
            await asyncio.gather(
                *(run_probe(spec, limits, tagged(on_event, index), policy=policy, resolver=resolver)
                  for index in range(n))
            )
        )
    analysis = analyse_overlap(records, alone)
    return ConcurrencyResult(records, alone, analysis, diagnose_group(records, analysis, timeouts))


def _was_cancelled(record: Record) -> bool:
    return record.ending is not None and record.ending.kind == "cancelled"


def _never_started(spec: ProbeSpec) -> Record:
    """A stream an experiment was going to run when it was cancelled: nothing was sent."""
    return Record(
        request=spec.request_info(),
        format=spec.format,
        ending=Ending(kind="cancelled", t=0.0, reason="the run was cancelled before this stream started"),
    )


def tagged(on_event: OnEvent | None, stream: int | str) -> OnEvent | None:
    """Adds which stream an event belongs to, for a listener that sees all."""
    if on_event is None:
        return None
    listener = on_event

    async def tagged(payload: dict[str, Any]) -> None:
        result = listener({**payload, "stream": stream})
        if inspect.isawaitable(result):
            await result

    return tagged


def diagnose_group(
    records: Sequence[Record],
    analysis: OverlapAnalysis,
    timeouts: Mapping[str, Mapping[float, str]] = KNOWN_TIMEOUTS,
) -> Diagnosis:
    """One verdict for parallel runs: the worst outcome, the concurrency
    causes, and each per-stream cause at its highest confidence."""
    metrics = [measure(record) for record in records]
    diagnoses = [diagnose(record, measured, timeouts=timeouts) for record, measured in zip(records, metrics)]
    outcomes = Counter(diagnosis.outcome for diagnosis in diagnoses)
    worst = min(outcomes, key=_SEVERITY.index) if outcomes else "connect-error"
    routing = rule_multi_worker_routing(records, [diagnosis.outcome for diagnosis in diagnoses], analysis)
    strongest: dict[str, Cause] = {}
    group_causes = [*concurrency_causes(analysis), *([routing] if routing else [])]
    for cause in [*group_causes, *(c for d in diagnoses for c in d.causes)]:
        if cause.id not in strongest or cause.confidence > strongest[cause.id].confidence:
            strongest[cause.id] = cause
    counts = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.most_common())
    how = "one after another" if analysis.ran_serially else f"at most {analysis.max_overlap} at the same time"
    summary = f"{len(records)} parallel streams: {counts}; they received data {how}."
    causes = sorted(strongest.values(), key=lambda cause: cause.confidence, reverse=True)
    hints = []
    if unexplained(worst, causes):
        hints = hints_for_healthy(min(metrics, key=lambda m: m.content_event_count), parallel=True)
    return Diagnosis(outcome=worst, summary=summary, causes=causes, hints=hints)


# --- direct vs through a proxy -----------------------------------------------


@dataclass
class Comparison:
    first: Record
    second: Record
    first_diagnosis: Diagnosis
    second_diagnosis: Diagnosis
    differences: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first.to_dict(),
            "second": self.second.to_dict(),
            "first_diagnosis": self.first_diagnosis.to_dict(),
            "second_diagnosis": self.second_diagnosis.to_dict(),
            "differences": self.differences,
        }


async def compare(
    spec: ProbeSpec,
    other_url: str,
    limits: Limits | None = None,
    *,
    labels: tuple[str, str] = ("direct", "through the proxy"),
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
    timeouts: Mapping[str, Mapping[float, str]] = KNOWN_TIMEOUTS,
) -> Comparison:
    """The same request to two URLs, one after the other (so a single worker
    serves both equally), and what differs between them."""
    first = await run_probe(spec, limits, tagged(on_event, labels[0]), policy=policy, resolver=resolver)
    other = dataclasses.replace(spec, url=other_url)
    if _was_cancelled(first):
        second = _never_started(other)
    else:
        second = await run_probe(other, limits, tagged(on_event, labels[1]), policy=policy, resolver=resolver)
    first_metrics, second_metrics = measure(first), measure(second)
    first_diagnosis = diagnose(first, first_metrics, timeouts=timeouts)
    second_diagnosis = diagnose(second, second_metrics, timeouts=timeouts)
    differences = explain_difference(
        (first, first_metrics, first_diagnosis), (second, second_metrics, second_diagnosis), labels
    )
    return Comparison(first, second, first_diagnosis, second_diagnosis, differences)


Side = tuple[Record, Metrics, Diagnosis]


def explain_difference(
    first: Side, second: Side, labels: tuple[str, str] = ("direct", "through the proxy")
) -> list[str]:
    """Plain sentences on how two runs of one request differ, ending with
    what that difference points at. Pure."""
    (record_a, metrics_a, verdict_a), (record_b, metrics_b, verdict_b) = first, second
    a, b = labels
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
    {"Content-Length", "CF-Ray", "X-Amzn-RequestId", "X-Amz-Apigw-Id", "Apigw-Requestid", "X-Vercel-Id", "X-Nf-Request-Id"}
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


# --- the same request through LangChain --------------------------------------


class _TimedStream(httpx.AsyncByteStream):
    """Records each raw read as the SDK pulls it from the network."""

    def __init__(self, inner: httpx.AsyncByteStream, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            await self._recorder.add_read(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _TimedTransport(httpx.AsyncBaseTransport):
    """Sits under the SDK: records the response and times every read, so a
    run through the framework can be set against a direct run."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        version = response.extensions.get("http_version", b"HTTP/1.1")
        await self._recorder.set_response(
            response.status_code, version.decode() if isinstance(version, bytes) else str(version), response.headers
        )
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _TimedStream(response.stream, self._recorder)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def openai_chat_spec(base_url: str, api_key: str, model: str, prompt: str) -> ProbeSpec:
    """The streaming chat-completions request a client of `base_url` sends."""
    return ProbeSpec(
        url=base_url.rstrip("/") + "/chat/completions",
        method="POST",
        headers=(HeaderSpec("Authorization", f"Bearer {api_key}", secret=True),),
        json_body={"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True},
        format="openai",
    )


async def via_langchain(
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    limits: Limits | None = None,
    *,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> Record:
    """The request a LangChain app would make (ChatOpenAI(...).astream()),
    through the same outbound policy, with every read and every chunk the
    framework yields timed. Compare it with a direct run of the endpoint to
    see whether the framework buffers."""
    # Imported before the recorder starts its clock: the first import takes seconds, and
    # counting it would make the framework look slow to stream.
    from langchain_openai import ChatOpenAI

    limits = limits or Limits()
    policy = policy or OutboundPolicy()
    spec = openai_chat_spec(base_url, api_key, model, prompt)
    recorder = Recorder(spec, limits, on_event)
    recorder.record.format = "langchain-openai"
    recorder.record.expects_terminal = True
    work = _stream_through_langchain(
        ChatOpenAI, base_url, api_key, model, prompt, dict(model_kwargs or {}), policy, resolver, recorder
    )
    return await run_bounded(recorder, work)


async def _stream_through_langchain(
    chat_model_class: type[Any],
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    model_kwargs: dict[str, Any],
    policy: OutboundPolicy,
    resolver: Resolver,
    recorder: Recorder,
) -> None:
    target = await checked_target(base_url, policy, resolver, recorder)
    if target is None:
        return
    backend = PinnedNetworkBackend(policy, resolver)
    backend.pin(target)
    transport = _TimedTransport(PinnedTransport(backend), recorder)
    async with httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False, timeout=None) as client:
        llm = chat_model_class(
            base_url=base_url,
            api_key=api_key,
            model=model,
            streaming=True,
            stream_usage=True,
            max_retries=0,  # a retry would hide the very failure being probed
            http_async_client=client,
            **model_kwargs,
        )
        try:
            async for chunk in llm.astream(prompt):
                await recorder.add_events(_chunk_events(chunk), recorder.elapsed())
        except Exception as error:
            await _end_from_sdk_error(error, recorder)
            return
    if any(event.finish_reason for event in recorder.record.events):
        # The SDK swallows [DONE]; a finish reason is the end marker we can see.
        recorder.terminal_seen = True
    await recorder.end_body()


def _chunk_events(chunk: Any) -> list[Event]:
    events: list[Event] = []
    content = chunk.content
    text = content if isinstance(content, str) else "".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content
    )
    if text:
        events.append(Event(kind="content", t=0.0, text=text))
    finish = (chunk.response_metadata or {}).get("finish_reason")
    if finish:
        events.append(Event(kind="finish", t=0.0, finish_reason=str(finish)))
    usage = getattr(chunk, "usage_metadata", None)
    if usage:
        counts = {key: value for key, value in dict(usage).items() if isinstance(value, int)}
        if counts:
            events.append(Event(kind="usage", t=0.0, usage=counts))
    return events or [Event(kind="meta", t=0.0, detail="empty chunk")]


async def _end_from_sdk_error(error: Exception, recorder: Recorder) -> None:
    """SDKs wrap transport errors in their own types; the cause chain still
    holds what happened on the wire."""
    chain = _exception_chain(error)
    for item in chain:
        if isinstance(item, LimitReached):
            await recorder.end("limit", item.reason, item.limit)
            return
        if isinstance(item, TargetRefused):
            await recorder.end("blocked", item.reason)
            return
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if recorder.record.status is None:
            recorder.record.status = status
        await recorder.end("http-error", f"HTTP {status}: {_short(error)}")
        return
    for item in chain:
        if isinstance(item, httpx.RemoteProtocolError):
            await recorder.end("incomplete-read", _short(item))
            return
        if isinstance(item, httpx.TransportError):
            kind = "connect-error" if recorder.record.status is None else "reset"
            await recorder.end(kind, _short(item))
            return
    kind = "connect-error" if recorder.record.status is None else "reset"
    await recorder.end(kind, f"{type(error).__name__}: {_short(error)}")


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:300] + "…"

"""From what a probe saw to an outcome and ranked causes, with evidence.

Pure rules over (Record, Metrics): no I/O, no clock. Each rule looks for one
cause from the shared vocabulary and, when it fires, says why in sentences
that quote the numbers, so a person can check the reasoning. Confidences are
rough priors, not probabilities; they only have to rank causes sensibly.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import Any, NamedTuple

from troubleshooter.vocabulary import CAUSE_IDS

from .metrics import Metrics, OverlapAnalysis, RatesAround, densest_window, measure, percentile, rates_around
from .record import Event, Record

# Known timeouts, in seconds, of common intermediaries and platforms. "idle"
# fires after that long without a byte; "hard" after that long in total.
# Callers may pass their own table (tests use sub-second values).
KNOWN_TIMEOUTS: dict[str, dict[float, str]] = {
    "idle": {
        55.0: "Heroku's 55 s rolling idle window",
        60.0: "nginx proxy_read_timeout and the AWS ALB idle timeout (60 s)",
        100.0: "Cloudflare's 100 s proxy read timeout (HTTP 524)",
        300.0: "API Gateway's 5 minute streaming idle timeout",
    },
    "hard": {
        29.0: "API Gateway's 29 s integration timeout (REST APIs)",
        30.0: "gunicorn's default worker --timeout of 30 s",
        60.0: "a 60 s request limit (a load balancer, a platform or a client default)",
        100.0: "Cloudflare's 100 s limit",
        300.0: "Cloud Run's default request timeout (300 s)",
    },
}

LENGTH_FINISH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_length"})
STREAMING_MEDIA_TYPES = frozenset(
    {"text/event-stream", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/stream+json"}
)
PROXY_SERVER_NAMES = (
    "nginx", "openresty", "envoy", "cloudflare", "apache", "caddy", "traefik", "haproxy",
    "awselb", "varnish", "akamai", "cloudfront", "istio", "kong", "fly",
)
TIMEOUT_STATUSES = frozenset({502, 503, 504, 524})
CUT_ENDINGS = frozenset({"reset", "incomplete-read"})

# A stream counts as "all at once" when this share of its bytes came inside
# one 10 ms window, after the first byte was this late.
AT_ONCE_SHARE = 0.9
LATE_FIRST_BYTE_SECONDS = 0.25
# A gap this long before a cut points at an idle timeout even if it matches no
# known constant.
LONG_SILENCE_SECONDS = 10.0
# So does a shorter one that breaks the stream's own rhythm: at least this long, and this
# many times the 95th percentile of the gaps between chunks before it. Bytes flowed, then
# nothing, then the close: an idle timer, whatever its setting.
SILENCE_AT_LEAST_SECONDS = 1.0
SILENCE_TIMES_RHYTHM = 8.0
# Limits are configured in whole seconds; a cut this close to a whole number of seconds
# after the request, while data flowed, looks configured rather than accidental.
ROUND_CUT_TOLERANCE = 0.06
# A model that streams sends a word or a few per event. One content event holding at least
# this many words, on a stream that otherwise ended properly, is a whole answer sent in one
# piece: the model was not asked to stream. A short reply ("Yes.") fits in one event anyway.
ONE_PIECE_MIN_WORDS = 12
# Servers that name their Python in the Server header (aiohttp, Werkzeug, http.server).
PYTHON_IN_SERVER = re.compile(r"\bPython/(\d+)\.(\d+)")
# Before this version async code cannot carry LangChain's callback context into a new task.
CONTEXT_CARRYING_PYTHON = (3, 11)
# Servers whose own limit on a request's total time kills the worker mid-response.
TIME_LIMITED_SERVERS = {
    "gunicorn": "gunicorn kills a sync worker that runs past --timeout (30 s by default), mid-response",
    "uwsgi": "uWSGI's harakiri kills a worker that runs past its limit, mid-response",
    "waitress": "waitress closes a response that runs past its channel timeout",
}


@dataclass
class Cause:
    id: str
    confidence: float
    evidence: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The ids are a contract with the guides and saved runs: a typo must fail loudly.
        if self.id not in CAUSE_IDS:
            raise ValueError(f"{self.id!r} is not a cause id of the vocabulary")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Diagnosis:
    outcome: str
    summary: str
    causes: list[Cause] = field(default_factory=list)
    # Only for a healthy outcome: what to check if people still see failures.
    hints: list[Hint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "summary": self.summary,
            "causes": [c.to_dict() for c in self.causes],
            "hints": [h.to_dict() for h in self.hints],
        }

    def cause(self, cause_id: str) -> Cause | None:
        return next((cause for cause in self.causes if cause.id == cause_id), None)


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at, computed once."""

    record: Record
    metrics: Metrics
    timeouts: Mapping[str, Mapping[float, str]]

    @cached_property
    def texts_seen(self) -> list[Seen]:
        """Every text the run received, in order; several rules read them all."""
        return _texts_seen(self.record)

    @cached_property
    def all_text(self) -> str:
        """The texts seen, joined by line breaks: a pattern that cannot match a line break
        and finds nothing in here finds nothing in any one of them, so a flood is searched
        once instead of text by text."""
        return "\n".join(seen.text for seen in self.texts_seen)

    @cached_property
    def all_text_lowered(self) -> str:
        return self.all_text.lower()

    @property
    def media_type(self) -> str:
        return (self.record.header("Content-Type") or "").split(";", 1)[0].strip().lower()

    @property
    def is_streaming_type(self) -> bool:
        return self.media_type in STREAMING_MEDIA_TYPES

    @property
    def ending(self) -> str:
        return self.record.ending.kind if self.record.ending else "none"

    @property
    def was_cut(self) -> bool:
        """The transport ended before the stream was complete."""
        if self.ending in CUT_ENDINGS:
            return True
        return self.ending == "clean-close" and self.record.expects_terminal and not self.metrics.terminal_seen

    @property
    def content_encoding(self) -> str | None:
        value = (self.record.header("Content-Encoding") or "").strip().lower()
        return value if value and value != "identity" else None


# --- the outcome -------------------------------------------------------------


def arrived_all_at_once(record: Record, metrics: Metrics) -> bool:
    if metrics.bytes == 0 or metrics.time_to_first_byte is None:
        return False
    return metrics.max_share_in_10_ms >= AT_ONCE_SHARE and metrics.time_to_first_byte >= LATE_FIRST_BYTE_SECONDS


def arrived_in_buffer_blocks(metrics: Metrics) -> bool:
    return metrics.buffer_sized_chunk_count >= 2 and metrics.buffer_sized_share >= 0.5


def outcome_of(context: Context) -> str:
    record, metrics = context.record, context.metrics
    ending = context.ending
    if ending == "blocked":
        return "blocked"
    if ending == "connect-error" or (ending == "limit" and record.ending and record.ending.limit == "time-to-headers"):
        return "connect-error"
    if ending == "http-error":
        return "http-error"
    if metrics.error_event_count:
        return "upstream-error"
    if record.facts.get("gzip_members", 0) > 1:
        return "cut-off"  # what curl, httpx and the SDKs on httpx get
    if metrics.finish_reason in LENGTH_FINISH_REASONS:
        return "truncated-by-model"
    if ending == "limit":
        # The probe's own limit stopped it: the server is not to blame for the end.
        return "limit-reached"
    if context.was_cut or ending == "cancelled":
        return "cut-off"
    if one_piece_answer(context) is not None:
        return "buffered"
    if _is_substantial(context) and (arrived_all_at_once(record, metrics) or arrived_in_buffer_blocks(metrics)):
        return "buffered"
    return "healthy"


def _is_substantial(context: Context) -> bool:
    # A one-word answer arriving at once says nothing about buffering; a whole
    # document in a non-streaming type (a JSON answer) does.
    metrics = context.metrics
    if metrics.content_chars and context.media_type and not context.is_streaming_type:
        return True
    return metrics.content_event_count >= 3 or metrics.chunk_count >= 3 or metrics.bytes >= 512


def one_piece_answer(context: Context) -> Event | None:
    """The only content event of a stream that ended properly, when it holds a whole answer
    and came late: the delivery worked, but there was one piece to deliver."""
    record, metrics = context.record, context.metrics
    if not context.is_streaming_type or metrics.content_event_count != 1 or metrics.error_event_count:
        return None
    ended_properly = metrics.terminal_seen or (context.ending == "clean-close" and not record.expects_terminal)
    if not ended_properly:
        return None
    event = next(event for event in record.events if event.kind == "content")
    if len(event.text.split()) < ONE_PIECE_MIN_WORDS or event.t < LATE_FIRST_BYTE_SECONDS:
        return None
    return event


def server_python(record: Record) -> tuple[int, int] | None:
    """The Python version the Server header names, when it names one."""
    found = PYTHON_IN_SERVER.search(record.header("Server") or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


# --- evidence phrasing -------------------------------------------------------


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def at_once_sentence(record: Record, metrics: Metrics) -> str:
    reads = sorted(record.reads, key=lambda read: read.t)
    window = densest_window(reads)
    if window is None:
        return "no bytes arrived"
    share = window.bytes / metrics.bytes if metrics.bytes else 0.0
    if len(reads) == 1:
        lead = f"the whole body ({metrics.bytes} bytes) arrived in one chunk"
    elif window.reads == len(reads):
        lead = f"all {len(reads)} chunks ({metrics.bytes} bytes) arrived within {seconds(window.span)}"
    else:
        lead = f"{window.reads} of {len(reads)} chunks ({share:.0%} of the bytes) arrived within {seconds(window.span)}"
    return f"{lead}, {seconds(window.start)} after the request"


def proxy_signs(record: Record) -> list[str]:
    signs: list[str] = []
    server = record.header("Server")
    if server and any(name in server.lower() for name in PROXY_SERVER_NAMES):
        signs.append(f"Server: {server}")
    for name in ("Via", "CF-Ray"):
        value = record.header(name)
        if value:
            signs.append(f"{name}: {value}")
    return signs


def _header_facts(record: Record) -> list[str]:
    facts = proxy_signs(record)
    if record.header("X-Accel-Buffering") is None:
        facts.append("no X-Accel-Buffering header")
    else:
        facts.append(f"X-Accel-Buffering: {record.header('X-Accel-Buffering')}")
    return facts


def _clamp(value: float) -> float:
    return round(min(max(value, 0.05), 0.99), 2)


def _closest(value: float, table: Mapping[float, str]) -> tuple[float, str] | None:
    """The known constant `value` matches (within 5%, or 50 ms for tiny ones)."""
    matches = [(abs(value - constant), constant, label) for constant, label in table.items()
               if abs(value - constant) <= max(0.05 * constant, 0.05)]
    if not matches:
        return None
    _, constant, label = min(matches)
    return constant, label


# --- the rules ---------------------------------------------------------------


def rule_server_buffering(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    if not arrived_all_at_once(record, metrics):
        return None
    confidence = 0.4
    evidence = [at_once_sentence(record, metrics)]
    if not context.is_streaming_type:
        confidence += 0.25
        evidence.append(f"Content-Type: {record.header('Content-Type') or '(none)'}, not a streaming type")
    content_length = record.header("Content-Length")
    if content_length is not None:
        confidence += 0.15
        evidence.append(f"Content-Length: {content_length} was known before the first byte was sent")
    if metrics.chunk_count <= 2:
        confidence += 0.1
        evidence.append(f"the body came in {metrics.chunk_count} read{'s' if metrics.chunk_count != 1 else ''}")
    if proxy_signs(record) and context.is_streaming_type:
        confidence -= 0.2
    return Cause("server-buffering", _clamp(confidence), evidence)


def rule_proxy_buffering(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    at_once = arrived_all_at_once(record, metrics)
    in_blocks = arrived_in_buffer_blocks(metrics)
    if not (at_once or in_blocks) or not context.is_streaming_type:
        return None
    confidence = 0.45
    evidence = [f"Content-Type: {record.header('Content-Type')} is a streaming type"]
    if at_once:
        evidence.append(at_once_sentence(record, metrics))
    if in_blocks:
        confidence += 0.15
        evidence.append(
            f"{metrics.buffer_sized_chunk_count} chunks were exactly 4/8/16/32 KiB "
            f"({metrics.buffer_sized_share:.0%} of the bytes): a proxy flushing its buffer"
        )
    signs = proxy_signs(record)
    if signs:
        confidence += 0.25
    evidence.extend(_header_facts(record))
    if one_piece_answer(context) is not None:
        # A proxy holds events back but never merges them: one event means the app sent one.
        confidence -= 0.2
        evidence.append("all the text came in a single event: a proxy holds events back but does not merge them")
    if context.content_encoding:
        confidence -= 0.15  # compression explains the same picture
    return Cause("proxy-buffering", _clamp(confidence), evidence)


def one_piece_sentence(context: Context, event: Event) -> str:
    words = len(event.text.split())
    return (f"the whole answer ({words} words, {len(event.text)} characters) arrived in one content event, "
            f"{seconds(event.t)} after the request")


def rule_stream_not_requested(context: Context) -> Cause | None:
    event = one_piece_answer(context)
    if event is None:
        return None
    record = context.record
    evidence = [
        one_piece_sentence(context, event),
        "a model that streams sends a word or a few per event: one event this long means the text was "
        "complete before it was sent, because nothing upstream asked the model, engine or agent to stream",
    ]
    headers_at = record.time_to_headers
    if headers_at is not None and event.t - headers_at >= LATE_FIRST_BYTE_SECONDS:
        evidence.append(f"the headers came {seconds(headers_at)} after the request: the app answered at once, "
                        "then had nothing to send until the answer was complete")
    evidence.append(f"Content-Type: {record.header('Content-Type')}, and the stream ended properly: "
                    "the delivery worked, there was just one piece to deliver")
    python = server_python(record)
    if python is not None and python >= CONTEXT_CARRYING_PYTHON:
        evidence.append(f"Server: {record.header('Server')}: on Python {python[0]}.{python[1]} the callback "
                        "context is carried, so lost callbacks (lost-callback-context) do not explain it")
    return Cause("stream-not-requested", 0.75, evidence)


def rule_lost_callback_context(context: Context) -> Cause | None:
    """The same picture as stream-not-requested, from another cause: only the server's Python
    version tells them apart, and a probe sees it only when the Server header names it."""
    event = one_piece_answer(context)
    if event is None:
        return None
    python = server_python(context.record)
    if python is not None and python >= CONTEXT_CARRYING_PYTHON:
        return None
    evidence = [
        one_piece_sentence(context, event),
        "this looks the same from outside as a model nobody asked to stream: on Python before 3.11, "
        "LangChain and LangGraph lose the run's callbacks in async code unless the config is passed on, "
        "so the model is not streamed and stream_mode=\"messages\" gets the reply when the node ends",
    ]
    if python is None:
        evidence.append("the tell is the server's Python version: 3.10 or earlier with LangChain or LangGraph "
                        "callbacks points here; the same code on 3.11 or later streams")
        return Cause("lost-callback-context", 0.45, evidence)
    evidence.append(f"Server: {context.record.header('Server')}: the app runs Python {python[0]}.{python[1]}, "
                    "where this happens; if it uses LangChain or LangGraph, pass the config to the model call")
    return Cause("lost-callback-context", 0.7, evidence)


def rule_compression_buffering(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    encoding = context.content_encoding
    if not encoding or not context.is_streaming_type:
        return None
    bursty = (
        arrived_all_at_once(record, metrics)
        or arrived_in_buffer_blocks(metrics)
        or (metrics.chunk_count >= 4 and metrics.burst_chunk_count >= metrics.chunk_count / 2)
    )
    if not bursty:
        return None
    evidence = [f"Content-Encoding: {encoding} on {context.media_type}", at_once_sentence(record, metrics)]
    if metrics.burst_chunk_count:
        evidence.append(
            f"{metrics.burst_chunk_count} of {metrics.chunk_count} chunks arrived in bursts (under 5 ms apart)"
        )
    return Cause("compression-buffering", _clamp(0.7), evidence)


def rule_per_chunk_compression(context: Context) -> Cause | None:
    members = int(context.record.facts.get("gzip_members", 0))
    if members <= 1:
        return None
    decoded = int(context.record.facts.get("decoded_bytes", 0))
    first = int(context.record.facts.get("first_gzip_member_bytes", 0))
    return Cause(
        "per-chunk-compression",
        0.95,
        [
            f"the gzip body holds {members} separate gzip members, one per chunk",
            f"curl, httpx and the SDKs built on httpx decode only the first member: "
            f"they get {first} of {decoded} bytes, then a clean end with no terminal event",
        ],
    )


def rule_idle_timeout(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    if record.status == 524:
        return Cause("idle-timeout", 0.6, [
            "HTTP 524: Cloudflare got no response from the origin within its timeout (100 s by default)",
        ])
    gap = metrics.gap_before_end
    if not context.was_cut or gap is None:
        return None
    match = _closest(gap, context.timeouts.get("idle", {}))
    rhythm = metrics.gap_p95
    breaks_rhythm = (
        metrics.chunk_count >= 2 and gap >= SILENCE_AT_LEAST_SECONDS
        and (rhythm is None or gap >= SILENCE_TIMES_RHYTHM * rhythm)
    )
    evidence = [f"the connection closed {seconds(gap)} after the last byte ({context.ending}), with no terminal event"]
    if match is None and gap < LONG_SILENCE_SECONDS and not breaks_rhythm:
        return None
    if breaks_rhythm and rhythm:
        evidence.append(f"before that, chunks came at least every {seconds(rhythm)} (95th percentile): "
                        "the stream went quiet, then was closed")
    if match:
        confidence = 0.8
        evidence.append(f"that matches {match[1]}")
    else:
        confidence = 0.6 if breaks_rhythm else 0.4
        evidence.append(f"an idle timer of about {seconds(gap)} sits between you and the app "
                        "(a proxy's read timeout, a load balancer's idle timeout)")
    hard = _closest(metrics.duration_since_sent, context.timeouts.get("hard", {}))
    if hard and abs(metrics.duration_since_sent - gap) < 0.25 * metrics.duration_since_sent:
        # Nothing flowed before the cut, so total time and silence are the
        # same number: the two timeouts cannot be told apart from this run.
        confidence -= 0.25
        evidence.append(f"the total time ({seconds(metrics.duration_since_sent)}) also matches {hard[1]}")
    if metrics.comment_count:
        evidence.append(f"{metrics.comment_count} heartbeat comments arrived, but not during the final silence")
    else:
        evidence.append("no heartbeat comments were sent")
    return Cause("idle-timeout", _clamp(confidence), evidence)


def rule_request_timeout(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    hard_table = context.timeouts.get("hard", {})
    if record.status in TIMEOUT_STATUSES:
        waited = (record.time_to_headers or metrics.duration) - (metrics.request_sent or 0.0)
        match = _closest(waited, hard_table)
        evidence = [f"HTTP {record.status} after {seconds(waited)}, before any content"]
        if match:
            evidence.append(f"that matches {match[1]}")
            return Cause("request-timeout", 0.8, evidence)
        return Cause("request-timeout", 0.5 if record.status in (504, 524) else 0.3, evidence)
    if not context.was_cut:
        return None
    elapsed = metrics.duration_since_sent
    match = _closest(elapsed, hard_table)
    gap = metrics.gap_before_end or 0.0
    flowing = gap <= 0.25 * elapsed
    if match:
        confidence = 0.85 if flowing else 0.55
        evidence = [f"the stream was cut {seconds(elapsed)} after the request was sent", f"that matches {match[1]}"]
        if flowing:
            evidence.append(f"data was still flowing: the last chunk came {seconds(gap)} before the cut")
        return Cause("request-timeout", confidence, evidence)
    if not flowing:
        return None
    evidence = [f"the stream was cut {seconds(elapsed)} after the request was sent, while data was still flowing "
                f"(last chunk {seconds(gap)} before the cut): a limit on total time would do this"]
    confidence = 0.35 if elapsed >= 5 else 0.0
    server = (record.header("Server") or "").lower()
    said = next((why for name, why in TIME_LIMITED_SERVERS.items() if name in server), None)
    if said:
        confidence = max(confidence, 0.3) + 0.3
        evidence.append(f"Server: {record.header('Server')}: {said}")
    whole = round(elapsed)
    if whole >= 2 and abs(elapsed - whole) <= ROUND_CUT_TOLERANCE:
        confidence = max(confidence, 0.3) + 0.15
        evidence.append(f"the cut came at {whole} s almost exactly: configured limits are whole seconds, "
                        "while a crash lands anywhere")
    if not confidence:
        return None
    evidence.append(
        "run it again (--repeat 3, or 'several times' in the form): a limit cuts at the same time every run"
    )
    return Cause("request-timeout", _clamp(confidence), evidence)


def rule_content_length_mismatch(context: Context) -> Cause | None:
    record = context.record
    declared = record.header("Content-Length")
    if declared is None:
        return None
    if context.ending == "incomplete-read":
        reason = record.ending.reason if record.ending else ""
        return Cause("content-length-mismatch", 0.9, [
            f"Content-Length: {declared} was declared, but the body ended short ({reason})",
        ])
    if context.was_cut and declared.isdigit() and int(declared) == context.metrics.bytes:
        return Cause("content-length-mismatch", 0.85, [
            f"the body stopped at exactly the declared Content-Length ({declared} bytes), "
            "before the stream's terminal event",
            "a Content-Length computed from the first chunk(s) of a stream cuts it there",
        ])
    if context.is_streaming_type:
        return Cause("content-length-mismatch", 0.35, [
            f"Content-Length: {declared} is declared on a {context.media_type} stream; "
            "any middleware that changes the body will break it",
        ])
    return None


def rule_token_limit(context: Context) -> Cause | None:
    reason = context.metrics.finish_reason
    if reason not in LENGTH_FINISH_REASONS:
        return None
    evidence = [f"the model reported finish reason '{reason}': it stopped at its output token limit"]
    if context.metrics.output_tokens is not None:
        evidence.append(f"{context.metrics.output_tokens} output tokens were reported in the usage")
    return Cause("token-limit", 0.95, evidence)


def rule_upstream_error(context: Context) -> Cause | None:
    events = context.record.events
    first_error = next((event for event in events if event.kind == "error"), None)
    if first_error is None:
        return None
    content_before = sum(1 for event in events if event.kind == "content" and event.t <= first_error.t)
    detail = f": {first_error.detail}" if first_error.detail else ""
    if content_before:
        return Cause("upstream-error", 0.9, [
            f"an error event arrived at {seconds(first_error.t)}, after {content_before} content events{detail}",
        ])
    return Cause(
        "upstream-error", 0.7, [f"an error event arrived at {seconds(first_error.t)}, before any content{detail}"]
    )


def rule_callback_exception(context: Context) -> Cause | None:
    """A clean FIN right after a chunk, no terminal event and no timeout that
    fits: the handler most likely raised mid-stream."""
    metrics = context.metrics
    if context.ending not in ("clean-close", "incomplete-read") or not context.was_cut:
        return None
    if metrics.error_event_count or context.record.header("Content-Length") is not None:
        return None  # the error event or the declared length explains the end
    gap = metrics.gap_before_end or 0.0
    if gap > 1.0 or _closest(gap, context.timeouts.get("idle", {})):
        return None
    if _closest(metrics.duration_since_sent, context.timeouts.get("hard", {})):
        return None
    return Cause("callback-exception", 0.35, [
        f"the stream stopped {seconds(gap)} after its last chunk, with no terminal event "
        f"and {metrics.content_event_count} content events delivered",
        "no known timeout matches the total time; server logs will show a traceback if a handler raised",
    ])


def rule_state_growth(context: Context) -> Cause | None:
    content = [event.t for event in context.record.events if event.kind == "content"]
    if len(content) < 9:
        return None
    gaps = [later - earlier for earlier, later in pairwise(content)]
    third = len(gaps) // 3
    early, late = percentile(gaps[:third], 50) or 0.0, percentile(gaps[-third:], 50) or 0.0
    if late < 0.2 or late < 3 * max(early, 0.001):
        return None
    return Cause("state-growth", 0.35, [
        f"gaps between content events grew over the run: median {seconds(early)} in the first third, "
        f"{seconds(late)} in the last third",
    ])


# --- what the body and the stream say in words --------------------------------

# asyncio's own messages when an app runs or reuses event loops wrongly; Django's
# async_to_sync has one of its own.
EVENT_LOOP_MESSAGES = (
    "event loop is closed",
    "asyncio.run() cannot be called from a running event loop",
    "this event loop is already running",
    "attached to a different loop",
    "cannot run the event loop while another loop is running",
    "there is no current event loop",
    "no running event loop",
    "you cannot use asynctosync in the same thread as an async event loop",
)
# A whole library object printed where its text was meant to go: the handler
# writes str(chunk) and the chunk is no longer a string.
OBJECT_REPR = re.compile(
    r"\b(?:AIMessageChunk|AIMessage|ChatResponse|StreamingAgentChatResponse|StreamingResponse|CompletionResponse"
    r"|ChatCompletionChunk|ChoiceDelta|ChatGenerationChunk|GenerationChunk)\("
    r"|content=(['\"]).*?\1 additional_kwargs="
    r"|<(?:async_generator|generator|coroutine) object "
)
STREAMING_NAME = r"'(\w*(?:stream|_gen|token|chunk|delta|choices|content|message)\w*)'"
API_MISMATCH = re.compile(
    r"has no attribute " + STREAMING_NAME
    + r"|unexpected keyword argument " + STREAMING_NAME
    + r"|Disallowed create args"
    + r"|'(?:async_generator|generator|coroutine)' object is not (?:iterable|an iterator|subscriptable)"
    + r"|'\w*(?:Chunk|Delta|Choice|Response)' object is not (?:subscriptable|iterable)"
)
QUOTE_CHARS = 160


class Seen(NamedTuple):
    """A piece of text the run received, and where it came from. A flood has a hundred
    thousand of these and evidence quotes one, so they are tuples, cheap to make, and
    `where` is worded only when asked."""

    place: str  # may hold "{at}", the time it arrived
    text: str
    in_error: bool  # part of a non-2xx answer or an error event
    t: float = 0.0

    @property
    def where(self) -> str:
        return self.place.format(at=seconds(self.t)) if "{at}" in self.place else self.place


def texts_seen(context: Context) -> list[Seen]:
    return context.texts_seen


def _texts_seen(record: Record) -> list[Seen]:
    status = record.status
    failed = status is not None and not 200 <= status < 300
    seen: list[Seen] = []
    if record.facts.get("error_body"):
        seen.append(Seen(f"the HTTP {status} body", str(record.facts["error_body"]), True))
    content = [event for event in record.events if event.kind == "content" and event.text]
    if failed and content:
        # The body of an error page: one text, however the reads split it.
        seen.append(Seen(f"the HTTP {status} body", "".join(event.text for event in content), True))
    elif content:
        seen.extend(
            Seen(f"content event {index} (at {{at}})", event.text, False, event.t)
            for index, event in enumerate(content, start=1)
        )
    for event in record.events:
        if event.kind == "error" and event.detail:
            seen.append(Seen("the error event at {at}", event.detail, True, event.t))
        elif event.kind == "garbage" and event.text:
            seen.append(Seen("a data field that is not JSON (at {at})", event.text, True, event.t))
    if record.ending and record.ending.kind == "http-error" and record.ending.reason:
        seen.append(Seen("the error the client reported", record.ending.reason, True))
    return seen


def quote(text: str, start: int, end: int) -> str:
    """The line around a match, short enough for a sentence."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end != -1 else len(text)].strip()
    if len(line) <= QUOTE_CHARS:
        return line
    offset = max(0, min(start - line_start - QUOTE_CHARS // 3, len(line) - QUOTE_CHARS))
    return ("…" if offset else "") + line[offset : offset + QUOTE_CHARS].strip() + "…"


def rule_event_loop_misuse(context: Context) -> Cause | None:
    if not any(message in context.all_text_lowered for message in EVENT_LOOP_MESSAGES):
        return None
    for seen in texts_seen(context):
        lowered = seen.text.lower()
        for message in EVENT_LOOP_MESSAGES:
            start = lowered.find(message)
            if start == -1:
                continue
            said = f'{seen.where} says "{quote(seen.text, start, start + len(message))}"'
            explanation = (
                "asyncio raises this when an app runs or reuses event loops wrongly: asyncio.run() inside a "
                "running loop, a client made on one loop and used on another, a loop used after it was closed"
            )
            if seen.in_error:
                return Cause("event-loop-misuse", 0.95, [said, explanation])
            # In a 2xx stream it may be the app relaying its own error, or the
            # model writing about asyncio.
            return Cause("event-loop-misuse", 0.5, [
                said, explanation,
                "it arrived inside a successful stream, so it may be the app passing its error on as text, "
                "or simply the model's words",
            ])
    return None


def rule_version_drift(context: Context) -> Cause | None:
    if not (API_MISMATCH.search(context.all_text) or OBJECT_REPR.search(context.all_text)):
        return None
    for seen in texts_seen(context):
        found = API_MISMATCH.search(seen.text) if seen.in_error else None
        if found:
            return Cause("version-drift", 0.75, [
                f'{seen.where} says "{quote(seen.text, found.start(), found.end())}"',
                "a streaming name that the code uses does not exist in the installed library, "
                "as when code written for one version runs against another",
            ])
        found = OBJECT_REPR.search(seen.text)
        if found:
            return Cause("version-drift", 0.6, [
                f'{seen.where} holds a printed Python object instead of text: '
                f'"{quote(seen.text, found.start(), found.end())}"',
                "the handler writes each chunk as text, but the library yields objects: code written for a "
                "version that yielded strings, or that reads .content / .delta in a newer one, does this",
            ])
    return None


# --- a second run in one stream ------------------------------------------------

RUN_START_EVENTS = ("message_start", "response.created")
RESTART_MIN_CHARS = 12
RESTART_FULL_CHARS = 60


@dataclass(frozen=True)
class Restart:
    index: int  # of the content event where the text starts over
    t: float
    chars_before: int  # of text before the restart
    repeated_chars: int
    pause: float  # silence before it
    typical_gap: float  # median gap between content events


def text_restart(record: Record) -> Restart | None:
    """Where the text starts over from its first words, at a chunk boundary,
    exactly once (a text that repeats again and again is a model looping, not a
    second run). A restart repeats all that came before it, or its first 60
    characters, or all that follows, whichever is least, and never fewer than 12."""
    content = [event for event in record.events if event.kind == "content" and event.detail is None]
    full = "".join(event.text for event in content)
    restarts: list[tuple[int, int]] = []
    offset = 0
    for index, event in enumerate(content):
        needed = max(RESTART_MIN_CHARS, min(offset, RESTART_FULL_CHARS, len(full) - offset))
        if index and full.startswith(full[:needed], offset):
            restarts.append((index, offset))
            if len(restarts) > 1:
                return None
        offset += len(event.text)
    if not restarts:
        return None
    index, before = restarts[0]
    repeated = _repeated_from(full, before)
    gaps = [later.t - earlier.t for earlier, later in pairwise(content)]
    return Restart(index, content[index].t, before, repeated, gaps[index - 1], percentile(gaps, 50) or 0.0)


def _repeated_from(text: str, offset: int) -> int:
    """How many characters from `offset` on repeat the start of `text`: whole blocks
    compared as slices, then the last block character by character."""
    block = 4096
    length = 0
    limit = len(text) - offset
    while length + block <= limit and text[length : length + block] == text[offset + length : offset + length + block]:
        length += block
    while length < limit and text[length] == text[offset + length]:
        length += 1
    return length


def rule_retry_duplicate_runs(context: Context) -> Cause | None:
    record = context.record
    evidence: list[str] = []
    confidence = 0.0
    ids: dict[str, int] = record.facts.get("completion_ids") or {}
    # Servers that mint an id per chunk give every id one chunk; two runs give
    # a few ids with many chunks each.
    runs = {ident: count for ident, count in ids.items() if count >= 2}
    if len(runs) >= 2 and len(ids) <= 4:
        confidence = 0.8
        listed = ", ".join(f"{ident} ({count} chunks)" for ident, count in ids.items())
        evidence.append(f"the chunks carried {len(ids)} different completion ids: {listed}")
        changes = int(record.facts.get("completion_id_changes", 0))
        if changes > len(ids) - 1:
            evidence.append(f"the id switched {changes} times: the runs' chunks were interleaved")
        else:
            evidence.append("each id took over after the previous one stopped: a second run followed the first")
    starts = Counter(event.name for event in record.events if event.name in RUN_START_EVENTS)
    for name, count in starts.items():
        if count >= 2:
            confidence = max(confidence, 0.8)
            evidence.append(f"{count} {name} events arrived; one response has one")
    restarts = int(record.facts.get("role_restarts", 0))
    if restarts:
        confidence = max(confidence, 0.7)
        evidence.append(
            f"the assistant role was announced again {restarts} time{'s' if restarts > 1 else ''} "
            "after content had begun, as at the start of a new completion"
        )
    restart = text_restart(record)
    if restart is not None:
        paused = restart.pause >= max(0.2, 3 * restart.typical_gap)
        if restart.repeated_chars >= restart.chars_before:
            repeat = f"all {restart.chars_before} characters sent before it came again"
        else:
            repeat = f"the first {restart.repeated_chars} characters came again"
        sentence = f"the text started over at content event {restart.index + 1} ({seconds(restart.t)}): {repeat}"
        if paused:
            sentence += f", after a silence of {seconds(restart.pause)}"
        if confidence:
            confidence += 0.1
            evidence.append(sentence)
        elif paused:
            # Without a marker of a new run, only a pause before the repeat
            # (the first run stalling, then a retry) tells it from a text that
            # happens to repeat itself.
            confidence = 0.5
            evidence.append(sentence)
    if not evidence:
        return None
    evidence.append(
        "something between the client and the model (a gateway, a queue, an orchestration layer) ran the request "
        "a second time, and both runs wrote to this stream"
    )
    return Cause("retry-duplicate-runs", _clamp(confidence), evidence)


# --- serverless platforms ------------------------------------------------------

PLATFORM_HEADERS: dict[str, tuple[str, ...]] = {
    "aws": ("X-Amzn-RequestId", "X-Amz-Apigw-Id", "Apigw-Requestid", "X-Amzn-ErrorType"),
    "vercel": ("X-Vercel-Id", "X-Vercel-Error"),
    "netlify": ("X-Nf-Request-Id",),
}
# Server values that name a platform ("awselb" is a load balancer, not Lambda).
PLATFORM_SERVER_NAMES = ("vercel", "netlify")
PLATFORM_NAMES = {"aws": "AWS (Lambda or API Gateway)", "vercel": "Vercel Functions", "netlify": "Netlify Functions"}
# Duration limits, in seconds, as each platform documents them.
PLATFORM_LIMITS: dict[str, dict[float, str]] = {
    "aws": {
        3.0: "a Lambda function's default timeout (3 s)",
        29.0: "API Gateway's 29 s integration timeout (REST APIs)",
        900.0: "the 15 minute ceiling of a Lambda function and of an API Gateway stream",
    },
    "vercel": {
        10.0: "the 10 s default Vercel functions had on Hobby plans before Fluid compute",
        60.0: "the 60 s limit Vercel functions had on Pro plans before Fluid compute",
        300.0: "Vercel's default maxDuration with Fluid compute (300 s)",
        800.0: "the longest maxDuration Vercel allows on Pro and Enterprise (800 s)",
    },
    "netlify": {
        10.0: "the 10 s limit Netlify functions had by default on older sites",
        26.0: "the 26 s limit older Netlify sites could raise their functions to",
        60.0: "Netlify's 60 s limit on synchronous functions",
    },
}
# What the platforms write when they stop a function for running too long.
PLATFORM_TIMEOUT_MESSAGES = {
    "function_invocation_timeout": "vercel",
    "task timed out after": "aws",
    "endpoint request timed out": "aws",
}
# Response streaming is throttled after a size: Lambda after its first 6 MB,
# API Gateway after 10 MB, both to about 2 MB/s.
THROTTLE_THRESHOLDS = ((6 * 1024 * 1024, "Lambda response streaming"), (10 * 1024 * 1024, "API Gateway streaming"))
THROTTLED_RATE = 2.5 * 1024 * 1024


def platform_signs(record: Record) -> tuple[str | None, list[str]]:
    server = record.header("Server") or ""
    for platform, names in PLATFORM_HEADERS.items():
        signs = [f"Server: {server}"] if platform in PLATFORM_SERVER_NAMES and platform in server.lower() else []
        signs += [f"{name}: {value}" for name in names if (value := record.header(name))]
        if signs:
            return platform, signs
    return None, []


def _platform_timeout_said(context: Context) -> tuple[str, str] | None:
    """(platform, sentence) when the platform itself names a timeout."""
    for name in ("X-Vercel-Error", "X-Amzn-ErrorType"):
        value = context.record.header(name)
        if value and ("timeout" in value.lower() or "timedout" in value.lower()):
            return ("vercel" if "Vercel" in name else "aws"), f"{name}: {value}"
    for seen in texts_seen(context):
        if not seen.in_error:
            continue
        lowered = seen.text.lower()
        for message, platform in PLATFORM_TIMEOUT_MESSAGES.items():
            start = lowered.find(message)
            if start != -1:
                return platform, f'{seen.where} says "{quote(seen.text, start, start + len(message))}"'
    return None


def _throttled(record: Record) -> tuple[str, RatesAround] | None:
    for threshold, label in THROTTLE_THRESHOLDS:
        rates = rates_around(record.reads, threshold)
        if (
            rates is not None
            and rates.bytes_after >= 1024 * 1024
            and rates.after <= THROTTLED_RATE
            and rates.before >= 2 * rates.after
        ):
            return label, rates
    return None


def _megabytes_per_second(rate: float) -> str:
    return f"{rate / (1024 * 1024):.1f} MB/s"


def rule_serverless_limits(context: Context) -> Cause | None:
    record, metrics = context.record, context.metrics
    platform, signs = platform_signs(record)
    said = _platform_timeout_said(context)
    if said is not None:
        named = platform or said[0]
        return Cause("serverless-limits", 0.9, [
            said[1], *(sign for sign in signs if sign != said[1]),
            f"{PLATFORM_NAMES[named]} stopped the function because it ran longer than its maximum duration",
        ])
    throttled = _throttled(record)
    if throttled is not None:
        label, rates = throttled
        evidence = [
            f"the stream ran at {_megabytes_per_second(rates.before)} until its first "
            f"{rates.threshold // (1024 * 1024)} MB, then at {_megabytes_per_second(rates.after)}",
            f"{label} is throttled to about 2 MB/s after that size",
        ]
        return Cause("serverless-limits", 0.7 if platform else 0.35, [*evidence, *signs])
    if platform is None:
        return None
    if record.status in TIMEOUT_STATUSES or record.status == 500:
        elapsed = (record.time_to_headers or metrics.duration) - (metrics.request_sent or 0.0)
        what, flowing = f"HTTP {record.status} after {seconds(elapsed)}", False
    elif context.was_cut:
        elapsed = metrics.duration_since_sent
        gap = metrics.gap_before_end or 0.0
        what, flowing = f"the stream was cut {seconds(elapsed)} after the request was sent", gap <= 0.25 * elapsed
    else:
        return None
    evidence = [f"the response came from {PLATFORM_NAMES[platform]}: {'; '.join(signs)}", what]
    match = _closest(elapsed, PLATFORM_LIMITS[platform]) or _closest(elapsed, context.timeouts.get("hard", {}))
    if match is None:
        evidence.append("no documented limit of the platform matches that time; its duration limit is configurable")
        # Cut while bytes were still arriving (the last within a second), by a platform that
        # ends functions at their configured duration: the likeliest cap, above a generic
        # limit on total time. After a silence it is only a weak pointer.
        arriving = flowing and (metrics.gap_before_end or 0.0) <= 1.0
        return Cause("serverless-limits", 0.55 if arriving else 0.3, evidence)
    evidence.append(f"that matches {match[1]}")
    if flowing:
        evidence.append("data was still flowing when it stopped, as when a platform ends a function that runs too long")
    return Cause("serverless-limits", 0.9 if flowing else 0.75, evidence)


# --- several streams, and pointers for a healthy run ---------------------------

# Headers that name the server or hop that answered; per-request ids are left out.
ROUTING_HEADERS = ("Server", "Via", "X-Served-By")
FINE_OUTCOMES = frozenset({"healthy", "truncated-by-model"})
FAILED_OUTCOMES = frozenset({"cut-off", "http-error", "upstream-error", "connect-error"})


def rule_multi_worker_routing(
    records: Sequence[Record], outcomes: Sequence[str], analysis: OverlapAnalysis
) -> Cause | None:
    """Identical requests sent at once that got different fates: the servers
    behind the address are not interchangeable."""
    fine, failed = [], []
    for record, outcome in zip(records, outcomes, strict=True):
        if record.ending and record.ending.kind in ("limit", "cancelled"):
            continue  # our own limit, not the server's doing
        if outcome in FINE_OUTCOMES:
            fine.append(record)
        elif outcome in FAILED_OUTCOMES:
            failed.append(record)
    if not fine or not failed:
        return None
    kinds = Counter(
        f"HTTP {r.status}" if r.status and not 200 <= r.status < 300 else (r.ending.kind if r.ending else "?")
        for r in failed
    )
    described = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    lead = (f"{len(failed)} of {len(fine) + len(failed)} identical requests sent at once failed ({described}) "
            f"while {len(fine)} streamed to the end")
    for name in ROUTING_HEADERS:
        good = {record.header(name) for record in fine}
        bad = {record.header(name) for record in failed}
        if good.isdisjoint(bad) and (good | bad) != {None}:
            def listed(values: set[str | None], name: str = name) -> str:
                return " or ".join(sorted(f"{name}: {value}" if value else f"no {name}" for value in values))

            return Cause("multi-worker-routing", 0.65, [
                lead,
                f"every failed stream came back with {listed(bad)}, every good one with {listed(good)}: "
                "the failures follow the server that answered",
            ])
    if len(analysis.first_byte_steps) >= 2:
        return None  # streams queued for a worker: saturation explains failures better
    return Cause("multi-worker-routing", 0.3, [
        lead,
        "the requests did not queue, so the difference lies in who answered: a replica with other code or "
        "settings, or a stream or session that lives in one worker's memory",
    ])


# A cause this strong already tells the person where to look.
HINT_BELOW = 0.5


@dataclass
class Hint:
    """Where to look when a probe saw nothing wrong but people still do. Not a
    cause: nothing in the run supports one; a pointer to one worth checking."""

    id: str
    text: str

    def __post_init__(self) -> None:
        if self.id not in CAUSE_IDS:
            raise ValueError(f"{self.id!r} is not a cause id of the vocabulary")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def hints_for_healthy(metrics: Metrics, *, parallel: bool) -> list[Hint]:
    ended = "its terminal event" if metrics.terminal_seen else "a clean end"
    hints = [Hint("client-disconnect", (
        f"The endpoint streamed {metrics.content_event_count} content events to {ended} for this probe. "
        "If your users still see it stop, the cut is likely on their side: the page or client aborting the request "
        "(an AbortController, navigating away, an unmounted component, a client timeout or retry). The server's "
        "logs then show a disconnect (ClientDisconnect, CancelledError, BrokenPipeError) at the moment it stops."
    ))]
    if not parallel:
        hints.append(Hint("multi-worker-routing", (
            "This was one request, answered by one server. If several replicas or workers serve this endpoint, "
            "run several streams in parallel: failures that hit only some of them point at a replica that "
            "differs or at state held by one worker."
        )))
    return hints


Rule = Callable[[Context], Cause | None]

RULES: tuple[Rule, ...] = (
    rule_server_buffering,
    rule_proxy_buffering,
    rule_stream_not_requested,
    rule_lost_callback_context,
    rule_compression_buffering,
    rule_per_chunk_compression,
    rule_idle_timeout,
    rule_request_timeout,
    rule_content_length_mismatch,
    rule_token_limit,
    rule_upstream_error,
    rule_callback_exception,
    rule_state_growth,
    rule_event_loop_misuse,
    rule_version_drift,
    rule_retry_duplicate_runs,
    rule_serverless_limits,
)


# --- concurrency rules -------------------------------------------------------


def concurrency_causes(analysis: OverlapAnalysis) -> list[Cause]:
    causes = [rule_worker_saturation(analysis), rule_blocking_event_loop(analysis), rule_only_under_load(analysis)]
    return [cause for cause in causes if cause is not None]


def rule_worker_saturation(analysis: OverlapAnalysis) -> Cause | None:
    steps = analysis.first_byte_steps
    if analysis.n < 2 or len(steps) < 2:
        return None
    sizes = [len(step) for step in steps]
    described = ", ".join(f"{len(step)} at {seconds(sum(step) / len(step))}" for step in steps[:6])
    confidence = 0.6
    evidence = [f"first bytes of {analysis.n} parallel streams came in {len(steps)} steps: {described}"]
    if len(set(sizes[:-1])) == 1:
        confidence += 0.15
        served = f"{sizes[0]} requests are" if sizes[0] != 1 else "1 request is"
        evidence.append(f"about {served} served at a time; the rest queue")
    return Cause("worker-saturation", _clamp(confidence), evidence)


def rule_blocking_event_loop(analysis: OverlapAnalysis) -> Cause | None:
    evidence: list[str] = []
    confidence = 0.0
    if analysis.ran_serially:
        confidence = 0.5
        evidence.append(
            f"the {analysis.n} parallel streams ran one after another: each began only when the previous ended"
        )
    concurrent_gaps = [stream.median_gap for stream in analysis.streams if stream.median_gap is not None]
    baseline = analysis.baseline_median_gap
    typical = percentile(concurrent_gaps, 50)
    if baseline and typical and typical >= 3 * baseline and typical >= 0.02 and analysis.max_overlap > 1:
        confidence = max(confidence, 0.6)
        evidence.append(
            f"chunk gaps grew from {seconds(baseline)} for one stream alone to {seconds(typical)} "
            f"with {analysis.n} streams at once"
        )
    if not evidence:
        return None
    return Cause("blocking-event-loop", _clamp(confidence), evidence)


def rule_only_under_load(analysis: OverlapAnalysis) -> Cause | None:
    failed = [stream for stream in analysis.streams if stream.ending in CUT_ENDINGS]
    if not failed or analysis.baseline_ending is None or analysis.baseline_ending in CUT_ENDINGS:
        return None
    return Cause("shared-client-race", 0.3, [
        f"{len(failed)} of {analysis.n} parallel streams were cut, while the same request alone was not",
        "cut-offs that only happen under concurrency point at shared state or at routing between workers",
    ])


# --- putting it together -----------------------------------------------------


def diagnose(
    record: Record,
    metrics: Metrics | None = None,
    *,
    timeouts: Mapping[str, Mapping[float, str]] = KNOWN_TIMEOUTS,
    concurrency: OverlapAnalysis | None = None,
) -> Diagnosis:
    context = Context(record, metrics or measure(record), timeouts)
    causes = [cause for rule in RULES if (cause := rule(context)) is not None]
    if concurrency is not None:
        causes.extend(concurrency_causes(concurrency))
    causes.sort(key=lambda cause: cause.confidence, reverse=True)
    outcome = outcome_of(context)
    if outcome == "healthy" and any(
        cause.id in CONTENT_CAUSES and cause.confidence >= CONTENT_ERROR_CONFIDENCE for cause in causes
    ):
        outcome = "content-error"
    hints = hints_for_healthy(context.metrics, parallel=concurrency is not None) if unexplained(outcome, causes) else []
    return Diagnosis(outcome=outcome, summary=summarise(outcome, context), causes=causes, hints=hints)


# Causes whose evidence is in the content itself (a second run, printed library objects):
# when one is well supported, a stream whose transport was fine still failed its reader.
CONTENT_CAUSES = frozenset({"retry-duplicate-runs", "version-drift"})
CONTENT_ERROR_CONFIDENCE = 0.6


def unexplained(outcome: str, causes: list[Cause]) -> bool:
    """Healthy, and no cause the run gives real support to: the only case where
    pointing past the probe's own view helps."""
    return outcome == "healthy" and all(cause.confidence < HINT_BELOW for cause in causes)


def summarise(outcome: str, context: Context) -> str:
    record, metrics = context.record, context.metrics
    ending = record.ending
    reason = ending.reason if ending else ""
    if outcome == "blocked":
        return f"The target was refused by the outbound policy: {reason}."
    if outcome == "connect-error":
        return f"No response: {reason}."
    if outcome == "http-error":
        return f"The server answered with HTTP {record.status}."
    delivered = (
        f"{metrics.content_event_count} content events ({metrics.content_chars} characters)"
        f" over {seconds(metrics.duration)}"
    )
    if outcome == "upstream-error":
        return f"An error event arrived in the stream after {delivered}."
    if outcome == "truncated-by-model":
        return (
            f"The model stopped on its length limit ('{metrics.finish_reason}') after {delivered};"
            " the transport was fine."
        )
    if outcome == "limit-reached":
        return (
            f"Stopped by the probe's own {ending.limit if ending else ''} limit after {delivered}: {reason}. "
            "The stream had not ended; what arrived until then is described."
        )
    if outcome == "content-error":
        return f"The transport was fine, but the content is wrong: {delivered}, then a problem in the text itself."
    if outcome == "cut-off":
        if ending and ending.kind == "cancelled":
            return f"The run was cancelled after {delivered}."
        if record.facts.get("gzip_members", 0) > 1:
            return (
                "The body is gzip-compressed one member per chunk: curl, httpx and the SDKs built on httpx "
                f"stop after the first member. Decoded in full it held {delivered}."
            )
        how = ending.kind if ending else "no ending"
        return f"The stream ended before its terminal event ({how}) after {delivered}."
    if outcome == "buffered":
        piece = one_piece_answer(context)
        how = one_piece_sentence(context, piece) if piece is not None else at_once_sentence(record, metrics)
        return f"All content arrived, but not incrementally: {how}."
    return f"Streamed {delivered} and ended {'with its terminal event' if metrics.terminal_seen else 'cleanly'}."

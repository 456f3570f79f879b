"""A Record rebuilt from a stream measured somewhere else: timed arrivals of raw bytes, the
response's status and headers, and how it ended. The body goes through the same
decompression and format decoders as a live probe's, so the same rules can read it, and
the live events a run page draws come from the record as they would from the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .compression import DecodeFailed, Decompressor
from .events import LiveEvent, StreamEvent
from .formats import make_decoder
from .record import (
    SECRET_PLACEHOLDER,
    Ending,
    Read,
    Record,
    RequestInfo,
    is_secret_header_name,
    looks_like_token,
    map_strings,
    pick_headers_that_matter,
    redact_url,
    url_secrets,
)
from .spec import Limits

LANE = "stream"


class CaseInsensitive(dict[str, str]):
    """Response headers as the header picker reads them: `.get` ignores case."""

    def get(self, name: str, default: Any = None) -> Any:
        wanted = name.lower()
        return next((value for key, value in self.items() if key.lower() == wanted), default)


@dataclass
class Measured:
    """A stream as some other tool saw it. Times are seconds since the request was sent."""

    method: str
    url: str
    request_headers: Sequence[tuple[str, str]]
    status: int | None
    http_version: str | None
    headers: Mapping[str, str]
    time_to_headers: float | None
    arrivals: Sequence[tuple[float, bytes]]
    ending_kind: str | None  # None: decide from the body (terminal event or a clean close)
    ending_t: float | None
    ending_reason: str = ""
    format: str = "auto"
    body_readable: bool = True  # False when the tool showed the bytes lossily


def blank_request_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (name, SECRET_PLACEHOLDER if is_secret_header_name(name) or looks_like_token(value) else value)
        for name, value in headers
    ]


def record_from(measured: Measured, limits: Limits | None = None) -> Record:
    limits = limits or Limits()
    record = Record(
        request=RequestInfo(method=measured.method, url=redact_url(measured.url),
                            headers=blank_request_headers(measured.request_headers)),
        format=measured.format,
    )
    record.status, record.http_version = measured.status, measured.http_version
    record.headers = pick_headers_that_matter(CaseInsensitive(measured.headers))
    record.time_to_headers = measured.time_to_headers
    record.facts["milestones"] = {"request_sent": 0.0}
    headers = CaseInsensitive(measured.headers)
    decompressor = Decompressor(headers.get("content-encoding"))
    decoder = make_decoder(measured.format, headers.get("content-type", ""), limits.max_line_bytes)
    decoding = measured.body_readable
    decoded = 0
    last_t = 0.0
    for t, raw in measured.arrivals:
        last_t = t
        record.reads.append(Read(t=t, size=len(raw)))
        if not decoding:
            continue
        try:
            pieces = decompressor.feed(raw)
        except DecodeFailed as failed:
            record.facts["decode_error"] = str(failed)
            decoding = False
            continue
        for piece in pieces:
            decoded += len(piece)
            for event in decoder.feed(piece):
                event.t = t
                record.events.append(event)
    if decoding:
        try:
            for piece in decompressor.finish():
                decoded += len(piece)
                record.events.extend(_at(decoder.feed(piece), last_t))
        except DecodeFailed as failed:
            record.facts["decode_error"] = str(failed)
        record.events.extend(_at(decoder.finish(), last_t))
        record.format = decoder.format
        record.expects_terminal = decoder.expects_terminal
        record.facts.update(decoder.facts())
        record.facts["decoded_bytes"] = decoded
    else:
        record.facts["body_unreadable"] = True
    record.facts.update(decompressor.facts())
    record.ending = Ending(kind=_ending_kind(measured, record), t=measured.ending_t or last_t,
                           reason=measured.ending_reason)
    if record.ending.kind == "limit":
        record.ending.limit = "total-time"
    _blank_secrets(record, measured)
    return record


def _at(events: list[Any], t: float) -> list[Any]:
    for event in events:
        event.t = t
    return events


def _ending_kind(measured: Measured, record: Record) -> str:
    if measured.status is not None and not 200 <= measured.status < 300:
        return "http-error"
    if measured.ending_kind:
        return measured.ending_kind
    if any(event.kind == "terminal" for event in record.events):
        return "terminal-event"
    return "clean-close"


def _blank_secrets(record: Record, measured: Measured) -> None:
    """What a target echoes of the request's secrets is blanked, as for a live probe."""
    secrets = [value for name, value in measured.request_headers
               if (is_secret_header_name(name) or looks_like_token(value)) and len(value) >= 6]
    secrets += url_secrets(measured.url)
    secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not secrets:
        return

    def blank(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, SECRET_PLACEHOLDER)
        return text

    record.headers = map_strings(record.headers, blank)
    record.facts = map_strings(record.facts, blank)
    for event in record.events:
        event.text = blank(event.text)
        if event.detail:
            event.detail = blank(event.detail)
    if record.ending:
        record.ending.reason = blank(record.ending.reason)


def live_events(record: Record, lane: str = LANE) -> list[LiveEvent]:
    """The live events the engine would have emitted for this record, in time order, so a
    run page draws an imported measurement as it draws its own."""
    request = record.request
    timed: list[tuple[float, int, LiveEvent]] = [(0.0, 0, {
        "type": "request", "t": 0.0, "stream": lane, "at": 0.0,
        "request": {"method": request.method, "url": request.url, "headers": [list(h) for h in request.headers],
                    "body_kind": request.body_kind, "body_bytes": request.body_bytes, "format": request.format},
    })]
    if record.status is not None:
        timed.append((record.time_to_headers or 0.0, 1, {
            "type": "response", "t": record.time_to_headers or 0.0, "stream": lane, "status": record.status,
            "http_version": record.http_version or "", "headers": dict(record.headers),
        }))
    for index, read in enumerate(record.reads):
        timed.append((read.t, 2, {"type": "chunk", "t": read.t, "stream": lane, "size": read.size, "index": index}))
    for event in record.events:
        live: StreamEvent = {"type": "event", "kind": event.kind, "t": event.t, "stream": lane}
        if event.text:
            live["text"] = event.text
        for key in ("finish_reason", "name", "detail", "usage"):
            value = getattr(event, key)
            if value is not None:
                live[key] = value
        timed.append((event.t, 3, live))
    if record.ending:
        timed.append((record.ending.t, 4, {"type": "end", "t": record.ending.t, "stream": lane,
                                           "kind": record.ending.kind, "reason": record.ending.reason}))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in timed]

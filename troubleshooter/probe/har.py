"""Reading a HAR file (Chrome's or Firefox's DevTools "Save all as HAR") into a Measured
stream. A HAR has no per-chunk times: only how long the browser waited for the first byte
and how long the body then took, so the stream becomes one read at the end of the wait
and one at the end of the body. A long wait with a near-zero receive reads as buffered;
a body that trickled in over its receive time reads as streamed."""

from __future__ import annotations

import json
from typing import Any

from .replay import Measured

# How many even pieces a body with a measurable receive time is laid out in.
HAR_SPREAD = 20
STREAMING_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl", "application/stream+json")


class HarError(ValueError):
    """The HAR cannot be used; the message says why."""


def _is_stream(entry: dict[str, Any]) -> bool:
    content_type = str(entry.get("response", {}).get("content", {}).get("mimeType", "")).lower()
    return any(kind in content_type for kind in STREAMING_TYPES)


def pick_entry(har: dict[str, Any], url_part: str = "") -> dict[str, Any]:
    entries = har.get("log", {}).get("entries")
    if not isinstance(entries, list) or not entries:
        raise HarError("This HAR has no requests in it: record the page while the stream runs, then save.")
    candidates: list[dict[str, Any]] = [
        entry for entry in entries
        if isinstance(entry, dict) and url_part in str(entry.get("request", {}).get("url", ""))
    ]
    streams = [entry for entry in candidates if _is_stream(entry)]
    if streams:
        return max(streams, key=lambda entry: float(entry.get("time") or 0))
    if url_part and candidates:
        return candidates[0]
    raise HarError("No streamed response (text/event-stream or NDJSON) is in this HAR. Record the page while "
                   "the answer streams, or name the request's address.")


def read_har(text: str, url_part: str = "") -> Measured:
    try:
        har = json.loads(text)
    except ValueError:
        raise HarError("This is not a HAR file: it does not parse as JSON.") from None
    if not isinstance(har, dict) or "log" not in har:
        raise HarError("This JSON is not a HAR file: it has no 'log'.")
    entry = pick_entry(har, url_part)
    request, response = entry.get("request", {}), entry.get("response", {})
    timings = entry.get("timings", {})

    def part(name: str) -> float:
        value = timings.get(name)
        return max(float(value), 0.0) / 1000 if isinstance(value, int | float) else 0.0

    sent = part("send")
    wait = part("wait")
    receive = part("receive")
    content = response.get("content", {})
    body = str(content.get("text") or "")
    body_bytes = body.encode("utf-8") if content.get("encoding") != "base64" else b""
    size = int(content.get("size") or len(body_bytes) or 0)
    # A HAR knows when the first byte came and when the body ended, nothing in between:
    # the body is laid out evenly over its receive time, and the record says so.
    whole = body_bytes or b"\0" * size
    start = sent + wait
    pieces = HAR_SPREAD if receive > 0.05 and len(whole) >= HAR_SPREAD else 1
    step = -(-len(whole) // pieces) if whole else 0
    arrivals = [
        (round(start + receive * (index + 1) / pieces if pieces > 1 else start + receive, 6),
         whole[index * step:(index + 1) * step])
        for index in range(pieces)
    ] if whole else []
    return Measured(
        method=str(request.get("method") or "GET"), url=str(request.get("url") or ""),
        request_headers=[(str(h.get("name")), str(h.get("value"))) for h in request.get("headers", [])],
        status=int(response.get("status") or 0) or None,
        http_version=str(response.get("httpVersion") or "").removeprefix("HTTP/") or None,
        headers={str(h.get("name")): str(h.get("value")) for h in response.get("headers", [])},
        time_to_headers=sent + wait, arrivals=[(t, data) for t, data in arrivals if data],
        ending_kind=None, ending_t=sent + wait + receive, body_readable=bool(body_bytes),
    )

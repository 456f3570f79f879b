"""The live events of an experiment: what a listener hears while it runs.

The recorder builds one of these plain dicts for each step of a lane (request, address
resolved, redirect, response headers, each read, each parsed event, the end); the
experiment names its lane in `stream`; the web side numbers them (`seq`) and stores them as
they are. The run page, the websocket viewers and the finished permalink all fold the same
stored events, so this file is the one description of their format. They stay plain dicts,
not objects, because a flood produces one per parsed event and each is stored as JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, NotRequired, TypedDict


class _Common(TypedDict):
    t: float  # seconds since the lane's request started, on the monotonic clock
    stream: str  # the lane's label, as the experiment kind names its lanes
    seq: NotRequired[int]  # the event's number in its run, from 1 without gaps (web only)


class RequestEvent(_Common):
    type: Literal["request"]
    request: dict[str, Any]  # RequestInfo as plain data: secret values already replaced
    at: NotRequired[float]  # seconds since the run started: lanes that start later draw later (web only)


class ResolvedEvent(_Common):
    type: Literal["resolved"]
    host: str
    addresses: list[str]


class RedirectEvent(_Common):
    type: Literal["redirect"]
    status: int
    location: str


class ResponseEvent(_Common):
    type: Literal["response"]
    status: int
    http_version: str
    headers: dict[str, str]  # only the headers that say something about streaming


class ChunkEvent(_Common):
    type: Literal["chunk"]
    size: int  # raw bytes in this read
    index: int  # the read's index in the record, from 0


class StreamEvent(_Common):
    """One parsed unit of the stream; fields without a value are left out."""

    type: Literal["event"]
    kind: str  # one of record.EVENT_KINDS
    text: NotRequired[str]
    finish_reason: NotRequired[str]
    name: NotRequired[str]
    detail: NotRequired[str]
    usage: NotRequired[dict[str, int]]


class EndEvent(_Common):
    type: Literal["end"]
    kind: str  # one of record.ENDING_KINDS
    reason: str
    limit: NotRequired[str]  # which of the probe's own limits, for a "limit" ending


LiveEvent = RequestEvent | ResolvedEvent | RedirectEvent | ResponseEvent | ChunkEvent | StreamEvent | EndEvent

# Called with each live event as it happens; may be a plain function or a coroutine function.
OnEvent = Callable[[LiveEvent], Awaitable[None] | None]

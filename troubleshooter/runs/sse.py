"""A run's events as server-sent events, for scripts and for the API.

It reads stored events the way the run page's websocket does (consumers.events_after,
still_running): the database is the record, and the channel layer only wakes the stream
when a new batch is written or the run ends. Every event goes out with its sequence number
as the SSE `id:`, so a client that reconnects with Last-Event-ID (or ?after=N) misses
nothing and sees nothing twice. The stream ends with a `run-end` event when the run does
(the probe's own `end` event, the end of one lane's stream, is an ordinary message).

Between looks the stream holds no database connection: each look closes the one it used,
so a hundred people watching quiet runs do not take a hundred connections from the pool.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import StreamingHttpResponse

from troubleshooter.probe.events import LiveEvent

from . import executor
from .consumers import events_after, load_run, poll_interval, still_running

# A comment line this often keeps proxies and load balancers from closing a quiet stream
# (many close after 60 seconds without a byte).
KEEPALIVE_SECONDS = 15.0
# How long a client waits before reconnecting after the connection drops, in milliseconds.
RETRY_MILLISECONDS = 2000


def resume_point(last_event_id: str, after: int | None) -> int:
    """Where to start: the Last-Event-ID a reconnecting EventSource sends wins over ?after."""
    if last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return max(after or 0, 0)


def as_sse(event: LiveEvent) -> str:
    # json.dumps escapes newlines, so the data is always one line.
    return f"id: {event['seq']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def end_event(run_id: uuid.UUID, state: str, outcome: str) -> str:
    body = {"id": str(run_id), "state": state, "outcome": outcome or None, "run": f"/api/v1/runs/{run_id}"}
    return f"event: run-end\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def _close_connection() -> None:
    connection.close()


async def release_connection() -> None:
    """Close the connection of the thread that ran the looks (a pooled one goes back to
    the pool) before waiting."""
    await database_sync_to_async(_close_connection)()


async def _wake_up(layer: Any, channel: str, timeout: float) -> dict[str, Any] | None:
    """The next wake-up message for the run, or None when none came in time."""
    try:
        message: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), timeout)
        return message
    except TimeoutError:
        return None


async def run_events(run_id: uuid.UUID, after: int) -> AsyncIterator[str]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = executor.group_name(run_id)
    await layer.group_add(group, channel)
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        seq = after
        last_sent = time.monotonic()
        may_have_ended = True  # look at the run's state at once: it may be long finished
        while True:
            events = await events_after(run_id, seq)
            for event in events:
                yield as_sse(event)
                seq = event["seq"]
            if events:
                last_sent = time.monotonic()
            if may_have_ended or not events:
                if not await still_running(run_id):
                    # Events written between the last look and the end, then the end.
                    for event in await events_after(run_id, seq):
                        yield as_sse(event)
                        seq = event["seq"]
                    run = await load_run(run_id)
                    await release_connection()
                    yield end_event(run_id, run.state if run else "deleted", run.outcome if run else "")
                    return
            await release_connection()
            message = await _wake_up(layer, channel, poll_interval())
            may_have_ended = message is None or message.get("type") == "run.finished"
            if message is None and time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                yield ": still running\n\n"
                last_sent = time.monotonic()
    finally:
        await layer.group_discard(group, channel)


def event_stream_response(run_id: uuid.UUID, after: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(run_events(run_id, after), content_type="text/event-stream")
    # Each event must reach the client when it is written: no proxy may hold it back in a
    # buffer (nginx honours X-Accel-Buffering), and no cache may keep or merge it.
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response

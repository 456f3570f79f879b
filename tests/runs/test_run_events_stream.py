"""A run's events as server-sent events: numbered, resumable, unbuffered, and over when the
run is."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from django.utils import timezone

from troubleshooter.runs import sse
from troubleshooter.runs.models import Run, RunEvents

TARGET = "http://127.0.0.1:9/stream"


def finished_run_with_events(count: int) -> Run:
    run = Run.objects.create(kind="single", url=TARGET, plan={"url": TARGET}, client="t", state="finished",
                             finished=timezone.now(), outcome="healthy", last_seq=count)
    events = [{"seq": n, "type": "chunk", "t": n / 10, "stream": "direct", "size": 3, "index": n - 1}
              for n in range(1, count + 1)]
    # Two batches, as the executor writes them.
    RunEvents.objects.create(run=run, first_seq=1, last_seq=2, events=events[:2])
    RunEvents.objects.create(run=run, first_seq=3, last_seq=count, events=events[2:])
    return run


def messages(text: str) -> list[dict[str, str]]:
    """SSE messages as field dicts; comments and the retry line are left out."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            found.append(fields)
    return found


def collect(run: Run, after: int) -> str:
    async def read() -> str:
        return "".join([piece async for piece in sse.run_events(run.pk, after)])

    return asyncio.run(read())


@pytest.mark.django_db(transaction=True)
def test_a_finished_runs_events_replay_with_their_numbers_then_the_end(in_memory_channel_layer):
    run = finished_run_with_events(5)
    text = collect(run, after=0)
    assert text.startswith("retry: ")
    sent = messages(text)
    assert [m["id"] for m in sent[:-1]] == ["1", "2", "3", "4", "5"]
    assert json.loads(sent[0]["data"])["type"] == "chunk"
    assert sent[-1]["event"] == "run-end" and "id" not in sent[-1]
    assert json.loads(sent[-1]["data"]) == {"id": str(run.pk), "state": "finished", "outcome": "healthy",
                                            "run": f"/api/v1/runs/{run.pk}"}


@pytest.mark.django_db(transaction=True)
def test_resuming_sends_only_what_came_after_the_last_event_seen(in_memory_channel_layer):
    run = finished_run_with_events(5)
    assert [m.get("id") for m in messages(collect(run, after=3))] == ["4", "5", None]
    assert [m.get("id") for m in messages(collect(run, after=5))] == [None]


def test_last_event_id_wins_over_the_after_parameter():
    assert sse.resume_point("4", 1) == 4
    assert sse.resume_point("", 2) == 2
    assert sse.resume_point("not-a-number", None) == 0


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_is_an_unbuffered_event_stream(async_client, in_memory_channel_layer):
    run = finished_run_with_events(3)

    async def fetch() -> tuple[Any, str]:
        response = await async_client.get(f"/api/v1/runs/{run.pk}/events", headers={"Last-Event-ID": "1"})
        return response, b"".join([chunk async for chunk in response.streaming_content]).decode()

    response, body = asyncio.run(fetch())
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    assert [m.get("id") for m in messages(body)] == ["2", "3", None]


def sse_messages(base: str, path: str, headers: dict[str, str] | None = None) -> list[tuple[float, dict[str, str]]]:
    """Each message of a live stream with the moment it arrived."""
    arrived: list[tuple[float, dict[str, str]]] = []
    with httpx.Client(base_url=base, timeout=30) as client, client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["x-accel-buffering"] == "no" and response.headers["cache-control"] == "no-cache"
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in fields:
                    arrived.append((time.monotonic(), fields))
                fields = {}
            elif not line.startswith(":") and ": " in line:
                name, value = line.split(": ", 1)
                fields[name] = value
    return arrived


def test_a_live_run_streams_each_event_as_it_happens_and_resumes_where_it_left_off(live_app):
    started = httpx.post(f"{live_app}/api/v1/runs", timeout=30, json={
        "url": f"{live_app}/lab/sse/healthy/?chunks=8&delay=0.25", "format": "sse", "total_seconds": 30,
    })
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    arrived = sse_messages(live_app, f"/api/v1/runs/{run_id}/events")
    end_at, end = arrived[-1]
    assert end["event"] == "run-end"
    ids = [int(m["id"]) for _, m in arrived[:-1]]
    assert ids == list(range(1, len(ids) + 1)), "every event once, in order, without gaps"
    chunks = [at for at, m in arrived[:-1] if json.loads(m["data"])["type"] == "chunk"]
    # Eight chunks a quarter of a second apart arrive spread out, not all at once at the end.
    assert len(chunks) >= 8 and end_at - chunks[0] > 1.0
    ended: dict[str, Any] = json.loads(end["data"])
    run = httpx.get(f"{live_app}/api/v1/runs/{run_id}", timeout=30).json()
    assert ended["state"] == run["state"] == "finished" and ended["outcome"] == run["outcome"]

    middle = ids[len(ids) // 2]
    resumed = sse_messages(live_app, f"/api/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(middle)})
    assert [int(m["id"]) for _, m in resumed[:-1]] == [n for n in ids if n > middle]
    assert resumed[-1][1]["event"] == "run-end"

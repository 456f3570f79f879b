"""Running an experiment for the browser: numbered events in batches, the report, cancel."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from tests.probe.servers import RawHTTPServer, all_at_once, forever, openai_stream
from troubleshooter.probe import KINDS, Experiment, HeaderSpec, Limits, ProbeSpec
from troubleshooter.runs import executor
from troubleshooter.runs.models import Run, RunEvents

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_channel_layer")]

SECRET = "sk-do-not-store-0123456789"
WORDS = [f"w{index} " for index in range(30)]




def new_run(kind: str = "single") -> Run:
    return Run.objects.create(kind=kind, url="http://127.0.0.1/stream", plan={"kind": kind}, client="test",
                              heartbeat=timezone.now())


def single(url: str, **fields) -> Experiment:
    spec = ProbeSpec(url=url, headers=(HeaderSpec("Authorization", f"Bearer {SECRET}", secret=True),), **fields)
    return Experiment(kind=KINDS["single"], spec=spec, limits=Limits(total_seconds=5, after_terminal_seconds=0.3))


def stored_events(run: Run) -> list[dict]:
    return [event for batch in RunEvents.objects.filter(run=run) for event in batch.events]


def everything_stored(run: Run) -> str:
    run.refresh_from_db()
    batches = list(RunEvents.objects.filter(run=run).values_list("events", flat=True))
    return json.dumps([run.plan, run.report, run.url, batches])


def test_a_run_stores_every_event_numbered_without_gaps_and_then_its_report():
    run = new_run()

    async def scenario() -> None:
        async with RawHTTPServer({"/stream": openai_stream(WORDS, gap=0.02)}) as server:
            await executor.execute(run.pk, single(server.url("/stream")))

    asyncio.run(scenario())
    run.refresh_from_db()
    events = stored_events(run)
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert run.last_seq == len(events)
    assert RunEvents.objects.filter(run=run).count() > 1  # written while it ran, not at the end
    assert run.state == "finished" and run.outcome == "healthy"
    contents = "".join(e.get("text", "") for e in events if e["type"] == "event" and e["kind"] == "content")
    assert contents == "".join(WORDS)
    assert run.report["lanes"][0]["record"]["ending"]["kind"] == "terminal-event"
    assert events[0]["type"] == "request" and "at" in events[0]


def test_a_batch_still_being_written_when_the_stream_ends_is_not_lost(monkeypatch):
    """Under load a write waits its turn for the database thread; the run used to end by
    cancelling the periodic writer in the middle of such a write, and that batch was never
    stored (the kit's load benchmark found gaps of a dozen events just before the end)."""
    run = new_run()
    real_save = executor.save_batch
    slow_writes = 0

    async def waits_its_turn(run_id, batch):
        nonlocal slow_writes
        if batch:
            slow_writes += 1
            await asyncio.sleep(0.15)  # queued behind other runs' writes
        await real_save(run_id, batch)

    monkeypatch.setattr(executor, "save_batch", waits_its_turn)
    monkeypatch.setattr(executor, "FLUSH_SECONDS", 0.05)

    async def scenario() -> None:
        async with RawHTTPServer({"/stream": openai_stream(WORDS, gap=0.01)}) as server:
            await executor.execute(run.pk, single(server.url("/stream")))

    asyncio.run(scenario())
    run.refresh_from_db()
    events = stored_events(run)
    assert slow_writes > 1
    assert [event["seq"] for event in events] == list(range(1, run.last_seq + 1))
    assert events[-1]["type"] == "end"


def test_reads_are_stored_once_as_chunk_events_and_come_back_in_the_download(client):
    run = new_run()
    made = {}
    real_report = executor._report

    async def keep_a_copy(experiment, writer):
        made["report"] = await real_report(experiment, writer)
        return made["report"]

    async def scenario() -> None:
        async with RawHTTPServer({"/stream": openai_stream(WORDS, gap=0.01)}) as server:
            executor._report = keep_a_copy
            try:
                await executor.execute(run.pk, single(server.url("/stream")))
            finally:
                executor._report = real_report

    asyncio.run(scenario())
    run.refresh_from_db()
    assert run.report["lanes"][0]["record"]["reads"] == "chunk events"
    downloaded = client.get(f"/runs/{run.pk}/json/").json()
    assert downloaded["lanes"][0]["record"]["reads"] == made["report"]["lanes"][0]["record"]["reads"]
    assert len(downloaded["lanes"][0]["record"]["reads"]) > 5


def test_secret_header_values_never_reach_the_database():
    run = new_run()

    async def scenario() -> None:
        async with RawHTTPServer({"/stream": openai_stream(WORDS[:3], gap=0.01)}) as server:
            await executor.execute(run.pk, single(server.url("/stream")))
            assert SECRET in server.requests[0].headers.get("authorization", "")

    asyncio.run(scenario())
    stored = everything_stored(run)
    assert SECRET not in stored
    assert "[secret]" in stored


def test_viewers_are_woken_after_batches_and_at_the_end():
    run = new_run()

    async def scenario() -> list[dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(executor.group_name(run.pk), channel)
        async with RawHTTPServer({"/stream": openai_stream(WORDS, gap=0.02)}) as server:
            await executor.execute(run.pk, single(server.url("/stream")))
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), 0.2))
            except TimeoutError:
                return messages

    messages = asyncio.run(scenario())
    kinds = [message["type"] for message in messages]
    assert kinds[-1] == "run.finished"
    assert kinds.count("run.progress") >= 2
    assert all("text" not in message for message in messages)  # the layer wakes; it carries no events


def test_cancel_stops_a_never_ending_stream_at_once_and_keeps_what_arrived():
    run = new_run()

    async def scenario() -> float:
        async with RawHTTPServer({"/stream": forever(b"data: tick\n\n", gap=0.05)}) as server:
            task = executor.start(run.pk, single(server.url("/stream")))
            await asyncio.sleep(0.6)
            asked = time.monotonic()
            await executor.request_cancel(run.pk)
            await task
            return time.monotonic() - asked

    took = asyncio.run(scenario())
    run.refresh_from_db()
    assert took < 0.5
    assert run.state == "cancelled"
    assert run.report["lanes"][0]["record"]["ending"]["kind"] == "cancelled"
    assert run.report["lanes"][0]["metrics"]["chunk_count"] >= 5


def test_a_cancel_sent_from_another_worker_reaches_the_run_through_its_control_group():
    run = new_run()

    async def scenario() -> None:
        async with RawHTTPServer({"/stream": forever(b"data: tick\n\n", gap=0.05)}) as server:
            task = executor.start(run.pk, single(server.url("/stream")))
            await asyncio.sleep(0.4)
            # What request_cancel sends when the run is not in this process.
            await get_channel_layer().group_send(executor.control_group_name(run.pk), {"type": "run.cancel"})
            await asyncio.wait_for(task, 2)

    asyncio.run(scenario())
    run.refresh_from_db()
    assert run.state == "cancelled"


def test_a_cancelled_comparison_does_not_start_its_second_stream():
    run = new_run("compare")

    async def scenario() -> int:
        async with RawHTTPServer({"/stream": forever(b"data: tick\n\n", gap=0.05),
                                  "/other": forever(b"data: tock\n\n", gap=0.05)}) as server:
            experiment = Experiment(kind=KINDS["compare"], spec=ProbeSpec(url=server.url("/stream")),
                                    compare_url=server.url("/other"), limits=Limits(total_seconds=5))
            task = executor.start(run.pk, experiment)
            await asyncio.sleep(0.4)
            await executor.request_cancel(run.pk)
            await asyncio.wait_for(task, 2)
            return sum(1 for request in server.requests if request.path == "/other")

    assert asyncio.run(scenario()) == 0
    run.refresh_from_db()
    assert run.state == "cancelled"


def test_a_run_whose_worker_went_away_is_marked_interrupted():
    run = new_run()
    Run.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - timedelta(minutes=5))
    run.refresh_from_db()
    assert executor.settle_if_stale(run).state == "interrupted"
    fresh = new_run()
    assert executor.settle_if_stale(fresh).state == "running"


def test_a_target_the_policy_refuses_ends_as_blocked_not_as_a_crash(settings):
    settings.PROBE_ALLOW_PRIVATE = False
    run = new_run()
    asyncio.run(executor.execute(run.pk, single("http://127.0.0.1:9/stream")))
    run.refresh_from_db()
    assert run.state == "finished"
    assert run.outcome == "blocked"


def test_only_recent_running_runs_count_against_the_limits():
    new_run()
    stale = new_run()
    Run.objects.filter(pk=stale.pk).update(heartbeat=timezone.now() - timedelta(minutes=5))
    Run.objects.create(kind="single", url="x", plan={}, client="other", state="finished")
    assert executor.active_runs() == 1
    assert executor.active_runs("test") == 1
    assert executor.active_runs("nobody") == 0


def test_group_names_are_valid_for_every_channel_layer():
    run_id = uuid.uuid4()
    for name in (executor.group_name(run_id), executor.control_group_name(run_id)):
        assert len(name) < 100 and all(ch.isalnum() or ch in "-_." for ch in name)


def test_a_comparison_reports_the_problem_of_the_proxied_path_first():
    run = new_run("compare")
    body = b"".join(b'data: {"choices":[{"delta":{"content":"w "}}]}\n\n' for _ in range(10)) + b"data: [DONE]\n\n"

    async def scenario() -> None:
        async with RawHTTPServer({
            "/stream": openai_stream(WORDS[:10], gap=0.03),
            "/proxied": all_at_once(body, 0.5, [("Content-Type", "text/event-stream"), ("Server", "nginx")]),
        }) as server:
            experiment = Experiment(kind=KINDS["compare"], spec=ProbeSpec(url=server.url("/stream"), format="openai"),
                                    compare_url=server.url("/proxied"),
                                    limits=Limits(total_seconds=5, after_terminal_seconds=0.3))
            await executor.execute(run.pk, experiment)

    asyncio.run(scenario())
    run.refresh_from_db()
    assert [lane["outcome"] for lane in run.report["lanes"]] == ["healthy", "buffered"]
    assert run.outcome == "buffered" and run.report["leading_lane"] == "through the proxy"
    assert run.report["summary"].startswith("Through the proxy:")
    assert run.report["differences"]


def test_a_gzip_bomb_of_zero_bytes_ends_at_the_byte_limit_with_its_verdict_and_bounded_memory():
    """16 MiB of NULs gzipped to 16 KB: it used to end "interrupted" (the NULs could not be
    stored) after growing the worker by hundreds of MB."""
    run = new_run()
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024))
    headers = [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]
    limits = Limits(total_seconds=10, max_bytes=4 * 1024 * 1024)

    async def scenario() -> None:
        async with RawHTTPServer({"/bomb": all_at_once(bomb, 0.0, headers)}) as server:
            experiment = Experiment(kind=KINDS["single"], spec=ProbeSpec(url=server.url("/bomb")), limits=limits)
            await executor.execute(run.pk, experiment)

    tracemalloc.start()
    try:
        asyncio.run(scenario())
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    run.refresh_from_db()
    assert run.state == "finished"
    assert run.report["lanes"][0]["record"]["ending"]["kind"] == "limit"
    stored = "".join(e.get("text", "") for e in stored_events(run))
    assert stored and set(stored) == {"\u2400"}  # every NUL kept, shown as the symbol for NUL
    assert peak < 120 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_a_finished_run_remembers_which_lane_its_outcome_is_about():
    run = new_run("compare")
    report = {"outcome": "buffered", "leading_lane": "through the proxy", "lanes": [{"label": "direct"},
                                                                                    {"label": "through the proxy"}]}
    asyncio.run(executor.finish_run(run.pk, "finished", report))
    run.refresh_from_db()
    assert (run.outcome, run.outcome_lane) == ("buffered", "through the proxy")

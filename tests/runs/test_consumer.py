"""The run page's websocket: replay from a sequence number, live updates, the end."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path
from django.utils import timezone

from troubleshooter.runs import executor
from troubleshooter.runs.consumers import CLOSE_NOT_FOUND, RunConsumer
from troubleshooter.runs.models import Run, RunEvents

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_channel_layer")]

application = URLRouter([path("runs/<uuid:run_id>/ws/", RunConsumer.as_asgi())])




def content(seq: int, text: str) -> dict[str, Any]:
    return {"type": "event", "kind": "content", "t": seq / 10, "text": text, "seq": seq, "stream": "stream"}


def chunk(seq: int) -> dict[str, Any]:
    return {"type": "chunk", "t": seq / 10, "size": 10, "seq": seq, "stream": "stream"}


def make_run(batches: list[list[dict[str, Any]]]) -> Run:
    run = Run.objects.create(kind="single", url="http://127.0.0.1/s", plan={"kind": "single"}, client="t",
                             heartbeat=timezone.now())
    for batch in batches:
        store(run, batch)
    return run


def store(run: Run, batch: list[dict[str, Any]]) -> None:
    RunEvents.objects.create(run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], events=batch)
    Run.objects.filter(pk=run.pk).update(last_seq=batch[-1]["seq"], heartbeat=timezone.now())


# The suite's SQLite database lives in memory with a shared cache, where a writer on one
# thread and the consumer reading on another fail at once with "database table is locked"
# (the embedded app's WAL file waits instead). Writing on the consumer's own database
# thread, as the app's executor does through the same helper, keeps the two in turn.
async def write(change: Any, *args: Any) -> None:
    await database_sync_to_async(change)(*args)


def appended_text(message: str) -> str:
    return "".join(re.findall(r'<div hx-swap-oob="beforeend:#run-text-0">(.*?)</div>', message, re.S))


def shown_seq(message: str) -> int:
    return int(re.search(r'data-run-seq="(\d+)"', message).group(1))


async def connect(run: Run, after: int | None = None) -> WebsocketCommunicator:
    query = "" if after is None else f"?after={after}"
    communicator = WebsocketCommunicator(application, f"/runs/{run.pk}/ws/{query}")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def test_a_viewer_that_connects_gets_everything_recorded_so_far():
    run = make_run([[chunk(1), content(2, "Hello")], [chunk(3), content(4, " world")]])

    async def scenario() -> str:
        communicator = await connect(run, after=0)
        message = await communicator.receive_from()
        await communicator.disconnect()
        return message

    message = asyncio.run(scenario())
    assert appended_text(message) == "Hello world"
    assert shown_seq(message) == 4
    assert 'id="run-timeline"' in message and "<svg" in message


def test_a_viewer_replaying_from_a_sequence_number_gets_only_what_it_does_not_have():
    run = make_run([[chunk(1), content(2, "Hello")], [chunk(3), content(4, " world")]])

    async def scenario() -> str:
        communicator = await connect(run, after=2)
        message = await communicator.receive_from()
        await communicator.disconnect()
        return message

    message = asyncio.run(scenario())
    assert appended_text(message) == " world"
    assert shown_seq(message) == 4
    assert "2 chunks" in message or ">2</strong> chunks" in message  # counters cover the whole run


def test_live_events_arrive_after_the_replay_without_gaps_or_repeats():
    run = make_run([[chunk(1), content(2, "one ")]])

    async def scenario() -> list[str]:
        communicator = await connect(run, after=0)
        messages = [await communicator.receive_from()]
        layer = get_channel_layer()
        for seq in (3, 5, 7):
            await write(store, run, [chunk(seq), content(seq + 1, f"w{seq} ")])
            await layer.group_send(executor.group_name(run.pk), {"type": "run.progress", "seq": seq + 1})
            messages.append(await communicator.receive_from(timeout=2))
        await communicator.disconnect()
        return messages

    messages = asyncio.run(scenario())
    assert "".join(appended_text(message) for message in messages) == "one w3 w5 w7 "
    assert [shown_seq(message) for message in messages] == [2, 4, 6, 8]


def test_a_burst_of_wake_ups_is_coalesced_into_at_most_ten_updates_a_second():
    run = make_run([[chunk(1)]])

    async def scenario() -> tuple[int, str, int]:
        communicator = await connect(run, after=0)
        await communicator.receive_from()
        layer = get_channel_layer()
        seq = 1
        started = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - started < 0.5:
            seq += 2
            await write(store, run, [chunk(seq - 1), content(seq, "x")])
            await layer.group_send(executor.group_name(run.pk), {"type": "run.progress", "seq": seq})
            await asyncio.sleep(0.005)
        updates = []
        # (A timed-out receive would stop the consumer, so ask whether anything is waiting.)
        while not await communicator.receive_nothing(timeout=0.4):
            updates.append(await communicator.receive_from())
        await communicator.disconnect()
        return len(updates), "".join(appended_text(message) for message in updates), seq

    count, text, last_seq = asyncio.run(scenario())
    assert count <= 8  # half a second of wake-ups, plus the tail
    assert text == "x" * ((last_seq - 1) // 2)  # nothing lost by coalescing


def test_when_the_run_finishes_the_viewer_gets_the_finished_run_and_the_socket_closes():
    run = make_run([[chunk(1), content(2, "done")]])

    async def scenario() -> tuple[str, Any]:
        communicator = await connect(run, after=2)
        await communicator.receive_from()
        report = {
            "kind": "single", "outcome": "healthy", "summary": "Streamed.", "causes": [],
            "metrics": {"duration": 1.0, "bytes": 10}, "lanes": [],
        }
        await write(
            lambda: Run.objects.filter(pk=run.pk).update(state="finished", outcome="healthy", report=report,
                                                         finished=timezone.now())
        )
        await get_channel_layer().group_send(executor.group_name(run.pk), {"type": "run.finished", "seq": 2})
        final = await communicator.receive_from(timeout=2)
        closed = await communicator.receive_output(timeout=2)
        await communicator.disconnect()
        return final, closed

    final, closed = asyncio.run(scenario())
    assert final.startswith('<section id="run-live"') and 'hx-swap-oob="true"' in final
    assert "ws-connect" not in final  # the finished section has no socket: the page stops listening
    assert "healthy" in final and "Verdict" in final
    assert "Download JSON" in final and "Run again" not in final  # its plan has no URL to run again
    assert closed == {"type": "websocket.close", "code": 1000}


def test_a_viewer_of_a_finished_run_gets_it_whole_and_is_closed():
    run = make_run([[chunk(1), content(2, "all of it")]])
    Run.objects.filter(pk=run.pk).update(state="finished", outcome="healthy", finished=timezone.now(), report={
        "kind": "single", "outcome": "healthy", "summary": "Streamed.", "causes": [], "metrics": {}, "lanes": []})

    async def scenario() -> str:
        communicator = await connect(run)
        message = await communicator.receive_from()
        await communicator.disconnect()
        return message

    message = asyncio.run(scenario())
    assert "all of it" in message and 'id="run-live"' in message


def test_an_unknown_run_closes_the_socket_with_a_not_found_code():
    async def scenario() -> Any:
        communicator = WebsocketCommunicator(application, "/runs/00000000-0000-0000-0000-000000000000/ws/")
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = asyncio.run(scenario())
    assert not connected and code == CLOSE_NOT_FOUND


def test_disconnecting_leaves_the_group_so_nothing_is_sent_to_a_closed_socket():
    run = make_run([[chunk(1)]])

    async def scenario() -> dict:
        communicator = await connect(run)
        await communicator.receive_from()
        await communicator.disconnect()
        layer = get_channel_layer()
        return dict(layer.groups)

    groups = asyncio.run(scenario())
    assert not groups.get(executor.group_name(run.pk))


def test_messages_from_the_browser_are_ignored():
    run = make_run([[chunk(1)]])

    async def scenario() -> bool:
        communicator = await connect(run)
        await communicator.receive_from()
        await communicator.send_to(text_data="anything")
        nothing = await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return nothing

    assert asyncio.run(scenario())


def final_message_after(monkeypatch, change) -> tuple[Run, str]:
    """What a viewer of a running run is sent after `change(run)` alters the database and
    nobody tells the run's group: only the viewer's own poll can find it."""
    from troubleshooter.runs import consumers

    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.2)
    run = make_run([[chunk(1), content(2, "x")]])

    async def scenario() -> str:
        communicator = await connect(run, after=2)
        await communicator.receive_from()
        await write(change, run)
        final = await communicator.receive_from(timeout=3)
        await communicator.disconnect()
        return final

    return run, asyncio.run(scenario())


def test_a_poll_notices_a_finished_run_without_any_wake_up(monkeypatch):
    def finish(run: Run) -> None:
        Run.objects.filter(pk=run.pk).update(state="finished", outcome="healthy", finished=timezone.now())

    _, final = final_message_after(monkeypatch, finish)
    assert final.startswith('<section id="run-live"') and "ws-connect" not in final


def test_a_poll_notices_a_run_whose_worker_stopped_writing(monkeypatch):
    def go_quiet(run: Run) -> None:
        Run.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - executor.STALE_AFTER * 2)

    run, final = final_message_after(monkeypatch, go_quiet)
    assert "nterrupted" in final
    assert Run.objects.get(pk=run.pk).state == "interrupted"


def test_polls_space_out_with_many_viewers_but_never_past_four_seconds(monkeypatch):
    from troubleshooter.runs import consumers

    for viewers, expected in ((1, 2.0), (25, 2.0), (40, 3.2), (500, 4.0)):
        monkeypatch.setattr(consumers, "_viewers", viewers)
        assert consumers.poll_interval() == expected

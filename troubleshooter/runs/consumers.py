"""The websocket a run page listens on.

Thin on purpose: it folds the run's stored events into a LiveState and sends HTML that
htmx swaps in. On connect it replays from the database everything after the sequence
number the page already shows (`?after=N`); after that, channel-layer messages only wake
it, and it reads the new events from the database. Updates go out at most every
MIN_INTERVAL seconds, however fast events arrive.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from troubleshooter import metrics
from troubleshooter.probe.events import LiveEvent

from . import access, executor, rendering
from .live import LiveState
from .models import Run, RunEvents

MIN_INTERVAL = 0.1
# Past this many viewers in one process, each gets fewer updates a second, so rendering
# them never starves the event loop that also runs the experiments.
VIEWERS_AT_FULL_RATE = 25
_viewers = 0


def update_interval() -> float:
    return MIN_INTERVAL * max(1.0, _viewers / VIEWERS_AT_FULL_RATE)


# Viewers also look at the database on their own this often (less often with many viewers,
# never past the longest), so a lost wake-up or a worker that died mid-run is noticed
# within seconds.
POLL_SECONDS = 2.0
POLL_SECONDS_AT_MOST = 4.0
CLOSE_NOT_FOUND = 4404


def poll_interval() -> float:
    return min(POLL_SECONDS * max(1.0, _viewers / VIEWERS_AT_FULL_RATE), POLL_SECONDS_AT_MOST)


@database_sync_to_async
def load_run(run_id: uuid.UUID) -> Run | None:
    run = Run.objects.select_related("worker").filter(pk=run_id).first()
    return executor.settle_if_stale(run) if run is not None else None


@database_sync_to_async
def still_running(run_id: uuid.UUID) -> bool:
    """Whether the run goes on, read without its plan and report: most looks find it
    running, and decoding those for each of hundreds of viewers cost more than the rest."""
    run = Run.objects.select_related("worker").only("state", "heartbeat", "worker__heartbeat").filter(pk=run_id).first()
    return run is not None and run.is_active and not executor.is_stale(run)


async def events_after(run_id: uuid.UUID, seq: int) -> list[LiveEvent]:
    recent = executor.recent_events(run_id, seq)
    return recent if recent is not None else await stored_events_after(run_id, seq)


@database_sync_to_async
def stored_events_after(run_id: uuid.UUID, seq: int) -> list[LiveEvent]:
    batches = RunEvents.objects.filter(run_id=run_id, last_seq__gt=seq).order_by("first_seq")
    return [event for batch in batches.values_list("events", flat=True) for event in batch if event["seq"] > seq]


def _query(query_string: bytes) -> dict[str, str]:
    return dict(parse_qsl(query_string.decode("latin-1")))


@database_sync_to_async
def may_watch(user: Any, run: Run, share_token: str) -> bool:
    """The same rule as the run's page: its owner, team and staff, or the share link."""
    if share_token:
        return run.share_token is not None and secrets.compare_digest(run.share_token, share_token)
    return access.may_manage(user, run)


class RunConsumer(AsyncWebsocketConsumer):
    run: Run
    state: LiveState

    async def connect(self) -> None:
        query = _query(self.scope.get("query_string", b""))
        self.share_token = query.get("share", "")
        run = await load_run(self.scope["url_route"]["kwargs"]["run_id"])
        # A run this viewer may not see looks like no run at all.
        if run is None or not await may_watch(self.scope.get("user"), run, self.share_token):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.run = run
        self.group = executor.group_name(run.pk)
        after = query.get("after", "")
        self.sent_seq = int(after) if after.isdigit() else 0
        self.state = LiveState(run.lane_labels())
        self.last_sent = 0.0
        self.flush_later: asyncio.Task[None] | None = None
        self.finished = False
        self.looking = asyncio.Lock()  # the poller, a delayed flush and a message may all look at once
        await self.accept()
        global _viewers
        _viewers += 1
        metrics.VIEWERS.inc()
        metrics.watch_event_loop()
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.poller = asyncio.create_task(self._poll())
        await self.catch_up(check_state=True)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        global _viewers
        _viewers -= 1
        metrics.VIEWERS.dec()
        self.poller.cancel()
        if self.flush_later is not None:
            self.flush_later.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Viewers only listen."""

    # Channel-layer messages: "run.progress" and "run.finished" both mean "look again".
    async def run_progress(self, message: dict[str, Any]) -> None:
        self._schedule()

    async def run_finished(self, message: dict[str, Any]) -> None:
        await self.catch_up(check_state=True)

    def _schedule(self) -> None:
        if self.flush_later is not None or self.finished:
            return
        wait = self.last_sent + update_interval() - time.monotonic()
        self.flush_later = asyncio.create_task(self._catch_up_after(max(wait, 0.0)))

    async def _catch_up_after(self, wait: float) -> None:
        if wait:
            await asyncio.sleep(wait)
        self.flush_later = None
        await self.catch_up()

    async def _poll(self) -> None:
        while not self.finished:
            await asyncio.sleep(poll_interval())
            await self.catch_up(check_state=True)

    async def catch_up(self, check_state: bool = False) -> None:
        """Read what is new, fold it in, and send one update (or the finished run).
        The run's own row is read only when it may have ended: a progress wake-up means
        more events, not a new state."""
        async with self.looking:
            await self._catch_up(check_state)

    async def _catch_up(self, check_state: bool) -> None:
        if self.finished:
            return
        self.state.apply(await events_after(self.run.pk, self.state.last_seq))
        if check_state and not (self.run.is_active and await still_running(self.run.pk)):
            self.run = await load_run(self.run.pk) or self.run
        if self.run.is_active:
            if self.state.last_seq > self.sent_seq or self.last_sent == 0.0:
                # Drawn in a thread: hundreds of viewers' updates fall due together, and
                # drawn on the loop they would hold up every stream being timed.
                update = await asyncio.to_thread(
                    rendering.render_update, self.run, self.state, self.sent_seq, self.share_token
                )
                await self.send(text_data=update)
                self.sent_seq = self.state.last_seq
                self.last_sent = time.monotonic()
            return
        # Events written after the last look, then the end.
        self.state.apply(await events_after(self.run.pk, self.state.last_seq))
        self.finished = True
        await self.send(text_data=rendering.render_final(self.run, self.state, self.share_token))
        await self.close(code=1000)

"""Runs an experiment in the server's event loop and records it as it happens.

The engine's live events are numbered and written to the database in batches (at most
every FLUSH_SECONDS); after each batch the run's group on the channel layer is told, so
viewers wake up and read the new events from the database. The channel layer carries no
events: a viewer that missed a message loses nothing.

A run belongs to the worker process that started it. Cancelling works from any worker: the
request goes to the run's control group, which the running worker listens to.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from troubleshooter import metrics
from troubleshooter.background import OnePerLoop
from troubleshooter.probe import Experiment, run_experiment
from troubleshooter.probe.events import LiveEvent
from troubleshooter.request_id import current_request_id

from . import retention
from .models import Run, RunEvents, Worker
from .outbound import outbound_policy
from .storable import storable
from .stored_report import without_reads

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
# Past this many runs in one process, batches are written less often (each run's share of
# the process stays the same), so the event loop and the database keep up.
RUNS_AT_FULL_RATE = 25
# The newest events of each run started here, kept after they are stored, so that viewers
# in this process read them without a query. The database stays the record.
RECENT_EVENTS = 5000
HEARTBEAT_SECONDS = 5.0
# A running run with no worker on record (started before workers beat) whose own last write
# is this old is taken as lost.
STALE_AFTER = timedelta(seconds=30)
# Each worker process beats this often while it lives; its runs are lost when it is silent
# for longer than WORKER_LOST_AFTER.
WORKER_BEAT_SECONDS = 1.0
WORKER_LOST_AFTER = timedelta(seconds=3)


def group_name(run_id: uuid.UUID) -> str:
    return f"run.{run_id.hex}"


def control_group_name(run_id: uuid.UUID) -> str:
    return f"run.{run_id.hex}.control"


@dataclass
class _Handle:
    """A run started by this process: held here so its tasks are not garbage-collected
    and so a cancel can reach the experiment itself."""

    task: asyncio.Task[None] | None = None
    experiment_task: asyncio.Task[dict[str, Any]] | None = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.experiment_task is not None:
            self.experiment_task.cancel()


_running: dict[uuid.UUID, _Handle] = {}
_recent: dict[uuid.UUID, deque[LiveEvent]] = {}
# This process as a Worker row, made when it first claims a run; _heartbeat keeps it fresh.
_worker_id = uuid.uuid4()
_worker_lock = threading.Lock()


def this_worker() -> uuid.UUID:
    """This process's Worker row, made (or made again, if it was pruned) with a fresh beat."""
    with _worker_lock:
        now = timezone.now()
        if not Worker.objects.filter(pk=_worker_id).update(heartbeat=now):
            Worker.objects.create(pk=_worker_id, heartbeat=now, host=socket.gethostname()[:255], pid=os.getpid())
    return _worker_id


@database_sync_to_async
def _write_beat() -> None:
    Worker.objects.filter(pk=_worker_id).update(heartbeat=timezone.now())


# How often each worker asks whether old runs are due for pruning (one of them does it,
# at most once an hour; see retention).
PRUNE_CHECK_SECONDS = 300.0


@database_sync_to_async
def _prune_if_due() -> None:
    pruned = retention.prune_if_due()
    if pruned is not None and pruned.runs:
        logger.info("deleted %d runs older than %d days", pruned.runs, settings.RUNS_KEEP_DAYS)


async def _beat() -> None:
    next_prune_check = 0.0
    while True:
        await asyncio.sleep(WORKER_BEAT_SECONDS)
        try:
            await _write_beat()
        except Exception:
            logger.warning("could not write this worker's heartbeat", exc_info=True)
        if time.monotonic() >= next_prune_check:
            next_prune_check = time.monotonic() + PRUNE_CHECK_SECONDS
            try:
                await _prune_if_due()
            except Exception:
                logger.warning("could not prune old runs", exc_info=True)


_heartbeat = OnePerLoop(_beat, "worker heartbeat")


def recent_events(run_id: uuid.UUID, after: int) -> list[LiveEvent] | None:
    """The stored events after `after`, if this process still holds all of them."""
    recent = _recent.get(run_id)
    if recent is None or (recent and recent[0]["seq"] > after + 1):
        return None
    if not recent or recent[-1]["seq"] <= after:
        return []
    return [event for event in recent if event["seq"] > after]


def flush_interval() -> float:
    return FLUSH_SECONDS * max(1.0, len(_running) / RUNS_AT_FULL_RATE)


def start(run_id: uuid.UUID, experiment: Experiment) -> asyncio.Task[None]:
    """Start the run in the running event loop; returns at once."""
    _heartbeat.ensure()
    metrics.watch_event_loop()
    metrics.RUNS_STARTED.labels(kind=experiment.kind.id).inc()
    metrics.RUNS_ACTIVE.inc()
    handle = _running[run_id] = _Handle()
    # A fresh context: the run outlives the request that started it, and must not use that
    # request's thread for its database writes (it is gone once the response is sent). Its
    # log lines carry the run's id instead of the request's.
    context = contextvars.Context()
    context.run(current_request_id.set, f"run:{run_id.hex}")
    handle.task = asyncio.get_running_loop().create_task(
        execute(run_id, experiment), name=f"run {run_id}", context=context
    )
    def ended(_: object) -> None:
        _running.pop(run_id, None)
        metrics.RUNS_ACTIVE.dec()

    handle.task.add_done_callback(ended)
    return handle.task


async def request_cancel(run_id: uuid.UUID) -> None:
    """Stop a run at once, wherever it runs."""
    handle = _running.get(run_id)
    if handle is not None:
        handle.cancel()
        return
    await get_channel_layer().group_send(control_group_name(run_id), {"type": "run.cancel"})


class EventWriter:
    """Numbers the experiment's live events and writes them in batches."""

    def __init__(self, run_id: uuid.UUID) -> None:
        self.run_id = run_id
        self.started = time.monotonic()
        self.seq = 0
        self.pending: list[LiveEvent] = []
        self.last_write = self.started
        self.layer = get_channel_layer()
        self.stopping = asyncio.Event()

    def add(self, event: LiveEvent) -> None:
        # Stamped in place: each event is a fresh dict that nobody else holds.
        for key, value in event.items():
            if isinstance(value, str | dict | list):
                event[key] = storable(value)  # type: ignore[literal-required]  # same keys, cleaned values
        self.seq += 1
        event["seq"] = self.seq
        if event["type"] == "request":
            event["at"] = round(time.monotonic() - self.started, 6)
        self.pending.append(event)

    async def flush(self) -> None:
        if not self.pending and time.monotonic() - self.last_write < HEARTBEAT_SECONDS:
            return
        batch, self.pending = self.pending, []
        try:
            await save_batch(self.run_id, batch)
        except Exception:
            # The database hiccuped: keep the events and try again with the next batch.
            logger.warning("could not store events of run %s; will retry", self.run_id, exc_info=True)
            self.pending = batch + self.pending
            return
        self.last_write = time.monotonic()
        if batch:
            _recent.setdefault(self.run_id, deque(maxlen=RECENT_EVENTS)).extend(batch)
            await self.wake_viewers({"type": "run.progress", "seq": batch[-1]["seq"]})

    async def wake_viewers(self, message: dict[str, Any]) -> None:
        try:
            await self.layer.group_send(group_name(self.run_id), message)
        except Exception:
            # Viewers also check the database on their own every few seconds.
            logger.warning("could not notify viewers of run %s", self.run_id, exc_info=True)

    async def keep_flushing(self) -> None:
        """Write every flush interval until told to stop. It is stopped, never cancelled:
        a write cancelled while it waits for the database thread never happens, and its
        batch, already taken from `pending`, would be lost."""
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.stopping.wait(), flush_interval())
            except TimeoutError:
                pass
            await self.flush()


@database_sync_to_async
def save_batch(run_id: uuid.UUID, batch: list[LiveEvent]) -> None:
    now = timezone.now()
    with transaction.atomic():
        if batch:
            RunEvents.objects.create(run_id=run_id, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], events=batch)
            Run.objects.filter(pk=run_id).update(last_seq=batch[-1]["seq"], heartbeat=now)
        else:
            Run.objects.filter(pk=run_id).update(heartbeat=now)


@database_sync_to_async
def finish_run(run_id: uuid.UUID, state: str, report: dict[str, Any] | None) -> None:
    Run.objects.filter(pk=run_id).update(
        state=state,
        finished=timezone.now(),
        heartbeat=timezone.now(),
        outcome=(report or {}).get("outcome", ""),
        outcome_lane=(report or {}).get("leading_lane", "") if len((report or {}).get("lanes", [])) > 1 else "",
        report=without_reads(report) if report is not None else None,
    )


async def _listen_for_cancel(run_id: uuid.UUID) -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(control_group_name(run_id), channel)
    try:
        while True:
            message = await layer.receive(channel)
            if message.get("type") == "run.cancel" and run_id in _running:
                _running[run_id].cancel()
    finally:
        await layer.group_discard(control_group_name(run_id), channel)


async def _report(experiment: Experiment, writer: EventWriter) -> dict[str, Any]:
    report = await run_experiment(experiment, outbound_policy(), writer.add)
    # Copying every read and event into plain data grows with the stream: off the loop too.
    return await asyncio.to_thread(lambda: storable(report.to_json()))


async def execute(run_id: uuid.UUID, experiment: Experiment) -> None:
    handle = _running.setdefault(run_id, _Handle())
    writer = EventWriter(run_id)
    flusher = asyncio.create_task(writer.keep_flushing())
    listener = asyncio.create_task(_listen_for_cancel(run_id))
    inner = handle.experiment_task = asyncio.create_task(_report(experiment, writer))
    if handle.cancelled:  # asked before the experiment existed
        inner.cancel()
    report: dict[str, Any] | None = None
    try:
        report = await inner
    except asyncio.CancelledError:
        if not inner.cancelled():
            raise  # the server itself is stopping
        # Cancelled before the experiment's first step: nothing was recorded.
    except Exception:
        logger.exception("run %s failed", run_id)
    finally:
        listener.cancel()
        writer.stopping.set()
        await asyncio.gather(listener, flusher, return_exceptions=True)
    cancelled = handle.cancelled
    for _attempt in range(3):
        await writer.flush()
        if not writer.pending:
            break
        await asyncio.sleep(0.5)
    if report is None:
        state = Run.State.CANCELLED if cancelled else Run.State.INTERRUPTED
    else:
        state = Run.State.CANCELLED if cancelled else Run.State.FINISHED
    await finish_run(run_id, state, report)
    metrics.RUNS_ENDED.labels(state=state, outcome=(report or {}).get("outcome") or "none").inc()
    _recent.pop(run_id, None)
    await writer.wake_viewers({"type": "run.finished", "seq": writer.seq})


def is_stale(run: Run) -> bool:
    if run.state != Run.State.RUNNING:
        return False
    now = timezone.now()
    if run.worker is not None:
        return now - run.worker.heartbeat > WORKER_LOST_AFTER
    return run.heartbeat is None or now - run.heartbeat > STALE_AFTER


def settle_if_stale(run: Run) -> Run:
    """A run whose worker went away is marked interrupted, so nobody waits for it forever."""
    if is_stale(run):
        Run.objects.filter(pk=run.pk, state=Run.State.RUNNING).update(
            state=Run.State.INTERRUPTED, finished=timezone.now()
        )
        run.refresh_from_db()
    return run


def active_runs(client: str | None = None, owner_id: int | None = None) -> int:
    now = timezone.now()
    recent = Run.objects.filter(state=Run.State.RUNNING).filter(
        Q(worker__heartbeat__gte=now - WORKER_LOST_AFTER) | Q(worker__isnull=True, heartbeat__gte=now - STALE_AFTER)
    )
    if client is not None:
        recent = recent.filter(client=client)
    if owner_id is not None:
        recent = recent.filter(owner_id=owner_id)
    return recent.count()

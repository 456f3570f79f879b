"""Prometheus metrics: runs by kind and by how they ended, runs running, viewers watching,
and how late each worker's event loop wakes up.

With several worker processes on one host, set PROMETHEUS_MULTIPROC_DIR to an empty folder
shared by them (prometheus_client's multiprocess mode); /metrics/ then adds them up.
"""

from __future__ import annotations

import asyncio
import os
import time

from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from troubleshooter.background import OnePerLoop

RUNS_STARTED = Counter("troubleshooter_runs_started", "Experiments started", ["kind"])
RUNS_ENDED = Counter("troubleshooter_runs_ended", "Experiments ended", ["state", "outcome"])
RUNS_ACTIVE = Gauge("troubleshooter_runs_active", "Experiments running", multiprocess_mode="livesum")
VIEWERS = Gauge("troubleshooter_viewers", "Run pages watching over a websocket", multiprocess_mode="livesum")
LOOP_LAG = Histogram(
    "troubleshooter_event_loop_lag_seconds", "How late the event loop woke a task that slept",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

LAG_SAMPLE_SECONDS = 0.5


async def _sample_loop_lag() -> None:
    while True:
        before = time.monotonic()
        await asyncio.sleep(LAG_SAMPLE_SECONDS)
        LOOP_LAG.observe(max(time.monotonic() - before - LAG_SAMPLE_SECONDS, 0.0))


_lag_sampler = OnePerLoop(_sample_loop_lag, "loop lag sampler")


def watch_event_loop() -> None:
    """Start sampling the running loop's lag, once per loop (called where a worker's loop is
    busy: runs, viewers, readiness checks)."""
    _lag_sampler.ensure()


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
        return generate_latest(registry)
    return generate_latest(PROCESS_REGISTRY)

"""A run whose worker process dies is shown "interrupted" within seconds: each worker writes
its own heartbeat every second, however long its runs' last writes are ago."""

from __future__ import annotations

import json
import os
import signal
import time
from contextlib import ExitStack
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from tests.support import app_environment, daphne, manage, run_through_the_form
from troubleshooter.runs import executor
from troubleshooter.runs.models import Run, Worker


def run_of(worker: Worker | None, run_heartbeat_age: float = 0.0) -> Run:
    return Run.objects.create(kind="single", url="http://127.0.0.1/s", plan={"kind": "single"}, client="t",
                              worker=worker, heartbeat=timezone.now() - timedelta(seconds=run_heartbeat_age))


@pytest.mark.django_db
def test_a_run_is_lost_once_its_worker_stops_beating_for_longer_than_the_limit():
    limit = executor.WORKER_LOST_AFTER.total_seconds()
    alive = Worker.objects.create(heartbeat=timezone.now() - timedelta(seconds=limit - 0.5))
    gone = Worker.objects.create(heartbeat=timezone.now() - timedelta(seconds=limit + 0.5))
    assert not executor.is_stale(run_of(alive, run_heartbeat_age=25))  # quiet runs of a live worker go on
    assert executor.is_stale(run_of(gone))  # however fresh the run's own last write
    assert executor.active_runs() == 1


@pytest.mark.django_db
def test_a_run_without_a_worker_keeps_the_old_rule_of_its_own_heartbeat():
    assert not executor.is_stale(run_of(None, run_heartbeat_age=5))
    assert executor.is_stale(run_of(None, run_heartbeat_age=executor.STALE_AFTER.total_seconds() + 1))


def test_killing_the_worker_that_runs_an_experiment_shows_it_interrupted_on_another(tmp_path):
    env = app_environment(tmp_path, LAB_ENABLED="1")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    with ExitStack() as workers:
        first, first_base = workers.enter_context(daphne(env, tmp_path / "first.log"))
        _, second_base = workers.enter_context(daphne(env, tmp_path / "second.log"))
        started = run_through_the_form(first_base, {
            "kind": "single", "url": f"{first_base}/lab/sse/healthy/?chunks=600&delay=0.05", "total_seconds": "60",
        }, wait=0)
        assert started["state"] == "running"
        time.sleep(executor.WORKER_LOST_AFTER.total_seconds() + 1.5)
        still = httpx.get(f"{second_base}{started['page']}json/", timeout=10).json()
        assert still["state"] == "running"  # its worker beats, so it is not taken for lost
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while True:
            seen = httpx.get(f"{second_base}{started['page']}json/", timeout=10).json()
            if seen["state"] != "running" or time.monotonic() - killed_at > 20:
                break
            time.sleep(0.2)
        noticed_after = time.monotonic() - killed_at
    assert seen["state"] == "interrupted", json.dumps(seen)[:500]
    print(f"interrupted noticed {noticed_after:.1f} s after the kill")
    assert noticed_after < executor.STALE_AFTER.total_seconds()  # the worker's beat, not the run's 30 s

"""Old runs are deleted after RUNS_KEEP_DAYS, by `pruneruns` and by the app itself."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from troubleshooter.runs import retention
from troubleshooter.runs.models import Run, RunEvents, Worker

pytestmark = pytest.mark.django_db

PLAN = {"kind": "single", "url": "http://127.0.0.1:9/s"}


def run_ended(days_ago: float, state: str = "finished") -> Run:
    ended = timezone.now() - timedelta(days=days_ago)
    run = Run.objects.create(kind="single", url=PLAN["url"], plan=PLAN, client="t", state=state,
                             finished=ended if state != "running" else None, heartbeat=ended)
    Run.objects.filter(pk=run.pk).update(created=ended - timedelta(minutes=5))
    RunEvents.objects.create(run=run, first_seq=1, last_seq=1, events=[{"seq": 1, "type": "end"}])
    return run


def test_runs_that_ended_before_the_kept_days_go_with_their_events_and_the_rest_stay(settings):
    settings.RUNS_KEEP_DAYS = 30
    old = [run_ended(31), run_ended(45, "cancelled"), run_ended(60, "interrupted")]
    kept = [run_ended(29), run_ended(1)]
    still_running = run_ended(90, "running")
    output = StringIO()
    call_command("pruneruns", stdout=output)
    assert "Deleted 3 runs with 3 event batches" in output.getvalue()
    remaining = set(Run.objects.values_list("pk", flat=True))
    assert remaining == {run.pk for run in kept} | {still_running.pk}
    assert not RunEvents.objects.filter(run_id__in=[run.pk for run in old]).exists()


def test_the_command_takes_another_number_of_days_and_zero_keeps_everything(settings):
    settings.RUNS_KEEP_DAYS = 30
    run_ended(10)
    call_command("pruneruns", "--days", "0", stdout=StringIO())
    assert Run.objects.count() == 1
    call_command("pruneruns", "--days", "7", stdout=StringIO())
    assert Run.objects.count() == 0


def test_workers_gone_for_a_day_are_forgotten_unless_runs_still_name_them():
    now = timezone.now()
    gone = Worker.objects.create(heartbeat=now - timedelta(days=2))
    gone_but_named = Worker.objects.create(heartbeat=now - timedelta(days=2))
    alive = Worker.objects.create(heartbeat=now)
    Run.objects.create(kind="single", url=PLAN["url"], plan=PLAN, client="t", state="finished", worker=gone_but_named)
    assert retention.prune().workers == 1
    assert set(Worker.objects.values_list("pk", flat=True)) == {gone_but_named.pk, alive.pk}
    assert not Worker.objects.filter(pk=gone.pk).exists()


def test_the_app_prunes_at_most_once_an_hour_however_many_workers_ask(settings):
    settings.RUNS_KEEP_DAYS = 30
    run_ended(40)
    now = timezone.now()
    first = retention.prune_if_due(now)
    assert first is not None and first.runs == 1
    run_ended(40)
    assert retention.prune_if_due(now + timedelta(minutes=10)) is None
    assert retention.prune_if_due(now + timedelta(minutes=59)) is None
    assert Run.objects.count() == 1
    later = retention.prune_if_due(now + timedelta(minutes=61))
    assert later is not None and later.runs == 1

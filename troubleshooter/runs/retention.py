"""Keeping runs for RUNS_KEEP_DAYS, then deleting them with their events.

`manage.py pruneruns` does it on a schedule the deployment chooses; the app also does it
itself at most once an hour (whichever worker's heartbeat comes first), so a deployment
without a scheduler does not grow forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Chore, Run, Worker

PRUNE_EVERY = timedelta(hours=1)
# Workers that have not beaten for this long are gone; their rows only clutter the table.
FORGET_WORKERS_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Pruned:
    runs: int
    events: int
    workers: int


def prune(keep_days: int | None = None, now: datetime | None = None) -> Pruned:
    """Delete runs that ended (finished, cancelled or interrupted) more than `keep_days`
    days ago, and their events. Running runs are never deleted, however old; 0 keeps all."""
    keep_days = settings.RUNS_KEEP_DAYS if keep_days is None else keep_days
    now = now or timezone.now()
    workers, _ = Worker.objects.filter(heartbeat__lt=now - FORGET_WORKERS_AFTER, runs__isnull=True).delete()
    if keep_days <= 0:
        return Pruned(0, 0, workers)
    cutoff = now - timedelta(days=keep_days)
    # A run that ended without a finish time (stale before settle wrote one) counts from its start.
    old = Run.objects.exclude(state=Run.State.RUNNING).filter(
        Q(finished__lt=cutoff) | Q(finished__isnull=True, created__lt=cutoff)
    )
    _, deleted = old.delete()
    return Pruned(deleted.get("runs.Run", 0), deleted.get("runs.RunEvents", 0), workers)


def prune_if_due(now: datetime | None = None) -> Pruned | None:
    """Prune if no worker has in the last hour; exactly one of many workers asking at once
    wins the conditional update and does it."""
    now = now or timezone.now()
    due = Chore.objects.filter(name="prune-runs", last_done__lt=now - PRUNE_EVERY).update(last_done=now)
    if not due:
        try:
            with transaction.atomic():
                Chore.objects.create(name="prune-runs", last_done=now)
        except IntegrityError:
            return None  # it exists and was done within the hour, or another worker just made it
    return prune(now=now)

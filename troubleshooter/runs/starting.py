"""Starting a run: who starts it, the limits, and the claim that creates it.

The web form and the JSON API both start runs through here, so both count against the
same limits under the same lock, and both hand the experiment to the executor (which
applies the deployment's outbound policy) the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import access, executor
from .forms import RunForm
from .models import Run


@dataclass
class Starter:
    """Who starts a run: the client's hashed address, and the signed-in user and chosen
    team when there are accounts."""

    client: str
    owner_id: int | None = None
    team_id: int | None = None


def starter_for(client: str, user: Any, chosen_team: str = "") -> Starter:
    """A team is taken only if the person belongs to it; anything else starts a personal run."""
    if not user.is_authenticated:
        return Starter(client)
    team_id = next((pk for pk, _name in access.teams_of(user) if str(pk) == chosen_team), None)
    return Starter(client, owner_id=user.pk, team_id=team_id)


def over_limit(starter: Starter) -> str:
    """Why this starter may not start another run now, in a sentence; "" when they may."""
    if executor.active_runs() >= settings.RUNS_MAX_ACTIVE:
        return (f"{settings.RUNS_MAX_ACTIVE} experiments are running on this server already. "
                "Try again when one has finished.")
    if starter.owner_id is not None:
        # A signed-in person is counted as themselves, wherever they connect from.
        if executor.active_runs(owner_id=starter.owner_id) >= settings.RUNS_MAX_ACTIVE_PER_USER:
            return (f"You have {settings.RUNS_MAX_ACTIVE_PER_USER} experiments running. "
                    "Wait for one to finish, or cancel one.")
        hour_ago = timezone.now() - timedelta(hours=1)
        started = Run.objects.filter(owner_id=starter.owner_id, created__gte=hour_ago).count()
        if started >= settings.RUNS_PER_HOUR_PER_USER:
            return (f"You have started {settings.RUNS_PER_HOUR_PER_USER} experiments in the last hour, "
                    "the most this server allows. Try again later.")
        return ""
    if executor.active_runs(client=starter.client) >= settings.RUNS_MAX_ACTIVE_PER_CLIENT:
        return (f"You have {settings.RUNS_MAX_ACTIVE_PER_CLIENT} experiments running. "
                "Wait for one to finish, or cancel one.")
    return ""


# Any number that no other part of the app takes as an advisory lock.
RUN_CLAIM_LOCK = 0x72756E73


def claim_run(plan: dict[str, Any], starter: Starter) -> Run | str:
    """Check the limits and create the run as one step, so that a burst of posts, in one
    worker or across several, never starts more than the limits allow. PostgreSQL: an
    advisory lock held until the transaction ends. SQLite: its transactions begin IMMEDIATE
    (see settings), which takes the database's write lock before the count."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_CLAIM_LOCK])
        refusal = over_limit(starter)
        if refusal:
            return refusal
        return Run.objects.create(
            kind=plan["kind"], url=plan["url"][:2048], plan=plan, framework=plan["framework"], walk=plan["walk"],
            client=starter.client, owner_id=starter.owner_id, team_id=starter.team_id,
            heartbeat=timezone.now(), worker_id=executor.this_worker(),
        )


async def launch(form: RunForm, starter: Starter) -> Run | str:
    """The new run, started in this event loop; or why it may not start now. The form
    must be valid: its experiment holds the secret values, its plan does not."""
    assert form.experiment is not None
    claimed = await sync_to_async(claim_run)(form.plan(), starter)
    if isinstance(claimed, Run):
        executor.start(claimed.pk, form.experiment)
    return claimed

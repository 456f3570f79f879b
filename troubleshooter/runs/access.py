"""Who may see and manage a run.

With REQUIRE_LOGIN_FOR_RUNS off (the embedded default, or an open internal deployment)
every visitor may do everything, as on a single user's machine. With it on, a run belongs
to the person who started it and, if they chose one, to a team (a Django group): they and
staff may see and cancel it; anyone else only through its share link, read-only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from .models import Run


def login_required() -> bool:
    return bool(settings.REQUIRE_LOGIN_FOR_RUNS)


def may_start(user: Any) -> bool:
    return not login_required() or user.is_authenticated


def _team_ids(user: Any) -> list[int]:
    return list(user.groups.values_list("pk", flat=True))


def may_manage(user: Any, run: Run) -> bool:
    """See, cancel, share and run again."""
    if not login_required():
        return True
    if not user.is_authenticated:
        return False
    if user.is_staff or run.owner_id == user.pk:
        return True
    return run.team_id is not None and run.team_id in _team_ids(user)


def visible_runs(user: Any) -> QuerySet[Run]:
    """The history list: everything when runs are open; else mine and my teams'."""
    if not login_required():
        return Run.objects.all()
    if not user.is_authenticated:
        return Run.objects.none()
    return Run.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=_team_ids(user)))


def shared_run(token: str) -> Run | None:
    if not token:
        return None
    return Run.objects.select_related("worker").filter(share_token=token).first()


def teams_of(user: Any) -> list[tuple[int, str]]:
    if not user.is_authenticated:
        return []
    return list(user.groups.order_by("name").values_list("pk", "name"))

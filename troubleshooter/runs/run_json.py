"""A run as JSON: one shape for the run page's download and the API's run resource.

Past the run's own keys (id, state, times, the request as stored) it is the probe's report,
the same as `manage.py probe --json` prints; a run without a report yet has outcome null.
The request is the stored plan, so secret header values are never in it.
"""

from __future__ import annotations

from typing import Any

from troubleshooter.probe.events import LiveEvent

from .models import Run
from .stored_report import with_reads


def stored_events(run: Run) -> list[LiveEvent]:
    return [event for batch in run.batches.values_list("events", flat=True) for event in batch]


def run_as_json(run: Run) -> dict[str, Any]:
    return {
        "id": str(run.pk),
        "kind": run.kind,
        "state": run.state,
        "created": run.created.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "request": run.plan,
        **(with_reads(run.report, stored_events(run)) if run.report else {"outcome": None}),
    }

"""Measurements made elsewhere, read into ordinary runs: the same verdict, timeline,
permalink and JSON as a run of this server's own probe, marked with where they came from.

A curl trace is the first kind of evidence: it shows the stream from where the person
stands (inside the VPN, through the office proxy), which this server often cannot reach.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from troubleshooter.probe import KINDS, Experiment, Limits, ProbeSpec
from troubleshooter.probe.curl_trace import TraceError, read_trace
from troubleshooter.probe.events import LiveEvent
from troubleshooter.probe.experiments import conclude
from troubleshooter.probe.record import SECRET_PLACEHOLDER, Record, redact_url
from troubleshooter.probe.replay import live_events, record_from

from .forms import WEB_LIMITS
from .models import Run, RunEvents
from .storable import storable
from .stored_report import without_reads

BATCH = 500


class ImportRefused(ValueError):
    """The evidence cannot be read; the message says why and what to do."""


def record_from_curl_trace(text: str) -> Record:
    if "\x00" in text:  # an uploaded file is not checked by the form's text field
        raise ImportRefused("This is not a curl trace: it holds binary data. Upload the text file curl wrote.")
    try:
        return record_from(read_trace(text), Limits(**WEB_LIMITS))
    except TraceError as error:
        raise ImportRefused(str(error)) from None


def store_imported(
    record: Record, source: str, *, known_timeouts: tuple[float, ...] = (), framework: str = "", walk: str = "",
    client: str = "", owner_id: int | None = None, team_id: int | None = None,
) -> Run:
    """A finished run holding the measurement, its verdict and its live events."""
    request = record.request
    experiment = Experiment(kind=KINDS["single"], spec=ProbeSpec(url=request.url, method=request.method),
                            known_timeouts=known_timeouts)
    report: dict[str, Any] = storable(conclude(experiment, [record]).to_json())
    outcome = str(report["outcome"])
    events: list[LiveEvent] = [storable(event) for event in live_events(record)]
    for seq, event in enumerate(events, start=1):
        event["seq"] = seq
    url = redact_url(request.url)
    plan: dict[str, Any] = {
        "kind": "single", "url": url, "method": request.method, "format": "auto", "body": "",
        "body_kind": "json", "total_seconds": 60.0, "concurrency": 1, "repeats": 3, "compare_url": "",
        "model": "", "prompt": "", "known_timeouts": ", ".join(f"{s:g}" for s in known_timeouts),
        "framework": framework, "walk": walk,
        "headers": [{"name": name, "value": value, "secret": value == SECRET_PLACEHOLDER}
                    for name, value in request.headers if name.lower() not in ("host", "content-length")],
    }
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.create(
            kind="single", source=source, url=url[:2048], plan=plan, framework=framework, walk=walk,
            client=client, owner_id=owner_id, team_id=team_id, state=Run.State.FINISHED, finished=now,
            heartbeat=now, outcome=outcome, report=without_reads(report), last_seq=len(events),
        )
        batches = [events[start:start + BATCH] for start in range(0, len(events), BATCH)]
        RunEvents.objects.bulk_create(
            RunEvents(run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], events=batch) for batch in batches
        )
    return run

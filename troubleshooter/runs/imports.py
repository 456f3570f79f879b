"""Measurements made elsewhere, read into ordinary runs: the same verdict, timeline,
permalink and JSON as a run of this server's own probe, marked with where they came from.

A curl trace is the first kind of evidence: it shows the stream from where the person
stands (inside the VPN, through the office proxy), which this server often cannot reach.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from troubleshooter.probe import KINDS, Experiment, Limits, ProbeSpec
from troubleshooter.probe.curl_trace import TraceError, read_trace
from troubleshooter.probe.events import LiveEvent
from troubleshooter.probe.experiments import conclude
from troubleshooter.probe.har import HarError, read_har
from troubleshooter.probe.record import SECRET_PLACEHOLDER, Record, record_from_dict, redact_url
from troubleshooter.probe.replay import Measured, blank_request_headers, live_events, record_from
from troubleshooter.probe.report import RECORD_VERSION

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


# Kinds whose lanes a standalone probe's record can carry, and how many lanes make which
# experiment size (the LangChain experiment needs this server's own LangChain run).
IMPORTABLE_KINDS = ("single", "compare", "parallel", "repeat")


def _size_of(kind: str, lanes: int) -> int:
    """The experiment's `concurrency` for this many lanes: parallel has a lane alone first."""
    return {"parallel": lanes - 1, "repeat": lanes}.get(kind, 1)


def records_from_probe_json(text: str) -> tuple[str, list[Record]]:
    """The experiment kind and lanes of a probe's `--json` output."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ImportRefused("This is neither a curl trace nor the probe's JSON: it does not parse as JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("lanes"), list) or not data["lanes"]:
        raise ImportRefused("This JSON is not a probe's record: it has no lanes. Import the output of --json.")
    version = data.get("record_version")
    if version != RECORD_VERSION:
        raise ImportRefused(
            f"This record was written by a probe of another version ({version or 'unknown'}); this server reads "
            f"version {RECORD_VERSION}. Download the standalone probe from this page and measure again."
        )
    kind = data.get("kind")
    if kind not in IMPORTABLE_KINDS:
        raise ImportRefused(f"Experiments of kind '{kind}' cannot be imported; single, compare, parallel and "
                            "repeat can.")
    try:
        records = [record_from_dict(lane["record"]) for lane in data["lanes"]]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ImportRefused(f"The record could not be read: {type(error).__name__} {error}.") from None
    for record in records:  # it came from outside: blank secrets again, as for a probe
        record.request.url = redact_url(record.request.url)
        record.request.headers = blank_request_headers(record.request.headers)
    return str(kind), records


def record_from_har(text: str) -> Record:
    try:
        record = record_from(read_har(text), Limits(**WEB_LIMITS))
    except HarError as error:
        raise ImportRefused(str(error)) from None
    record.facts["per_chunk_times"] = False  # a HAR has a wait and a receive time, nothing finer
    return record


def record_from_browser(text: str) -> Record:
    """What the measure page's script (static/js/measure-core.js) recorded in a browser."""
    try:
        data = json.loads(text)
        arrivals = [(float(t), base64.b64decode(chunk, validate=True)) for t, chunk in data["arrivals"]]
        ending = data.get("ending") or {}
        measured = Measured(
            method=str(data.get("method") or "GET"), url=str(data["url"]),
            request_headers=[(str(name), str(value)) for name, value in data.get("request_headers", [])],
            status=int(data["status"]) if data.get("status") is not None else None, http_version=None,
            headers={str(name): str(value) for name, value in (data.get("headers") or {}).items()},
            time_to_headers=float(data["time_to_headers"]) if data.get("time_to_headers") is not None else None,
            arrivals=arrivals, ending_kind=str(ending.get("kind") or "") or None,
            ending_t=float(ending.get("t") or (arrivals[-1][0] if arrivals else 0.0)),
            ending_reason=str(ending.get("reason") or ""),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise ImportRefused(f"The browser's measurement could not be read: {type(error).__name__} {error}.") from None
    if measured.ending_kind == "clean-close":
        measured.ending_kind = None  # the body decides: a terminal event, or a clean close without one
    return record_from(measured, Limits(**WEB_LIMITS))


def looks_like_log_lines(text: str) -> bool:
    """Neither JSON nor a curl trace: lines from a server's or a platform's log."""
    return not text.lstrip().startswith("{") and "=> Send header" not in text


def record_evidence(text: str) -> tuple[str, str, list[Record]]:
    """(source, kind, lanes) of pasted or uploaded evidence, whichever of the kinds it is."""
    if text.lstrip().startswith("{"):
        if '"browser_measurement"' in text[:200]:
            return "browser", "single", [record_from_browser(text)]
        if '"log"' in text[:2000] and '"entries"' in text:
            return "har", "single", [record_from_har(text)]
        kind, records = records_from_probe_json(text)
        return "probe-record", kind, records
    return "curl-trace", "single", [record_from_curl_trace(text)]


def store_imported(
    records: list[Record], source: str, *, kind: str = "single", known_timeouts: tuple[float, ...] = (),
    framework: str = "", walk: str = "", client: str = "", owner_id: int | None = None, team_id: int | None = None,
) -> Run:
    """A finished run holding the measurement, its verdict and its live events."""
    request = records[0].request
    experiment = Experiment(
        kind=KINDS[kind], spec=ProbeSpec(url=request.url, method=request.method), known_timeouts=known_timeouts,
        concurrency=_size_of(kind, len(records)),
        compare_url=records[1].request.url if kind == "compare" and len(records) > 1 else "",
    )
    labels = experiment.lane_labels()
    if len(labels) != len(records):
        raise ImportRefused(f"A {kind} experiment has {len(labels)} lanes; this record has {len(records)}.")
    report: dict[str, Any] = storable(conclude(experiment, records).to_json())
    outcome = str(report["outcome"])
    first_start = min(record.started_monotonic for record in records)
    events: list[LiveEvent] = []
    for label, record in zip(labels, records, strict=True):
        lane_events = live_events(record, label)
        # Lanes that ran one after another keep their order and spacing.
        lane_events[0]["at"] = round(record.started_monotonic - first_start, 6)  # type: ignore[typeddict-unknown-key]
        events += [storable(event) for event in lane_events]
    for seq, event in enumerate(events, start=1):
        event["seq"] = seq
    url = redact_url(request.url)
    plan: dict[str, Any] = {
        "kind": kind, "url": url, "method": request.method, "format": "auto", "body": "",
        "body_kind": "json", "total_seconds": 60.0, "concurrency": experiment.concurrency,
        "repeats": max(experiment.concurrency, 2), "compare_url": redact_url(experiment.compare_url),
        "model": "", "prompt": "", "known_timeouts": ", ".join(f"{s:g}" for s in known_timeouts),
        "framework": framework, "walk": walk,
        "headers": [{"name": name, "value": value, "secret": value == SECRET_PLACEHOLDER}
                    for name, value in request.headers if name.lower() not in ("host", "content-length")],
    }
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.create(
            kind=kind, source=source, url=url[:2048], plan=plan, framework=framework, walk=walk,
            client=client, owner_id=owner_id, team_id=team_id, state=Run.State.FINISHED, finished=now,
            heartbeat=now, outcome=outcome, report=without_reads(report), last_seq=len(events),
        )
        batches = [events[start:start + BATCH] for start in range(0, len(events), BATCH)]
        RunEvents.objects.bulk_create(
            RunEvents(run=run, first_seq=batch[0]["seq"], last_seq=batch[-1]["seq"], events=batch) for batch in batches
        )
    return run

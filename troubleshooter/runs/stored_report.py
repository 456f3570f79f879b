"""A finished run's report as stored: each lane's reads are left out, because every read
is already stored once as a chunk event (with its index in the record), and put back when
the report is downloaded. For a flood of small reads they were half the report.

The parsed events stay in the report: the live stream regroups text around a secret split
across reads, so the live events are not the record's events one for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from troubleshooter.probe.events import LiveEvent

# In place of a lane's reads: where to find them.
READS_IN_EVENTS = "chunk events"


def without_reads(report: dict[str, Any]) -> dict[str, Any]:
    lanes = [
        {**lane, "record": {**lane["record"], "reads": READS_IN_EVENTS}} if lane.get("record") else lane
        for lane in report.get("lanes", [])
    ]
    return {**report, "lanes": lanes}


def with_reads(report: dict[str, Any], events: Iterable[LiveEvent]) -> dict[str, Any]:
    """The report as the probe made it, reads rebuilt from the run's chunk events."""
    reads: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["type"] == "chunk":
            reads.setdefault(event["stream"], []).append({"t": event["t"], "size": event["size"], "i": event["index"]})
    lanes = []
    for lane in report.get("lanes", []):
        record = lane.get("record")
        if record and record.get("reads") == READS_IN_EVENTS:
            ordered = sorted(reads.get(lane["label"], []), key=lambda read: read["i"])
            record = {**record, "reads": [{"t": read["t"], "size": read["size"]} for read in ordered]}
            lane = {**lane, "record": record}
        lanes.append(lane)
    return {**report, "lanes": lanes}

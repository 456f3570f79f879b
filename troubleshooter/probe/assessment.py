"""A lane's record with its metrics and verdict, computed once and shared by every report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .diagnosis import KNOWN_TIMEOUTS, Diagnosis, diagnose
from .metrics import Metrics, measure
from .record import Record

Timeouts = Mapping[str, Mapping[float, str]]


def timeouts_with(extra: Iterable[float]) -> dict[str, dict[float, str]]:
    """The known defaults plus the timeouts a user says their own infrastructure uses."""
    label = "the {:g} s timeout you said your infrastructure uses"
    mine = {seconds: label.format(seconds) for seconds in extra}
    return {kind: {**table, **mine} for kind, table in KNOWN_TIMEOUTS.items()}


@dataclass(frozen=True)
class Assessment:
    """What one lane saw (its record), what it measured, and what that means."""

    label: str
    record: Record
    metrics: Metrics
    verdict: Diagnosis

    @property
    def healthy(self) -> bool:
        return self.verdict.outcome == "healthy"


def assess(label: str, record: Record, timeouts: Timeouts = KNOWN_TIMEOUTS) -> Assessment:
    metrics = measure(record)
    return Assessment(label, record, metrics, diagnose(record, metrics, timeouts=timeouts))

"""The JSON shape of an experiment's report: one shape for every kind, web and CLI alike.

    kind            "single", "parallel", "compare" or "langchain"
    outcome         the experiment's verdict (see the cause vocabulary)
    summary         one sentence
    causes          [{id, confidence, evidence}], strongest first
    hints           [{id, text}]: where to look when nothing is wrong here
    metrics         the leading lane's measurements
    leading_lane    the label of the lane the verdict leads with
    problem_found   whether any lane, or the group, did not stream as it should
    differences     plain sentences on how two lanes differ (compare)
    overlap         how parallel streams overlapped in time (parallel), else null
    lanes           [{label, outcome, summary, causes, hints, metrics, record}]
    record_version  the version of this shape; an import refuses another one
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .assessment import Assessment
from .diagnosis import Diagnosis
from .metrics import OverlapAnalysis


def lane_json(lane: Assessment) -> dict[str, Any]:
    return {
        "label": lane.label,
        **lane.verdict.to_dict(),
        "metrics": lane.metrics.to_dict(),
        "record": lane.record.to_dict(),
    }


# Raised when the shape of a record changes in a way an older reader would misread.
RECORD_VERSION = 1


def report_json(
    *,
    kind: str,
    verdict: Diagnosis,
    leading: Assessment,
    problem_found: bool,
    differences: Sequence[str],
    overlap: OverlapAnalysis | None,
    lanes: Sequence[Assessment],
) -> dict[str, Any]:
    return {
        "kind": kind,
        **verdict.to_dict(),
        "metrics": leading.metrics.to_dict(),
        "leading_lane": leading.label,
        "problem_found": problem_found,
        "differences": list(differences),
        "overlap": overlap.to_dict() if overlap is not None else None,
        "lanes": [lane_json(lane) for lane in lanes],
        "record_version": RECORD_VERSION,
    }

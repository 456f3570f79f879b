"""HTML for a run: the whole page section, and the small updates sent to live viewers.

Both the page view and the websocket consumer render through here from a Run and its
LiveState, so a page load and a live update can never disagree. No database access.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from troubleshooter.guides.content import get_library
from troubleshooter.probe.events import LiveEvent

from .forms import plan_as_data
from .live import NARROW_CHART_WIDTH, LiveState, draw
from .models import Run

TEXT_PANES = 2
# Which first answer of the troubleshooter a verdict corresponds to.
SYMPTOM_FOR_OUTCOME = {
    "buffered": "all-at-once",
    "cut-off": "stops-early",
    "truncated-by-model": "stops-early",
    "content-error": "stops-early",
    "upstream-error": "error-page",
    "http-error": "error-page",
}
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("time_to_headers", "Response headers after", "seconds"),
    ("time_to_first_byte", "First byte after", "seconds"),
    ("time_to_first_content", "First content after", "seconds"),
    ("duration", "Duration", "seconds"),
    ("bytes", "Bytes received", "count"),
    ("decoded_bytes", "Bytes after decoding", "count"),
    ("chunk_count", "Reads (chunks)", "count"),
    ("event_count", "Events parsed", "count"),
    ("content_event_count", "Content events", "count"),
    ("content_chars", "Characters of content", "count"),
    ("comment_count", "Heartbeats (comments)", "count"),
    ("error_event_count", "Error events", "count"),
    ("output_tokens", "Output tokens (reported)", "count"),
    ("gap_p50", "Gap between chunks, median", "seconds"),
    ("gap_p95", "Gap between chunks, p95", "seconds"),
    ("gap_p99", "Gap between chunks, p99", "seconds"),
    ("gap_max", "Longest gap between chunks", "seconds"),
    ("gap_before_end", "Silence after the last chunk, until the end", "seconds"),
    ("max_share_in_10_ms", "Largest share of bytes within 10 ms", "share"),
    ("share_in_last_5_percent", "Share of bytes in the last 5% of the time", "share"),
    ("finish_reason", "Finish reason", "text"),
)


def state_for(run: Run, events: list[LiveEvent]) -> LiveState:
    state = LiveState(run.lane_labels())
    state.apply(events)
    return state


def _format_metric(value: Any, unit: str) -> str:
    if unit == "seconds":
        return f"{value:.3f} s"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "count":
        return f"{value:,}"
    return str(value)


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (label, _format_metric(metrics[key], unit))
        for key, label, unit in METRIC_ROWS
        if metrics.get(key) is not None
    ]


def cause_link(cause_id: str, framework: str) -> str:
    url = reverse("cause-detail", args=[cause_id])
    return f"{url}?{urlencode({'framework': framework})}" if framework else url


def verdict_context(run: Run) -> dict[str, Any] | None:
    report = run.report
    if not report:
        return None
    library = get_library()
    framework = run.framework if run.framework in library.frameworks else ""

    def causes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                **cause,
                "title": library.causes[cause["id"]].title if cause["id"] in library.causes else cause["id"],
                "url": cause_link(cause["id"], framework),
                "percent": round(cause["confidence"] * 100),
            }
            for cause in items
        ]

    lanes = [
        {
            "label": lane["label"],
            "outcome": lane["outcome"],
            "summary": lane["summary"],
            "causes": causes(lane["causes"]),
            "metrics": lane["metrics"],
        }
        for lane in report.get("lanes", [])
    ]
    symptom = SYMPTOM_FOR_OUTCOME.get(report["outcome"])
    walk_params = {"symptom": symptom} if symptom else {}
    if framework:
        walk_params = {"framework": framework, **walk_params}
    return {
        "outcome": report["outcome"],
        "summary": report["summary"],
        "causes": causes(report["causes"]),
        "problem_found": report.get("problem_found", False),
        "differences": report.get("differences", []),
        "lanes": lanes,
        "metric_rows": metric_rows(report["metrics"]),
        "overlap": report.get("overlap"),
        "lane_metric_rows": [(lane["label"], metric_rows(lane["metrics"])) for lane in lanes]
        if len(lanes) > 1 and not report.get("overlap") else [],
        "tree_url": reverse("troubleshoot") + ("?" + urlencode(walk_params) if walk_params else ""),
        "walk_url": reverse("troubleshoot") + "?" + run.walk if run.walk else "",
    }


def socket_path(run: Run) -> str:
    """Where the run's websocket listens (routed by the ASGI application, not the URLconf)."""
    return f"{reverse('run-detail', args=[run.pk])}ws/"


def seconds_running(run: Run) -> float:
    end = run.finished or timezone.now()
    return max(0.0, (end - run.created).total_seconds())


def run_context(run: Run, state: LiveState, share_token: str = "") -> dict[str, Any]:
    """What a run's page shows. Seen through a share link (`share_token`) it is read-only:
    no cancel, no run again, and links and the socket carry the token instead of the id."""
    now = None if not run.is_active else seconds_running(run)
    lanes = state.ordered_lanes
    outcomes = {lane["label"]: lane["outcome"] for lane in (run.report or {}).get("lanes", []) if "outcome" in lane}
    socket = f"{socket_path(run)}?share={share_token}&after={state.last_seq}" if share_token else (
        f"{socket_path(run)}?after={state.last_seq}"
    )
    return {
        "read_only": bool(share_token),
        "json_url": (
            reverse("run-shared-json", args=[share_token]) if share_token else reverse("run-json", args=[run.pk])
        ),
        "page_url": reverse("run-shared", args=[share_token]) if share_token else reverse("run-detail", args=[run.pk]),
        "run": run,
        "kind_label": run.kind_title,
        "state": state,
        "lanes": lanes,
        "panes": [(index, lane) for index, lane in enumerate(lanes[:TEXT_PANES])],
        "totals": state.totals(),
        "elapsed": now if now is not None else state.elapsed(),
        "drawing": draw(state, now, outcomes),
        "narrow_drawing": draw(state, now, outcomes, width=NARROW_CHART_WIDTH),
        "verdict": verdict_context(run),
        "ws_url": socket if run.is_active else "",
        "again_now": plan_as_data(run.plan) is not None,
    }


def render_update(run: Run, state: LiveState, text_after: int, share_token: str = "") -> str:
    """What changed since a viewer last heard: progress and timeline swapped whole, the
    new text appended to each pane (the text that viewer already has is not sent again)."""
    context = run_context(run, state, share_token)
    context["appends"] = [(index, lane.text_after(text_after)) for index, lane in context["panes"]]
    return render_to_string("runs/_update.html", context)


def render_final(run: Run, state: LiveState, share_token: str = "") -> str:
    """The finished run replaces the live section (and so ends the page's socket)."""
    context = run_context(run, state, share_token)
    context["oob"] = True
    return render_to_string("runs/_run.html", context)

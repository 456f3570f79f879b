"""The cause vocabulary: ids every part of the app speaks in.

Guide pages, tree leaves, probe verdicts and the JSON output use exactly these strings. Add
an id when the content needs one; never rename one, since permalinks and saved runs point at
them. Plain Python with no Django import, so the probe engine can use it too.
"""

from __future__ import annotations

DELIVERY_CAUSES = (
    "server-buffering",
    "proxy-buffering",
    "compression-buffering",
    "per-chunk-compression",
    "idle-timeout",
    "request-timeout",
    "serverless-limits",
    "content-length-mismatch",
    "client-disconnect",
    "multi-worker-routing",
    "retry-duplicate-runs",
)
APPLICATION_CAUSES = (
    "blocking-event-loop",
    "worker-saturation",
    "event-loop-misuse",
    "callback-exception",
    "shared-client-race",
    "state-growth",
    "version-drift",
    "stream-not-requested",
    "lost-callback-context",
)
MODEL_CAUSES = ("token-limit", "upstream-error")

CAUSE_GROUPS = {
    "delivery": DELIVERY_CAUSES,
    "application": APPLICATION_CAUSES,
    "model": MODEL_CAUSES,
}
CAUSE_IDS = DELIVERY_CAUSES + APPLICATION_CAUSES + MODEL_CAUSES

FRAMEWORK_IDS = ("langchain", "langgraph", "llamaindex", "autogen")

OUTCOMES = (
    "healthy",
    "buffered",
    "cut-off",
    "truncated-by-model",
    "upstream-error",
    "http-error",
    "connect-error",
    "blocked",
    "content-error",
    "limit-reached",
)

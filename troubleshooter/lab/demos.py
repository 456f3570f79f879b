"""Demos: the experiment form filled in to point at one of the lab's endpoints.

Each says what its verdict should be, so people learn to read a verdict on a stream whose
fault they already know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Demo:
    slug: str
    title: str
    expect: str  # what the verdict should say, so people learn to read it
    path: str
    kind: str = "single"
    method: str = "GET"
    body: str = ""
    format: str = "auto"
    compare_path: str = ""
    concurrency: int = 5
    scheme: str = "http"
    # What the verdict must be: its outcome, and the cause it names first ("" for none).
    # Tests run every demo through the form and the probe command and hold them to it.
    outcome: str = "healthy"
    cause: str = ""


_CHAT_BODY = json.dumps({"model": "lab-model", "stream": True, "messages": [{"role": "user", "content": "Hello"}]})
_ANTHROPIC_BODY = json.dumps(
    {"model": "lab-model", "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
)

DEMOS: tuple[Demo, ...] = (
    Demo("healthy", "A healthy SSE stream", "healthy", "/lab/sse/healthy/?chunks=40&delay=0.05"),
    Demo("buffered", "A proxy that buffers", "buffered, proxy-buffering", "/lab/sse/buffered/?chunks=40&delay=0.05",
         outcome="buffered", cause="proxy-buffering"),
    Demo("one-piece", "A model nobody asked to stream", "buffered, stream-not-requested",
         "/lab/sse/one-piece/?chunks=40&delay=0.05", outcome="buffered", cause="stream-not-requested"),
    Demo("idle-cut", "A silence, then a cut", "cut-off, idle-timeout", "/lab/sse/idle-cut/?chunks=8&delay=0.1&gap=3",
         outcome="cut-off", cause="idle-timeout"),
    Demo("hard-cut", "A hard limit on total time", "cut-off, request-timeout", "/lab/sse/hard-cut/?at=3&delay=0.1",
         outcome="cut-off", cause="request-timeout"),
    Demo("worker-timeout", "A worker killed at its time limit", "cut-off, request-timeout (Server: gunicorn)",
         "/lab/sse/worker-timeout/?at=2.5&delay=0.1", outcome="cut-off", cause="request-timeout"),
    Demo("serverless-cut", "A serverless function stopped mid-stream", "cut-off, serverless-limits (Server: Vercel)",
         "/lab/sse/serverless-cut/?at=2&delay=0.1", outcome="cut-off", cause="serverless-limits"),
    Demo("no-terminal", "No terminal event", "cut-off, callback-exception",
         "/lab/sse/no-terminal/?chunks=20&delay=0.05", outcome="cut-off", cause="callback-exception"),
    Demo("gzip", "A gzip member per chunk", "cut-off, per-chunk-compression", "/lab/sse/gzip/?chunks=20&delay=0.05",
         outcome="cut-off", cause="per-chunk-compression"),
    Demo("content-length", "A Content-Length that lies", "cut-off, content-length-mismatch",
         "/lab/content-length-mismatch/?chunks=20&delay=0.05", outcome="cut-off", cause="content-length-mismatch"),
    Demo("openai", "OpenAI-compatible chat", "healthy", "/lab/openai/healthy/v1/chat/completions?chunks=30&delay=0.05",
         method="POST", body=_CHAT_BODY, format="openai"),
    Demo("openai-length", "The model hits max_tokens", "truncated-by-model, token-limit",
         "/lab/openai/length/v1/chat/completions?chunks=30&delay=0.05",
         method="POST", body=_CHAT_BODY, format="openai", outcome="truncated-by-model", cause="token-limit"),
    Demo("openai-error", "An error mid-stream", "upstream-error",
         "/lab/openai/error/v1/chat/completions?chunks=30&delay=0.05", method="POST", body=_CHAT_BODY, format="openai",
         outcome="upstream-error", cause="upstream-error"),
    Demo("anthropic", "Anthropic messages", "healthy", "/lab/anthropic/v1/messages?chunks=30&delay=0.05",
         method="POST", body=_ANTHROPIC_BODY, format="anthropic"),
    Demo("ndjson", "Newline-delimited JSON", "healthy", "/lab/ndjson/?chunks=30&delay=0.05"),
    Demo("websocket", "A WebSocket stream", "healthy", "/lab/ws/?chunks=30&delay=0.05", format="websocket",
         scheme="ws"),
    Demo("repeat-limit", "Three runs cut at the same moment", "cut-off, request-timeout, each run at 2 s",
         "/lab/sse/hard-cut/?at=2&delay=0.08&jitter=0.2&vary=0.3", kind="repeat", concurrency=3, outcome="cut-off",
         cause="request-timeout"),
    Demo("repeat-content", "Three runs cut after the same text", "cut-off, callback-exception, after 15 chunks each",
         "/lab/sse/no-terminal/?chunks=15&delay=0.08&jitter=0.2&vary=0.3", kind="repeat", concurrency=3,
         outcome="cut-off",
         cause="callback-exception"),
    Demo("parallel", "Five streams at once", "healthy, in parallel",
         "/lab/openai/healthy/v1/chat/completions?chunks=20&delay=0.05", kind="parallel", method="POST",
         body=_CHAT_BODY, format="openai"),
    Demo("compare", "Direct vs a buffering proxy", "the second lane buffered", "/lab/sse/healthy/?chunks=30&delay=0.05",
         kind="compare", compare_path="/lab/sse/buffered/?chunks=30&delay=0.05", outcome="buffered",
         cause="proxy-buffering"),
)
DEMOS_BY_SLUG = {demo.slug: demo for demo in DEMOS}


def demo_initial(demo: Demo, origin: str) -> dict[str, Any]:
    """Form data for a demo, with the lab's URLs on this server (`origin` like http://host:port)."""
    base = origin.replace("http", demo.scheme, 1) if demo.scheme == "ws" else origin
    return {
        "kind": demo.kind,
        "url": base + demo.path,
        "method": demo.method,
        "format": demo.format,
        "body": demo.body,
        "body_kind": "json",
        "compare_url": origin + demo.compare_path if demo.compare_path else "",
        "concurrency": demo.concurrency,
        "repeats": demo.concurrency if demo.kind == "repeat" else 3,
    }

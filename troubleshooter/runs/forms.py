"""The experiment form: from what a person typed to an Experiment, with clear errors.

Secret header values live only in the Experiment handed to the run's task; what is stored
and shown (`plan`) holds the header names with the placeholder instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings

from troubleshooter.probe import FORMATS, HeaderSpec, Limits, ProbeSpec, spec_problems
from troubleshooter.probe.concurrency import MAX_PARALLEL
from troubleshooter.probe.experiments import KINDS, Experiment
from troubleshooter.probe.record import (
    SECRET_PLACEHOLDER,
    is_secret_header_name,
    redact_url,
)
from troubleshooter.vocabulary import FRAMEWORK_IDS

MAX_HEADER_ROWS = 20
DEFAULT_HEADER_ROWS = 3
MAX_BODY_CHARS = 100_000
WEB_LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_events": 50_000, "max_reads": 50_000}
FORMAT_LABELS = {
    "auto": "Detect from the response",
    "sse": "Server-Sent Events",
    "openai": "OpenAI-compatible chat completions",
    "anthropic": "Anthropic messages",
    "ndjson": "Newline-delimited JSON",
    "text": "Raw chunked text",
    "websocket": "WebSocket",
}


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


_CHAT_BODY = json.dumps({"model": "lab-model", "stream": True, "messages": [{"role": "user", "content": "Hello"}]})
_ANTHROPIC_BODY = json.dumps(
    {"model": "lab-model", "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
)

DEMOS: tuple[Demo, ...] = (
    Demo("healthy", "A healthy SSE stream", "healthy", "/lab/sse/healthy/?chunks=40&delay=0.05"),
    Demo("buffered", "A proxy that buffers", "buffered, proxy-buffering", "/lab/sse/buffered/?chunks=40&delay=0.05"),
    Demo("idle-cut", "A silence, then a cut", "cut-off, idle-timeout", "/lab/sse/idle-cut/?chunks=8&delay=0.1&gap=3"),
    Demo("hard-cut", "A hard limit on total time", "cut-off", "/lab/sse/hard-cut/?at=3&delay=0.1"),
    Demo("no-terminal", "No terminal event", "cut-off", "/lab/sse/no-terminal/?chunks=20&delay=0.05"),
    Demo("gzip", "A gzip member per chunk", "cut-off, per-chunk-compression", "/lab/sse/gzip/?chunks=20&delay=0.05"),
    Demo("content-length", "A Content-Length that lies", "cut-off, content-length-mismatch",
         "/lab/content-length-mismatch/?chunks=20&delay=0.05"),
    Demo("openai", "OpenAI-compatible chat", "healthy", "/lab/openai/healthy/v1/chat/completions?chunks=30&delay=0.05",
         method="POST", body=_CHAT_BODY, format="openai"),
    Demo("openai-length", "The model hits max_tokens", "truncated-by-model, token-limit",
         "/lab/openai/length/v1/chat/completions?chunks=30&delay=0.05", method="POST", body=_CHAT_BODY, format="openai"),
    Demo("openai-error", "An error mid-stream", "upstream-error",
         "/lab/openai/error/v1/chat/completions?chunks=30&delay=0.05", method="POST", body=_CHAT_BODY, format="openai"),
    Demo("anthropic", "Anthropic messages", "healthy", "/lab/anthropic/v1/messages?chunks=30&delay=0.05",
         method="POST", body=_ANTHROPIC_BODY, format="anthropic"),
    Demo("ndjson", "Newline-delimited JSON", "healthy", "/lab/ndjson/?chunks=30&delay=0.05"),
    Demo("websocket", "A WebSocket stream", "healthy", "/lab/ws/?chunks=30&delay=0.05", format="websocket",
         scheme="ws"),
    Demo("parallel", "Five streams at once", "healthy, in parallel",
         "/lab/openai/healthy/v1/chat/completions?chunks=20&delay=0.05", kind="parallel", method="POST",
         body=_CHAT_BODY, format="openai"),
    Demo("compare", "Direct vs a buffering proxy", "the second lane buffered", "/lab/sse/healthy/?chunks=30&delay=0.05",
         kind="compare", compare_path="/lab/sse/buffered/?chunks=30&delay=0.05"),
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
    }


class RunForm(forms.Form):
    kind = forms.ChoiceField(choices=list(KINDS.items()), initial="single", widget=forms.RadioSelect)
    url = forms.CharField(
        max_length=2048, label="Endpoint URL",
        widget=forms.URLInput(attrs={"placeholder": "https://your-app.example/chat/stream", "autocomplete": "off",
                                     "spellcheck": "false"}),
    )
    method = forms.ChoiceField(choices=[(m, m) for m in ("GET", "POST", "PUT", "PATCH")], initial="GET")
    format = forms.ChoiceField(choices=[(f, FORMAT_LABELS[f]) for f in FORMATS], initial="auto")
    body = forms.CharField(required=False, max_length=MAX_BODY_CHARS, widget=forms.Textarea(attrs={"rows": 5,
                           "spellcheck": "false"}))
    body_kind = forms.ChoiceField(choices=[("json", "JSON"), ("text", "Text")], initial="json", label="Body is")
    total_seconds = forms.FloatField(initial=60, label="Stop after (seconds)")
    concurrency = forms.IntegerField(min_value=1, max_value=MAX_PARALLEL, initial=5, label="Streams at once")
    compare_url = forms.CharField(required=False, max_length=2048, label="The same endpoint through the proxy",
                                  widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    model = forms.CharField(required=False, max_length=200, initial="gpt-4o-mini")
    prompt = forms.CharField(required=False, max_length=2000, initial="Count from 1 to 30, one number per line.")
    known_timeouts = forms.CharField(
        required=False, max_length=200, label="Timeouts your infrastructure is set to (seconds, comma-separated)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. 60, 350"}),
    )
    framework = forms.ChoiceField(
        required=False, label="Your framework (for the fixes)",
        choices=[("", "Not chosen"), *((fid, fid) for fid in FRAMEWORK_IDS)],
    )
    walk = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, framework_names: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if framework_names:
            self.fields["framework"].choices = [("", "Not chosen"), *framework_names.items()]
        self.fields["total_seconds"].validators.append(_between(1, settings.RUNS_MAX_SECONDS))
        self.header_rows: list[dict[str, Any]] = []
        self.headers: tuple[HeaderSpec, ...] = ()
        self.secret_values_dropped = False
        self.experiment: Experiment | None = None

    # The concurrency, comparison and LangChain fields only matter for their own kind.
    def _kind(self) -> str:
        return str(self.data.get("kind") or "single") if self.is_bound else "single"

    def full_clean(self) -> None:
        if self.is_bound:
            kind = self._kind()
            self.fields["concurrency"].required = kind == "parallel"
            self.fields["compare_url"].required = kind == "compare"
            self.fields["model"].required = kind == "langchain"
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.header_rows, self.headers = self._clean_headers()
        if self.errors:
            return cleaned
        body, text_body = self._clean_body(cleaned)
        spec = ProbeSpec(
            url=cleaned["url"].strip(),
            method=cleaned["method"],
            headers=self.headers,
            json_body=body,
            text_body=text_body,
            format=cleaned["format"],
        )
        for problem in spec_problems(spec):
            self.add_error("url" if "URL" in problem or "address" in problem or "scheme" in problem else None, problem)
        compare_url = (cleaned.get("compare_url") or "").strip()
        if cleaned["kind"] == "parallel" and (cleaned.get("concurrency") or 0) < 2:
            self.add_error("concurrency", "Run at least 2 streams at once.")
        if cleaned["kind"] == "compare":
            for problem in spec_problems(ProbeSpec(url=compare_url)):
                self.add_error("compare_url", problem)
        if self.errors:
            return cleaned
        self.experiment = Experiment(
            kind=cleaned["kind"],
            spec=spec,
            limits=Limits(total_seconds=cleaned["total_seconds"], headers_seconds=min(30.0, cleaned["total_seconds"]),
                          **WEB_LIMITS),
            concurrency=cleaned.get("concurrency") or 1,
            compare_url=compare_url,
            model=(cleaned.get("model") or "").strip(),
            prompt=(cleaned.get("prompt") or "").strip() or "Hello",
            api_key=_bearer_token(self.headers),
            known_timeouts=self._known_timeouts(cleaned),
        )
        for problem in self.experiment.problems():
            self.add_error(None, problem)
        return cleaned

    def _clean_body(self, cleaned: dict[str, Any]) -> tuple[Any, str | None]:
        raw = cleaned.get("body") or ""
        if not raw.strip():
            return None, None
        if cleaned.get("method") == "GET" and cleaned.get("format") != "websocket":
            self.add_error("body", "A GET request has no body: choose POST, or leave the body empty.")
            return None, None
        if cleaned.get("body_kind") == "text":
            return None, raw
        try:
            return json.loads(raw), None
        except ValueError as error:
            self.add_error("body", f"This is not valid JSON: {error}. Choose 'Text' to send it as it is.")
            return None, None

    def _known_timeouts(self, cleaned: dict[str, Any]) -> tuple[float, ...]:
        values: list[float] = []
        for piece in (cleaned.get("known_timeouts") or "").replace(";", ",").split(","):
            piece = piece.strip().removesuffix("s").strip()
            if not piece:
                continue
            try:
                value = float(piece)
            except ValueError:
                self.add_error("known_timeouts", f"'{piece}' is not a number of seconds.")
                continue
            if not 0 < value <= 86400:
                self.add_error("known_timeouts", "Timeouts must be between 0 and 86400 seconds.")
                continue
            values.append(value)
        return tuple(values)

    def _clean_headers(self) -> tuple[list[dict[str, Any]], tuple[HeaderSpec, ...]]:
        """Header rows come as header-N-name / -value / -secret; blank rows are skipped."""
        rows: list[dict[str, Any]] = []
        headers: list[HeaderSpec] = []
        count = _row_count(self.data.get("header_rows"))
        for index in range(count):
            name = str(self.data.get(f"header-{index}-name", "")).strip()
            value = str(self.data.get(f"header-{index}-value", "")).strip()
            secret = bool(self.data.get(f"header-{index}-secret")) or is_secret_header_name(name)
            row = {"index": index, "name": name, "value": value, "secret": secret, "error": ""}
            rows.append(row)
            if not name and not value:
                continue
            if not name or any(ch in name for ch in " :\r\n\t") or len(name) > 200:
                row["error"] = "A header name has no spaces or colons, like X-Request-Id."
            elif any(ch in value for ch in "\r\n") or len(value) > 8000:
                row["error"] = "A header value fits on one line."
            else:
                headers.append(HeaderSpec(name, value, secret=secret))
        if any(row["error"] for row in rows):
            self.add_error(None, "Some headers need fixing.")
        return rows, tuple(headers)

    def rows_for_display(self) -> list[dict[str, Any]]:
        """Header rows to render again, secret values left out: they never go back to a page."""
        rows = [dict(row) for row in self.header_rows] or [
            {"index": index, "name": "", "value": "", "secret": False, "error": ""}
            for index in range(DEFAULT_HEADER_ROWS)
        ]
        for row in rows:
            if row["secret"] and row["value"]:
                row["value"] = ""
                self.secret_values_dropped = True
        return rows

    def plan(self) -> dict[str, Any]:
        """What is stored with the run: everything needed to show it and run it again,
        except secret values."""
        cleaned = self.cleaned_data
        return {
            "kind": cleaned["kind"],
            "url": redact_url(cleaned["url"].strip()),
            "method": cleaned["method"],
            "format": cleaned["format"],
            "body": cleaned.get("body") or "",
            "body_kind": cleaned.get("body_kind") or "json",
            "headers": [
                {"name": h.name, "value": SECRET_PLACEHOLDER if h.is_secret else h.value, "secret": h.is_secret}
                for h in self.headers
            ],
            "total_seconds": cleaned["total_seconds"],
            "concurrency": cleaned.get("concurrency") or 1,
            "compare_url": redact_url((cleaned.get("compare_url") or "").strip()),
            "model": cleaned.get("model") or "",
            "prompt": cleaned.get("prompt") or "",
            "known_timeouts": cleaned.get("known_timeouts") or "",
            "framework": cleaned.get("framework") or "",
            "walk": cleaned.get("walk") or "",
        }


def _between(low: float, high: float) -> Any:
    def check(value: float) -> None:
        if not low <= value <= high:
            raise forms.ValidationError(f"Choose between {low:g} and {high:g} seconds.")

    return check


def _row_count(raw: Any) -> int:
    try:
        return max(DEFAULT_HEADER_ROWS, min(int(raw), MAX_HEADER_ROWS))
    except (TypeError, ValueError):
        return DEFAULT_HEADER_ROWS


def _bearer_token(headers: tuple[HeaderSpec, ...]) -> str:
    for header in headers:
        if header.name.lower() == "authorization" and header.value.lower().startswith("bearer "):
            return header.value[7:].strip()
    return "not-needed"


def initial_from_plan(plan: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form data to run a stored plan again, and its header rows (secret values blank)."""
    rows = [
        {"index": index, "name": header["name"], "value": "" if header["secret"] else header["value"],
         "secret": header["secret"], "error": ""}
        for index, header in enumerate(plan.get("headers", []))
    ]
    while len(rows) < DEFAULT_HEADER_ROWS:
        rows.append({"index": len(rows), "name": "", "value": "", "secret": False, "error": ""})
    initial = {key: value for key, value in plan.items() if key != "headers"}
    return initial, rows


def plan_as_data(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """Form data that runs a stored plan again as it is, or None when it needs secrets
    typed again (or its URL was redacted)."""
    if not plan.get("url") or SECRET_PLACEHOLDER in plan["url"]:
        return None
    if any(header["secret"] for header in plan.get("headers", [])):
        return None
    if SECRET_PLACEHOLDER in plan.get("compare_url", ""):
        return None
    data = {key: str(value) for key, value in plan.items() if key != "headers"}
    headers = plan.get("headers", [])
    data["header_rows"] = str(len(headers))
    for index, header in enumerate(headers):
        data[f"header-{index}-name"] = header["name"]
        data[f"header-{index}-value"] = header["value"]
    return data

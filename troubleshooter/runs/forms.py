"""The experiment form: from what a person typed to an Experiment, with clear errors.

Secret header values live only in the Experiment handed to the run's task; what is stored
and shown (`plan`) holds the header names with the placeholder instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings

from troubleshooter.probe import FORMATS, KINDS, Experiment, HeaderSpec, Limits, ProbeSpec, spec_problems
from troubleshooter.probe.parallel import MAX_PARALLEL
from troubleshooter.probe.record import SECRET_PLACEHOLDER, is_secret_header_name, redact_url
from troubleshooter.probe.repeats import MAX_REPEATS
from troubleshooter.probe.spec import (
    MAX_HEADER_NAME_CHARS,
    MAX_HEADER_VALUE_CHARS,
    header_problem,
    url_problems,
)
from troubleshooter.vocabulary import FRAMEWORK_IDS

MAX_HEADER_ROWS = 20
DEFAULT_HEADER_ROWS = 3
HEADER_PREFIX = "header"
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
# A kind's settings that may be left blank; the others are required when that kind is chosen.
OPTIONAL_SETTINGS = frozenset({"prompt"})


class HeaderForm(forms.Form):
    """One header row; a row left blank is skipped."""

    name = forms.CharField(
        required=False, max_length=MAX_HEADER_NAME_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Name, e.g. Authorization", "autocomplete": "off",
                                      "spellcheck": "false"}),
    )
    value = forms.CharField(
        required=False, max_length=MAX_HEADER_VALUE_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Value", "autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_secret:
            # A secret value is never sent back to a browser, not even to the page that typed it.
            self.fields["value"].widget = forms.PasswordInput(
                render_value=False, attrs=self.fields["value"].widget.attrs
            )

    def _raw(self, field: str) -> str:
        if self.is_bound:
            return str(self.data.get(self.add_prefix(field), "")).strip()
        return str(self.initial.get(field, "") or "")

    @property
    def is_secret(self) -> bool:
        """Ticked, or a credential by its name (Authorization, X-Api-Key...)."""
        ticked = bool(self.data.get(self.add_prefix("secret"))) if self.is_bound else bool(self.initial.get("secret"))
        return ticked or is_secret_header_name(self._raw("name"))

    @property
    def has_secret_value(self) -> bool:
        return self.is_secret and bool(self._raw("value"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, value = cleaned.get("name", ""), cleaned.get("value", "")
        if name or value:
            problem = header_problem(name, value)
            if problem:
                raise forms.ValidationError(problem)
        return cleaned

    def header(self) -> HeaderSpec | None:
        name, value = self.cleaned_data.get("name", ""), self.cleaned_data.get("value", "")
        return HeaderSpec(name, value, secret=self.is_secret) if name else None


if TYPE_CHECKING:
    # BaseFormSet is generic only in django-stubs, not at run time.
    _HeaderFormSetBase = forms.BaseFormSet[HeaderForm]
else:
    _HeaderFormSetBase = forms.BaseFormSet


class BaseHeaderFormSet(_HeaderFormSetBase):
    def headers(self) -> tuple[HeaderSpec, ...]:
        return tuple(header for form in self.forms if (header := form.header()) is not None)

    @property
    def secret_values_dropped(self) -> bool:
        return self.is_bound and any(form.has_secret_value for form in self.forms)


# formset_factory returns a subclass of the `formset` it is given; the stubs type it as BaseFormSet.
HeaderFormSet = cast(
    "type[BaseHeaderFormSet]",
    forms.formset_factory(
        HeaderForm, formset=BaseHeaderFormSet, extra=0, max_num=MAX_HEADER_ROWS, validate_max=True,
        absolute_max=MAX_HEADER_ROWS,
    ),
)


def header_formset(data: Mapping[str, Any] | None = None, initial: list[dict[str, Any]] | None = None,
                   rows: int = DEFAULT_HEADER_ROWS) -> BaseHeaderFormSet:
    """The header rows: as submitted, or `initial` ones padded with blank rows to `rows`."""
    if data is not None:
        management = f"{HEADER_PREFIX}-TOTAL_FORMS"
        if management not in data:
            # Posted without any header rows (a script, a saved request): no headers.
            data = {**data, management: "0", f"{HEADER_PREFIX}-INITIAL_FORMS": "0"}
        return HeaderFormSet(data, prefix=HEADER_PREFIX)
    initial = list(initial or [])
    formset = HeaderFormSet(prefix=HEADER_PREFIX, initial=initial)
    formset.extra = max(0, min(rows, MAX_HEADER_ROWS) - len(initial))
    return formset


class RunForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind.id, kind.title) for kind in KINDS.values()], initial="single", widget=forms.RadioSelect
    )
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
    concurrency = forms.IntegerField(
        min_value=1, max_value=MAX_PARALLEL, initial=5, label="Streams at once",
        help_text="The same request this many times at once, after one alone as a baseline. "
                  "Shows streams that queue behind each other.",
    )
    repeats = forms.IntegerField(
        min_value=2, max_value=MAX_REPEATS, initial=3, label="How many times",
        help_text="The same request this many times, one after another. A limit on total time cuts every run "
                  "at the same moment; a fault in the content cuts after the same text; a random fault anywhere.",
    )
    compare_url = forms.CharField(
        required=False, max_length=2048, label="The same endpoint through the proxy",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The same endpoint reached through your proxy, load balancer or CDN. "
                  "The first URL should reach the app directly.",
    )
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

    def __init__(self, *args: Any, framework_names: Mapping[str, str] | None = None,
                 header_rows: list[dict[str, Any]] | None = None, blank_rows: int = DEFAULT_HEADER_ROWS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if framework_names:
            framework = self.fields["framework"]
            assert isinstance(framework, forms.ChoiceField)
            framework.choices = [("", "Not chosen"), *framework_names.items()]
        self.fields["total_seconds"].validators.append(_between(1, settings.RUNS_MAX_SECONDS))
        self.header_formset = header_formset(self.data if self.is_bound else None, header_rows, blank_rows)
        self.experiment: Experiment | None = None

    def chosen_kind(self) -> str:
        kind = str(self.data.get("kind") or "single") if self.is_bound else str(self.initial.get("kind") or "single")
        return kind if kind in KINDS else "single"

    def setting_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Each kind's own settings, to be shown only while that kind is chosen."""
        return [(kind.id, [self[name] for name in kind.settings]) for kind in KINDS.values() if kind.settings]

    def full_clean(self) -> None:
        if self.is_bound:
            # A kind's settings are required only when that kind is chosen.
            chosen = KINDS[self.chosen_kind()]
            for kind in KINDS.values():
                for name in kind.settings:
                    self.fields[name].required = name in chosen.settings and name not in OPTIONAL_SETTINGS
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.header_formset.is_valid():
            self.add_error(None, "Some headers need fixing.")
        if self.errors:
            return cleaned
        body, text_body = self._clean_body(cleaned)
        spec = ProbeSpec(
            url=cleaned["url"],
            method=cleaned["method"],
            headers=self.header_formset.headers(),
            json_body=body,
            text_body=text_body,
            format=cleaned["format"],
        )
        for problem in spec_problems(spec):
            self.add_error(None, problem)
        if self.errors:
            return cleaned
        self.experiment = Experiment(
            kind=KINDS[cleaned["kind"]],
            spec=spec,
            limits=Limits(total_seconds=cleaned["total_seconds"], headers_seconds=min(30.0, cleaned["total_seconds"]),
                          **WEB_LIMITS),
            concurrency=self._lane_count(cleaned),
            compare_url=cleaned.get("compare_url") or "",
            model=(cleaned.get("model") or "").strip(),
            prompt=(cleaned.get("prompt") or "").strip() or "Hello",
            api_key=_bearer_token(spec.headers),
            known_timeouts=self._known_timeouts(cleaned),
        )
        settings_of_kind = self.experiment.kind.settings
        for problem in self.experiment.problems():
            # A kind with one setting has problems only with that setting: show them on it.
            self.add_error(settings_of_kind[0] if len(settings_of_kind) == 1 else None, problem)
        return cleaned

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        for problem in url_problems(url):
            raise forms.ValidationError(problem)
        return url

    def clean_compare_url(self) -> str:
        url = (self.cleaned_data.get("compare_url") or "").strip()
        if url and "compare_url" in KINDS[self.chosen_kind()].settings:
            for problem in url_problems(url):
                raise forms.ValidationError(problem)
        return url

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
        values, problems = parse_known_timeouts(cleaned.get("known_timeouts") or "")
        for problem in problems:
            self.add_error("known_timeouts", problem)
        return values

    @property
    def secret_values_dropped(self) -> bool:
        return self.header_formset.secret_values_dropped

    @staticmethod
    def _lane_count(cleaned: Mapping[str, Any]) -> int:
        """Streams at once for a parallel experiment, runs in turn for a repeated one."""
        if cleaned.get("kind") == "repeat":
            return int(cleaned.get("repeats") or 3)
        return int(cleaned.get("concurrency") or 1)

    def plan(self) -> dict[str, Any]:
        """What is stored with the run: everything needed to show it and run it again,
        except secret values."""
        assert self.experiment is not None
        cleaned = self.cleaned_data
        return {
            "kind": cleaned["kind"],
            "url": redact_url(cleaned["url"]),
            "method": cleaned["method"],
            "format": cleaned["format"],
            "body": cleaned.get("body") or "",
            "body_kind": cleaned.get("body_kind") or "json",
            "headers": [
                {"name": h.name, "value": SECRET_PLACEHOLDER if h.is_secret else h.value, "secret": h.is_secret}
                for h in self.experiment.spec.headers
            ],
            "total_seconds": cleaned["total_seconds"],
            "concurrency": self._lane_count(cleaned),
            "repeats": cleaned.get("repeats") or 3,
            "compare_url": redact_url(cleaned.get("compare_url") or ""),
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


def _bearer_token(headers: tuple[HeaderSpec, ...]) -> str:
    for header in headers:
        if header.name.lower() == "authorization" and header.value.lower().startswith("bearer "):
            return header.value[7:].strip()
    return "not-needed"


def initial_from_plan(plan: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Form data to run a stored plan again, and its header rows (secret values blank)."""
    rows = [
        {"name": header["name"], "value": "" if header["secret"] else header["value"], "secret": header["secret"]}
        for header in plan.get("headers", [])
    ]
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
    data[f"{HEADER_PREFIX}-TOTAL_FORMS"] = str(len(headers))
    data[f"{HEADER_PREFIX}-INITIAL_FORMS"] = "0"
    for index, header in enumerate(headers):
        data[f"{HEADER_PREFIX}-{index}-name"] = header["name"]
        data[f"{HEADER_PREFIX}-{index}-value"] = header["value"]
    return data


# What a person may upload or paste; a trace of a ten-minute flood is well under this.
IMPORT_MAX_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    """Evidence from where the person stands: a curl trace, pasted or uploaded."""

    trace = forms.CharField(
        required=False, label="Paste the trace or the record", max_length=2 * 1024 * 1024,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "autocomplete": "off"}),
    )
    upload = forms.FileField(required=False, label="Or upload trace.txt or record.json")
    known_timeouts = forms.CharField(
        required=False, max_length=200, label="Timeouts your infrastructure is set to (seconds, comma-separated)",
    )
    framework = forms.ChoiceField(
        required=False, label="Your framework (for the fixes)",
        choices=[("", "Not chosen"), *((fid, fid) for fid in FRAMEWORK_IDS)],
    )
    walk = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("upload")
        if upload is not None and upload.size > IMPORT_MAX_BYTES:
            self.add_error("upload", f"That file is {upload.size / 1024 / 1024:.0f} MB; the most this server reads "
                                     f"is {IMPORT_MAX_BYTES // (1024 * 1024)} MB. Trace a shorter stream.")
        elif upload is None and not (cleaned.get("trace") or "").strip():
            self.add_error("trace", "Paste the trace curl printed, or upload the file it wrote.")
        self._known, problems = parse_known_timeouts(cleaned.get("known_timeouts") or "")
        for problem in problems:
            self.add_error("known_timeouts", problem)
        return cleaned

    def timeouts(self) -> tuple[float, ...]:
        return self._known

    def trace_text(self) -> str:
        upload = self.cleaned_data.get("upload")
        if upload is not None:
            return str(upload.read().decode("utf-8", "replace"))
        return str(self.cleaned_data["trace"])


def parse_known_timeouts(text: str) -> tuple[tuple[float, ...], list[str]]:
    """'60, 350s' -> (60.0, 350.0), with a sentence for each piece that is not a timeout."""
    values: list[float] = []
    problems: list[str] = []
    for piece in text.replace(";", ",").split(","):
        piece = piece.strip().removesuffix("s").strip()
        if not piece:
            continue
        try:
            value = float(piece)
        except ValueError:
            problems.append(f"'{piece}' is not a number of seconds.")
            continue
        if not 0 < value <= 86400:
            problems.append("Timeouts must be between 0 and 86400 seconds.")
            continue
        values.append(value)
    return tuple(values), problems


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        strip=True,
        label="What it is for",
        help_text="A name to tell your tokens apart later, such as “CI” or “laptop”.",
    )

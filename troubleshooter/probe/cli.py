"""`manage.py probe URL`: measure a streaming endpoint from a terminal or a CI pipeline.

Plain Python over the experiment registry, like the web side: the options choose a kind of
experiment, the registry runs it, and the report prints as text or as the same JSON the run
page downloads. Exit status: 0 when every stream is healthy, 1 when a problem was found,
2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .assessment import Assessment
from .diagnosis import Diagnosis
from .experiments import KINDS, Experiment, Report, run_experiment
from .formats import FORMATS
from .parallel import MAX_PARALLEL
from .policy import OutboundPolicy
from .record import Record
from .repeats import MAX_REPEATS
from .spec import MEBIBYTE, HeaderSpec, Limits, ProbeSpec, spec_problems

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

BAR_LEVELS = " ▁▂▃▄▅▆▇█"
TIMELINE_WIDTH = 60
EXIT_HEALTHY, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2
# The measurement is incomplete, not failed: the probe's own limit stopped it.
EXIT_LIMIT_REACHED = 3


class UsageError(Exception):
    """The options do not describe an experiment that can run; exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="http(s):// or ws(s):// address of the stream")
    parser.add_argument("--format", default="auto", choices=FORMATS)
    parser.add_argument("--method", default=None, help="default GET, or POST when --data is given")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument(
        "-S", "--secret-header", action="append", default=[],
        help="'Name: value' used for the request and never printed or stored",
    )
    parser.add_argument("--data", help="request body; sent as JSON when it parses as JSON")
    parser.add_argument("--timeout", type=float, default=120.0, help="total seconds (default 120)")
    parser.add_argument(
        "--max-mib", type=float, default=Limits.max_bytes / MEBIBYTE,
        help=f"stop after this many MiB (default {Limits.max_bytes // MEBIBYTE})",
    )
    parser.add_argument("--concurrency", type=int, default=1, help=f"parallel streams, 1 to {MAX_PARALLEL}")
    parser.add_argument("--compare", metavar="URL", help="the same request to a second address")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help=f"send the same request N times, one after another (2 to {MAX_REPEATS}), "
                             "and compare where each run is cut")
    parser.add_argument("--via-langchain", action="store_true",
                        help="URL is an OpenAI-compatible base URL; also stream through ChatOpenAI")
    parser.add_argument("--model", default="gpt-4o-mini", help="model name for --via-langchain")
    parser.add_argument("--prompt", default="Say hello in twenty words.", help="prompt for --via-langchain")
    parser.add_argument(
        "--known-timeout", type=float, action="append", default=[], metavar="S",
        help="a timeout your own proxy, load balancer or server is set to (seconds); "
             "a cut that matches it is named",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def parse_header(raw: str, secret: bool) -> HeaderSpec:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"a header must look like 'Name: value', not {raw!r}")
    return HeaderSpec(name.strip(), value.strip(), secret=secret)


def experiment_from(options: dict[str, Any]) -> Experiment:
    """The experiment the options ask for, or UsageError saying what is wrong."""
    if not 0 < options["timeout"] <= 3600:
        raise UsageError("--timeout must be between 0 and 3600 seconds")
    if not 0 < options["max_mib"] <= 1024:
        raise UsageError("--max-mib must be between 0 and 1024")
    if not 1 <= options["concurrency"] <= MAX_PARALLEL:
        raise UsageError(f"--concurrency must be between 1 and {MAX_PARALLEL}")
    if any(not 0 < seconds <= 86400 for seconds in options["known_timeout"]):
        raise UsageError("--known-timeout must be a number of seconds above 0")
    chosen = [
        kind for kind, asked in (
            ("compare", bool(options["compare"])),
            ("parallel", options["concurrency"] > 1),
            ("langchain", options["via_langchain"]),
            ("repeat", options["repeat"] != 1),
        ) if asked
    ]
    if len(chosen) > 1:
        raise UsageError("choose one of --compare, --concurrency, --repeat and --via-langchain")
    spec = _spec(options)
    experiment = Experiment(
        kind=KINDS[chosen[0] if chosen else "single"],
        spec=spec,
        limits=Limits(
            total_seconds=options["timeout"],
            headers_seconds=min(30.0, options["timeout"]),
            max_bytes=int(options["max_mib"] * MEBIBYTE),
        ),
        concurrency=options["repeat"] if chosen == ["repeat"] else options["concurrency"],
        compare_url=options["compare"] or "",
        model=options["model"],
        prompt=options["prompt"],
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
        known_timeouts=tuple(options["known_timeout"]),
    )
    problems = experiment.problems()
    if problems:
        raise UsageError("; ".join(problems))
    return experiment


def _spec(options: dict[str, Any]) -> ProbeSpec:
    headers = tuple(parse_header(h, secret=False) for h in options["header"]) + tuple(
        parse_header(h, secret=True) for h in options["secret_header"]
    )
    json_body: Any = None
    text_body: str | None = None
    if options["data"] is not None:
        try:
            json_body = json.loads(options["data"])
        except ValueError:
            text_body = options["data"]
    method = (options["method"] or ("POST" if options["data"] is not None else "GET")).upper()
    spec = ProbeSpec(
        url=options["url"], method=method, headers=headers, json_body=json_body,
        text_body=text_body, format=options["format"],
    )
    problems = spec_problems(spec)
    if problems:
        raise UsageError("; ".join(problems))
    return spec


def execute(options: dict[str, Any], policy: OutboundPolicy, out: SupportsWrite[str]) -> int:
    """Run the experiment the options describe, print its report, return the exit status."""
    experiment = experiment_from(options)
    report = asyncio.run(run_experiment(experiment, policy))
    if options["json"]:
        text = json.dumps(report.to_json(), indent=2, default=str)
    else:
        text = "\n".join(printable(line) for line in report_lines(experiment, report))
    out.write(text + "\n")
    return exit_status(report)


def exit_status(report: Report) -> int:
    if report.verdict.outcome == "limit-reached" and all(
        lane.verdict.outcome in ("healthy", "limit-reached") for lane in report.lanes
    ):
        return EXIT_LIMIT_REACHED
    return EXIT_PROBLEM if report.problem_found else EXIT_HEALTHY


# Control characters (C0 but tab, DEL, C1) and lone surrogates: what a target sends may hold
# escape sequences that recolour, retitle or rewrite a terminal, or text no terminal can print.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(line: str) -> str:
    """One line of the readable report, with every character a terminal would act on
    written out as an escape (ESC becomes \\x1b), so it is shown and never run."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}" if ord(match.group()) < 0x100
                            else f"\\u{ord(match.group()):04x}", line)


def main(argv: Sequence[str], policy: OutboundPolicy, prog: str = "probe") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="Measure a streaming endpoint: time every chunk, tell how it ended, and name the cause."
    )
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        return execute(options, policy, sys.stdout)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


# --- the readable report ----------------------------------------------------------------


def timeline(record: Record, width: int = TIMELINE_WIDTH) -> str:
    """Bytes received over time as one line of bars; `·` marks a column with nothing."""
    if not record.reads:
        return "(no bytes received)"
    end = max(record.ending.t if record.ending else 0.0, record.reads[-1].t, 1e-6)
    columns = [0] * width
    for read in record.reads:
        columns[min(width - 1, int(read.t / end * width))] += read.size
    peak = max(columns) or 1
    bars = "".join(
        "·" if size == 0 else BAR_LEVELS[max(1, round(size / peak * (len(BAR_LEVELS) - 1)))]
        for size in columns
    )
    return f"0 s |{bars}| {end:.2f} s"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def lane_lines(title: str, lane: Assessment) -> list[str]:
    record, metrics = lane.record, lane.metrics
    lines = [f"{title}: {lane.verdict.outcome}: {lane.verdict.summary}"]
    if record.status is not None:
        kind = record.header("content-type") or "no content type"
        lines.append(f"  HTTP {record.status}, {kind}, format {record.format}")
    lines.append(f"  {timeline(record)}")
    lines.append(
        f"  first byte {_seconds(metrics.time_to_first_byte)}, first content "
        f"{_seconds(metrics.time_to_first_content)}, duration {_seconds(metrics.duration)}, "
        f"{metrics.bytes} bytes in {metrics.chunk_count} reads, {metrics.event_count} events"
    )
    lines.append(
        f"  gaps between chunks p50 {_seconds(metrics.gap_p50)}, p95 {_seconds(metrics.gap_p95)}, "
        f"longest {_seconds(metrics.gap_max)}; silence after the last chunk {_seconds(metrics.gap_before_end)}"
    )
    if record.ending:
        reason = f" ({record.ending.reason})" if record.ending.reason else ""
        lines.append(f"  ended: {record.ending.kind}{reason}")
    return lines


def verdict_lines(verdict: Diagnosis) -> list[str]:
    return [
        *(f"  cause {cause.id} ({cause.confidence:.0%}): {'; '.join(cause.evidence)}" for cause in verdict.causes),
        *(f"  if it still fails for your users ({hint.id}): {hint.text}" for hint in verdict.hints),
    ]


def _compact_lane_line(lane: Assessment) -> str:
    return (f"  {lane.label:>10}: {lane.verdict.outcome}, first byte "
            f"{_seconds(lane.metrics.time_to_first_byte)}, {timeline(lane.record, 40)}")


def report_lines(experiment: Experiment, report: Report) -> list[str]:
    """The report as a person reads it in a terminal: the verdict first, then each lane."""
    verdict = report.verdict
    lines = [f"{experiment.kind.title} of {experiment.spec.url}: {verdict.outcome}: {verdict.summary}"]
    if experiment.kind.group_verdict:
        lines.extend(verdict_lines(verdict))
        lines.extend(_compact_lane_line(lane) for lane in report.lanes)
        if report.conclusion.differences:
            lines.append("where each run was cut:")
            lines.extend(f"  - {difference}" for difference in report.conclusion.differences)
        return lines
    for lane in report.lanes:
        # Every lane with its own causes: the experiment's verdict is one lane's verdict.
        lines.extend(lane_lines(f"{lane.label} {lane.record.request.url}", lane))
        lines.extend(verdict_lines(lane.verdict))
    if report.conclusion.differences:
        lines.append("differences:")
        lines.extend(f"  - {difference}" for difference in report.conclusion.differences)
    return lines

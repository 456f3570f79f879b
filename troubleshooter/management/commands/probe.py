"""`manage.py probe URL`: measure a streaming endpoint from the terminal or a CI pipeline.

Exit status: 0 when the stream is healthy, 1 when a problem was found, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from troubleshooter.outbound import outbound_policy
from troubleshooter.probe import (
    FORMATS,
    Diagnosis,
    HeaderSpec,
    Limits,
    OutboundPolicy,
    ProbeSpec,
    Record,
    compare,
    openai_chat_spec,
    run_concurrent,
    run_probe,
    spec_problems,
    via_langchain,
)
from troubleshooter.probe.experiments import Assessment, assess, timeouts_with

BAR_LEVELS = " ▁▂▃▄▅▆▇█"
TIMELINE_WIDTH = 60


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def parse_header(raw: str, secret: bool) -> HeaderSpec:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise usage_error(f"a header must look like 'Name: value', not {raw!r}")
    return HeaderSpec(name.strip(), value.strip(), secret=secret)



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


def summary_lines(title: str, assessment: Assessment) -> list[str]:
    record, metrics, verdict = assessment.record, assessment.metrics, assessment.verdict
    lines = [f"{title}: {verdict.outcome}: {verdict.summary}"]
    if record.status is not None:
        kind = record.header("content-type") or "no content type"
        lines.append(f"  HTTP {record.status}, {kind}, format {record.format}")
    lines.append(f"  {timeline(record)}")

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f} s"

    lines.append(
        f"  first byte {seconds(metrics.time_to_first_byte)}, first content "
        f"{seconds(metrics.time_to_first_content)}, duration {seconds(metrics.duration)}, "
        f"{metrics.bytes} bytes in {metrics.chunk_count} reads, {metrics.event_count} events"
    )
    lines.append(
        f"  gaps p50 {seconds(metrics.gap_p50)}, p95 {seconds(metrics.gap_p95)}, "
        f"max {seconds(metrics.gap_max)}, before the end {seconds(metrics.gap_before_end)}"
    )
    if record.ending:
        reason = f" ({record.ending.reason})" if record.ending.reason else ""
        lines.append(f"  ended: {record.ending.kind}{reason}")
    for cause in verdict.causes:
        lines.append(f"  cause {cause.id} ({cause.confidence:.0%}): {'; '.join(cause.evidence)}")
    lines.extend(hint_lines(verdict))
    return lines


def hint_lines(verdict: Diagnosis) -> list[str]:
    return [f"  if it still fails for your users ({hint.id}): {hint.text}" for hint in verdict.hints]


class Command(BaseCommand):
    help = "Measure a streaming endpoint: time every chunk, tell how it ended, and name the cause."

    def add_arguments(self, parser: CommandParser) -> None:
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
        parser.add_argument("--concurrency", type=int, default=1, help="parallel streams, 1 to 50")
        parser.add_argument("--compare", metavar="URL", help="the same request to a second address")
        parser.add_argument("--via-langchain", action="store_true",
                            help="URL is an OpenAI-compatible base URL; also stream through ChatOpenAI")
        parser.add_argument("--model", default="gpt-4o-mini", help="model name for --via-langchain")
        parser.add_argument("--prompt", default="Say hello in twenty words.", help="prompt for --via-langchain")
        parser.add_argument(
            "--known-timeout", type=float, action="append", default=[], metavar="S",
            help="a timeout your own proxy, load balancer or server is set to (seconds); "
                 "a cut that matches it is named",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["timeout"] <= 3600:
            raise usage_error("--timeout must be between 0 and 3600 seconds")
        if not 1 <= options["concurrency"] <= 50:
            raise usage_error("--concurrency must be between 1 and 50")
        modes = [bool(options["compare"]), options["concurrency"] > 1, options["via_langchain"]]
        if sum(modes) > 1:
            raise usage_error("choose one of --compare, --concurrency and --via-langchain")
        if any(not 0 < seconds <= 86400 for seconds in options["known_timeout"]):
            raise usage_error("--known-timeout must be a number of seconds above 0")
        limits = Limits(total_seconds=options["timeout"], headers_seconds=min(30.0, options["timeout"]))
        policy = outbound_policy()
        self.timeouts = timeouts_with(options["known_timeout"])

        if options["via_langchain"]:
            result = asyncio.run(self.langchain_experiment(options, limits, policy))
        else:
            spec = self.build_spec(options)
            if options["compare"]:
                result = asyncio.run(self.compare_experiment(spec, options["compare"], limits, policy))
            elif options["concurrency"] > 1:
                result = asyncio.run(self.concurrency_experiment(spec, options["concurrency"], limits, policy))
            else:
                single = assess(asyncio.run(run_probe(spec, limits, policy=policy)), self.timeouts)
                result = {"kind": "single", **single.report(), "_lines": summary_lines(spec.url, single)}

        lines = result.pop("_lines")
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            self.stdout.write("\n".join(lines))
        if result["outcome"] != "healthy":
            raise CommandError(f"a problem was found: {result['outcome']}", returncode=1)
        if result.get("problem_found"):
            raise CommandError("a problem was found in the second run of the comparison", returncode=1)

    def build_spec(self, options: dict[str, Any]) -> ProbeSpec:
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
            raise usage_error("; ".join(problems))
        return spec

    async def compare_experiment(
        self, spec: ProbeSpec, other: str, limits: Limits, policy: OutboundPolicy
    ) -> dict[str, Any]:
        result = await compare(spec, other, limits, policy=policy, timeouts=self.timeouts)
        direct, through = assess(result.first, self.timeouts), assess(result.second, self.timeouts)
        first, second = direct.report(), through.report()
        lines = [
            *summary_lines(f"direct {spec.url}", direct),
            *summary_lines(f"through {other}", through),
            "differences:",
            *(f"  - {difference}" for difference in result.differences),
        ]
        return {
            "kind": "compare",
            **{key: first[key] for key in ("outcome", "summary", "causes", "hints", "metrics")},
            "problem_found": second["outcome"] != "healthy",
            "compare": {"url": other, **second},
            "differences": result.differences,
            "record": first["record"],
            "_lines": lines,
        }

    async def concurrency_experiment(
        self, spec: ProbeSpec, n: int, limits: Limits, policy: OutboundPolicy
    ) -> dict[str, Any]:
        result = await run_concurrent(spec, n, limits, policy=policy, timeouts=self.timeouts)
        streams = [assess(record, self.timeouts) for record in result.records]
        lines = [f"{n} parallel streams of {spec.url}: {result.diagnosis.outcome}: {result.diagnosis.summary}"]
        for index, stream in enumerate(streams, start=1):
            ttfb = stream.metrics.time_to_first_byte
            first_byte = "-" if ttfb is None else f"{ttfb:.3f} s"
            lines.append(f"  stream {index:>2}: first byte {first_byte}, {timeline(stream.record, 40)}")
        for cause in result.diagnosis.causes:
            lines.append(f"  cause {cause.id} ({cause.confidence:.0%}): {'; '.join(cause.evidence)}")
        lines.extend(hint_lines(result.diagnosis))
        return {
            "kind": "concurrency",
            **result.diagnosis.to_dict(),
            "metrics": result.analysis.to_dict(),
            "streams": [
                {
                    "outcome": stream.verdict.outcome,
                    "causes": [cause.to_dict() for cause in stream.verdict.causes],
                    "metrics": stream.metrics.to_dict(),
                }
                for stream in streams
            ],
            "_lines": lines,
        }

    async def langchain_experiment(
        self, options: dict[str, Any], limits: Limits, policy: OutboundPolicy
    ) -> dict[str, Any]:
        base_url = options["url"].rstrip("/")
        api_key = os.environ.get("OPENAI_API_KEY") or "not-needed"
        raw_spec = openai_chat_spec(base_url, api_key, options["model"], options["prompt"])
        raw = assess(await run_probe(raw_spec, limits, policy=policy), self.timeouts)
        through = assess(
            await via_langchain(base_url, api_key, options["model"], options["prompt"], limits, policy=policy),
            self.timeouts,
        )
        raw_report, through_report = raw.report(), through.report()
        return {
            "kind": "via-langchain",
            **{key: raw_report[key] for key in ("outcome", "summary", "causes", "hints", "metrics")},
            "problem_found": through_report["outcome"] != "healthy",
            "langchain": {k: through_report[k] for k in ("outcome", "summary", "causes", "hints", "metrics")},
            "record": raw_report["record"],
            "_lines": [
                *summary_lines(f"raw HTTP {raw_spec.url}", raw),
                *summary_lines("through langchain_openai.ChatOpenAI.astream()", through),
            ],
        }

"""A stored run's request as commands to repeat it from a shell or a CI job: curl, and the
probe command with the same experiment. Secret header values were never stored; they
become environment variables the person sets first, so the commands run as they are."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any


def secret_variable(header_name: str) -> str:
    """Authorization -> AUTHORIZATION, X-Api-Key -> X_API_KEY."""
    return re.sub(r"[^A-Z0-9]+", "_", header_name.upper()).strip("_") or "SECRET"


def _header_arguments(plan: Mapping[str, Any], flag: str, secret_flag: str) -> list[str]:
    arguments = []
    for header in plan.get("headers", []):
        if header.get("secret"):
            # Double quotes so the shell fills the variable in; the name is made of safe characters.
            arguments.append(f'{secret_flag} "{header["name"]}: ${secret_variable(header["name"])}"')
        else:
            arguments.append(f"{flag} {shlex.quote(header['name'] + ': ' + header['value'])}")
    return arguments


def secret_variables(plan: Mapping[str, Any]) -> list[str]:
    return [secret_variable(header["name"]) for header in plan.get("headers", []) if header.get("secret")]


def as_curl(plan: Mapping[str, Any]) -> str:
    """curl that shows the stream as it arrives: -N turns off curl's own buffering, and
    --compressed asks for what a browser asks for, so compression in the path shows too."""
    lines = ["curl -N -sS --compressed"]
    method = str(plan.get("method") or "GET")
    if method != "GET" or plan.get("body"):
        lines.append(f"-X {method}")
    lines += _header_arguments(plan, "-H", "-H")
    body = str(plan.get("body") or "")
    if body:
        if plan.get("body_kind", "json") == "json":
            lines.append("-H " + shlex.quote("Content-Type: application/json"))
        lines.append("--data-raw " + shlex.quote(body))
    lines.append(shlex.quote(str(plan["url"])))
    return _one_option_a_line(lines)


def _one_option_a_line(lines: list[str]) -> str:
    return " \\\n  ".join(lines)


def as_probe_command(plan: Mapping[str, Any]) -> str:
    """The probe command that runs the same experiment (exit status 0 healthy, 1 problem)."""
    lines = ["python -m troubleshooter probe " + shlex.quote(str(plan["url"]))]
    if plan.get("format", "auto") != "auto":
        lines.append(f"--format {plan['format']}")
    method = str(plan.get("method") or "GET")
    if method != ("POST" if plan.get("body") else "GET"):
        lines.append(f"--method {method}")
    lines += _header_arguments(plan, "-H", "-S")
    if plan.get("body"):
        lines.append("--data " + shlex.quote(str(plan["body"])))
    kind = plan.get("kind", "single")
    if kind == "parallel":
        lines.append(f"--concurrency {int(plan.get('concurrency') or 2)}")
    elif kind == "repeat":
        lines.append(f"--repeat {int(plan.get('repeats') or plan.get('concurrency') or 3)}")
    elif kind == "compare":
        lines.append("--compare " + shlex.quote(str(plan.get("compare_url") or "")))
    elif kind == "langchain":
        lines.append("--via-langchain --model " + shlex.quote(str(plan.get("model") or ""))
                     + " --prompt " + shlex.quote(str(plan.get("prompt") or "")))
    if plan.get("total_seconds"):
        lines.append(f"--timeout {float(plan['total_seconds']):g}")
    for seconds in re.findall(r"[0-9]+(?:\.[0-9]+)?", str(plan.get("known_timeouts") or "")):
        lines.append(f"--known-timeout {seconds}")
    return _one_option_a_line(lines)


def as_trace_command(url: str, secret_headers: list[str] | None = None) -> str:
    """The curl command whose output the import page reads: every byte with its time, and
    curl's own error line, into trace.txt. --compressed asks for compression as a browser
    does, so a proxy or app that compresses shows it."""
    lines = ["curl -N -sS --compressed --trace-time --trace - -o /dev/null"]
    lines += [f'-H "{name}: ${secret_variable(name)}"' for name in secret_headers or []]
    lines.append(shlex.quote(url or "https://your-app.example/chat/stream"))
    return _one_option_a_line(lines) + " \\\n  > trace.txt 2>&1"

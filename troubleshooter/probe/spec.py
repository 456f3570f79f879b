"""What to probe and within which bounds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .formats import FORMATS
from .policy import TargetRefused, split_url
from .record import SECRET_PLACEHOLDER, RequestInfo, is_secret_header_name, redact_url, url_secrets

MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class HeaderSpec:
    name: str
    value: str
    secret: bool = False

    @property
    def is_secret(self) -> bool:
        # Credentials are secret even when nobody ticked the box.
        return self.secret or is_secret_header_name(self.name)


@dataclass(frozen=True)
class ProbeSpec:
    url: str
    method: str = "GET"
    headers: tuple[HeaderSpec, ...] = ()
    json_body: Any = None  # sent as JSON when not None
    text_body: str | None = None  # sent as is when json_body is None
    format: str = "auto"  # one of formats.FORMATS
    verify_tls: bool = True

    @property
    def is_websocket(self) -> bool:
        return self.format == "websocket" or urlsplit(self.url.strip()).scheme.lower() in ("ws", "wss")

    def body_bytes(self) -> bytes | None:
        if self.json_body is not None:
            return json.dumps(self.json_body).encode()
        if self.text_body is not None:
            return self.text_body.encode()
        return None

    def body_kind(self) -> str:
        if self.json_body is not None:
            return "json"
        return "text" if self.text_body is not None else "none"

    def outgoing_headers(self) -> list[tuple[str, str]]:
        """The real headers, secrets included: for the wire only."""
        headers = [(header.name, header.value) for header in self.headers]
        if self.is_websocket:
            return headers  # the body goes out as a message, not with the handshake
        names = {name.lower() for name, _ in headers}
        if self.json_body is not None and "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
        elif self.text_body is not None and "content-type" not in names:
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        if self.format in ("auto", "sse", "openai", "anthropic") and "accept" not in names:
            headers.append(("Accept", "text/event-stream, application/x-ndjson, */*"))
        return headers

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this request carries (header values, the token after an auth
        scheme, credential-looking query values, a URL password), so that a server that
        echoes the request back cannot put them into the record."""
        values: list[str] = []
        for header in self.headers:
            if header.is_secret and header.value:
                values.append(header.value)
                scheme, _, token = header.value.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    values.append(token.strip())
        values.extend(url_secrets(self.url))
        # Very short values would blank out ordinary words.
        return tuple(sorted({value for value in values if len(value) >= 4}, key=len, reverse=True))

    def secret_header_names(self) -> frozenset[str]:
        return frozenset(header.name.lower() for header in self.headers if header.is_secret)

    def request_info(self) -> RequestInfo:
        """The request as it may be stored and shown: secret values replaced."""
        secret = self.secret_header_names()
        return RequestInfo(
            method=self.method.upper(),
            url=redact_url(self.url),
            headers=[
                (name, SECRET_PLACEHOLDER if name.lower() in secret or is_secret_header_name(name) else value)
                for name, value in self.outgoing_headers()
            ],
            body_kind=self.body_kind(),  # type: ignore[arg-type]
            body_bytes=len(self.body_bytes() or b""),
            format=self.format,
        )


@dataclass(frozen=True)
class Limits:
    """Bounds for one run. Every one of them ends a run as a "limit" ending."""

    total_seconds: float = 120.0
    headers_seconds: float = 30.0  # from the start of the run to the response headers
    max_bytes: int = 10 * MEBIBYTE  # raw bytes, and decoded bytes separately
    max_events: int = 100_000
    max_line_bytes: int = 1 * MEBIBYTE  # one line, one SSE event, one WebSocket message
    max_reads: int = 200_000  # each read is kept, so a trickle of tiny reads is bounded too
    # After the terminal event a server should end the body; a short wait
    # shows whether it does, without waiting for the total limit.
    after_terminal_seconds: float = 2.0


# RFC 9110's token characters: what a header name may be made of.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
MAX_HEADER_NAME_CHARS = 200
MAX_HEADER_VALUE_CHARS = 8000


def header_problem(name: str, value: str) -> str | None:
    """Why a header cannot be sent as given, in words a user can act on (None if it can).
    The one rule for headers, whether they come from the web form or the command line."""
    if not name:
        return "A header needs a name, like X-Request-Id."
    if len(name) > MAX_HEADER_NAME_CHARS or not set(name) <= _TOKEN_CHARS:
        return "A header name is one word of letters, digits and dashes, like X-Request-Id."
    if len(value) > MAX_HEADER_VALUE_CHARS:
        return f"A header value is at most {MAX_HEADER_VALUE_CHARS} characters."
    if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in value):
        return "A header value fits on one line, without control characters."
    return None


def url_problems(url: str) -> list[str]:
    try:
        split_url(url)
    except TargetRefused as refused:
        return [refused.reason]
    return []


def spec_problems(spec: ProbeSpec) -> list[str]:
    """What is wrong with a spec, in words a user can act on (empty if fine)."""
    problems = url_problems(spec.url)
    if spec.format not in FORMATS:
        problems.append(f"unknown format '{spec.format}': one of {', '.join(FORMATS)}")
    if not spec.method.isalpha():
        problems.append(f"'{spec.method}' is not an HTTP method")
    if spec.json_body is not None and spec.text_body is not None:
        problems.append("give a JSON body or a text body, not both")
    if spec.json_body is not None:
        try:
            json.dumps(spec.json_body)
        except (TypeError, ValueError) as error:
            problems.append(f"the body cannot be sent as JSON: {error}")
    for header in spec.headers:
        problem = header_problem(header.name, header.value)
        if problem:
            problems.append(f"header '{header.name[:40]}': {problem}")
    return problems

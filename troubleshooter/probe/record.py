"""What one experiment saw, as plain data.

A Record is the single source of truth for a run: measurements and the
diagnosis are computed from it alone, so a stored record can be re-diagnosed
later with better rules. Everything here must survive a JSON round trip, and
nothing secret may ever enter it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PLACEHOLDER = "[secret]"

EndingKind = Literal[
    "terminal-event",  # the format's own end marker arrived ([DONE], message_stop, ...)
    "clean-close",  # the body ended normally but no terminal event was seen
    "incomplete-read",  # chunked body cut mid-chunk, or shorter than Content-Length
    "reset",  # the connection was reset or dropped abnormally
    "limit",  # one of our own limits stopped the run
    "http-error",  # the status was not 2xx
    "connect-error",  # no response at all
    "blocked",  # the outbound policy refused the target
    "cancelled",  # the caller cancelled the run
]

ENDING_KINDS: tuple[str, ...] = (
    "terminal-event",
    "clean-close",
    "incomplete-read",
    "reset",
    "limit",
    "http-error",
    "connect-error",
    "blocked",
    "cancelled",
)

# Kinds of parsed events. "finish" carries a finish/stop reason; "garbage" is
# a unit of the stream that the format parser could not make sense of.
EVENT_KINDS: tuple[str, ...] = (
    "content",
    "terminal",
    "error",
    "comment",
    "ping",
    "usage",
    "finish",
    "meta",
    "garbage",
)

# Only these response headers say something about buffering, compression,
# framing or the intermediaries in the path; the rest is noise (and may hold
# cookies), so it is not kept.
HEADERS_THAT_MATTER: tuple[str, ...] = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Transfer-Encoding",
    "X-Accel-Buffering",
    "Cache-Control",
    "Server",
    "Via",
    "CF-Ray",
    # Which replica answered, for telling parallel streams apart.
    "X-Served-By",
    # Which serverless platform answered, and the error it names: their limits
    # explain cuts that no proxy setting does.
    "X-Amzn-RequestId",
    "X-Amz-Apigw-Id",
    "Apigw-Requestid",
    "X-Amzn-ErrorType",
    "X-Vercel-Id",
    "X-Vercel-Error",
    "X-Nf-Request-Id",
)

# Header names that carry credentials even when the user forgot to mark them.
_SECRET_HEADER_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "openai-api-key",
        "anthropic-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
_SECRET_NAME_FRAGMENTS = ("token", "secret", "password", "api-key", "apikey", "auth")
_SECRET_QUERY_FRAGMENTS = ("key", "token", "secret", "password", "passwd", "signature", "sig", "auth", "session", "jwt")


def is_secret_header_name(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in _SECRET_HEADER_NAMES:
        return True
    return any(fragment in lowered for fragment in _SECRET_NAME_FRAGMENTS)


def map_strings(value: Any, transform: Callable[[str], str]) -> Any:
    """The same JSON-like value with `transform` applied to every string in it, dictionary
    keys included (tuples come back as lists, as JSON has them)."""
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, dict):
        return {map_strings(key, transform): map_strings(item, transform) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [map_strings(item, transform) for item in value]
    return value


def redact_url(url: str) -> str:
    """The URL as it may be shown: no password, no credential in the query, the fragment
    (`#access_token=`), a path parameter (`;api_key=`) or a path segment that is a token.

    People paste URLs with `?api_key=...`, `user:pass@` or a bot token in the path; those
    are as secret as an Authorization header.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{SECRET_PLACEHOLDER}@{hostport}" if ":" in userinfo else f"{SECRET_PLACEHOLDER}@{hostport}"
    path = "/".join(_redact_segment(segment) for segment in parts.path.split("/"))
    return urlunsplit((parts.scheme, netloc, path, _redact_pairs(parts.query), _redact_pairs(parts.fragment)))


def url_secrets(url: str) -> list[str]:
    """Every credential redact_url would hide in `url`, as values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password] if parts.password else []
    for segment in parts.path.split("/"):
        name, params = _segment_parts(segment)
        if looks_like_token(name):
            found.append(name)
        found.extend(value for key, equals, value in params if equals and looks_secret_query_name(key))
    for text in (parts.query, parts.fragment):
        found.extend(value for name, value in parse_qsl(text, keep_blank_values=True) if looks_secret_query_name(name))
    return [value for value in found if value]


def _redact_pairs(text: str) -> str:
    """A query or a fragment in name=value form, with credential values replaced."""
    if "=" not in text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(looks_secret_query_name(name) for name, _ in pairs):
        return text
    return urlencode(
        [(name, SECRET_PLACEHOLDER if looks_secret_query_name(name) else value) for name, value in pairs], safe="[]"
    )


def _segment_parts(segment: str) -> tuple[str, list[tuple[str, str, str]]]:
    """A path segment's name and its `;key=value` parameters, each as (key, "=", value)."""
    name, *params = segment.split(";")
    return name, [param.partition("=") for param in params]


def _redact_segment(segment: str) -> str:
    name, params = _segment_parts(segment)
    shown = [SECRET_PLACEHOLDER if looks_like_token(name) else name]
    for key, equals, value in params:
        shown.append(f"{key}={SECRET_PLACEHOLDER}" if equals and looks_secret_query_name(key) else key + equals + value)
    return ";".join(shown)


# Prefixes of well-known credentials (OpenAI and Anthropic keys, Stripe, Slack, GitHub,
# GitLab, Hugging Face, AWS access keys, JSON web tokens) and a Telegram bot's "bot<id>:<token>".
_TOKEN_PREFIXES = re.compile(r"^(?:sk-|sk_|pk_|rk_|xox[abposr]-|gh[pousr]_|github_pat_|glpat-|hf_|AKIA|eyJ)")
_TELEGRAM_BOT = re.compile(r"^bot\d+:[\w-]{20,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def looks_like_token(segment: str) -> bool:
    """A path segment that is a credential: a known prefix, a bot token, or a long run of
    letters and digits mixed (24 characters or more, as webhook secrets are); an ordinary
    word, a number or a UUID (an id, not a secret) is not."""
    if len(segment) < 8 or _UUID.match(segment):
        return False
    if _TOKEN_PREFIXES.match(segment) and len(segment) >= 12 or _TELEGRAM_BOT.match(segment):
        return True
    return (
        len(segment) >= 24
        and re.fullmatch(r"[\w.-]+", segment) is not None
        and any(c.isdigit() for c in segment)
        and any(c.isupper() for c in segment)
        and any(c.islower() for c in segment)
    )


# Query and fragment names whose values are credentials: any name holding one of the
# fragments, or one of the short names exactly (as a fragment they would catch ordinary
# words: "code" in "encode", "sk" in "task").
_SECRET_QUERY_EXACT = frozenset({"code", "sk", "sid", "pass", "pwd", "jwt", "session"})


def looks_secret_query_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_QUERY_EXACT or any(fragment in lowered for fragment in _SECRET_QUERY_FRAGMENTS)


@dataclass(slots=True)
class RequestInfo:
    """The request as given, with secret header values replaced."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body_kind: Literal["json", "text", "none"] = "none"
    body_bytes: int = 0
    format: str = "auto"


@dataclass(slots=True)
class Hop:
    """One URL we resolved and connected to (the first request or a redirect)."""

    url: str
    addresses: list[str] = field(default_factory=list)
    status: int | None = None
    location: str | None = None


@dataclass(slots=True)
class Read:
    """One network read: when it arrived (s since start) and its raw size."""

    t: float
    size: int


@dataclass(slots=True)
class Event:
    """One parsed unit of the stream, in the format-neutral vocabulary."""

    kind: str
    t: float
    text: str = ""
    finish_reason: str | None = None
    name: str | None = None  # the wire name, e.g. SSE event type or JSON "type"
    detail: str | None = None
    usage: dict[str, int] | None = None


@dataclass(slots=True)
class Ending:
    kind: str
    t: float
    reason: str = ""
    limit: str | None = None  # which limit, when kind == "limit"


@dataclass(slots=True)
class Record:
    request: RequestInfo
    started_at: str = ""  # wall clock, ISO 8601, for people
    started_monotonic: float = 0.0  # lets parallel runs be placed on one time axis
    format: str = "auto"  # the wire format actually used, e.g. "sse/openai"
    expects_terminal: bool = False  # whether that format has an end marker
    hops: list[Hop] = field(default_factory=list)
    status: int | None = None
    http_version: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    time_to_headers: float | None = None
    reads: list[Read] = field(default_factory=list, repr=False)  # a flood holds 100,000s
    events: list[Event] = field(default_factory=list, repr=False)
    ending: Ending | None = None
    # Observations that are neither reads nor events: decoded size, gzip
    # members, invalid UTF-8 seen, websocket close code, ...
    facts: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data, built field by field in one pass: a flood's record holds a hundred
        thousand reads and events, and a generic deep copy of them cost seconds."""
        request, ending = self.request, self.ending
        return {
            "request": {
                "method": request.method,
                "url": request.url,
                "headers": [list(pair) for pair in request.headers],
                "body_kind": request.body_kind,
                "body_bytes": request.body_bytes,
                "format": request.format,
            },
            "started_at": self.started_at,
            "started_monotonic": self.started_monotonic,
            "format": self.format,
            "expects_terminal": self.expects_terminal,
            "hops": [
                {"url": hop.url, "addresses": list(hop.addresses), "status": hop.status, "location": hop.location}
                for hop in self.hops
            ],
            "status": self.status,
            "http_version": self.http_version,
            "headers": dict(self.headers),
            "time_to_headers": self.time_to_headers,
            "reads": [{"t": read.t, "size": read.size} for read in self.reads],
            "events": [
                {
                    "kind": event.kind,
                    "t": event.t,
                    "text": event.text,
                    "finish_reason": event.finish_reason,
                    "name": event.name,
                    "detail": event.detail,
                    "usage": dict(event.usage) if event.usage is not None else None,
                }
                for event in self.events
            ],
            "ending": None
            if ending is None
            else {"kind": ending.kind, "t": ending.t, "reason": ending.reason, "limit": ending.limit},
            "facts": copy.deepcopy(self.facts),
        }


def pick_headers_that_matter(headers: Any) -> dict[str, str]:
    """Keep the interesting response headers, under their canonical spelling.

    `headers` is anything with `.get(name)` that is case-insensitive (httpx and
    websockets both provide one).
    """
    kept: dict[str, str] = {}
    for name in HEADERS_THAT_MATTER:
        value = headers.get(name)
        if value is not None:
            kept[name] = str(value)
    return kept


def record_from_dict(data: Mapping[str, Any]) -> Record:
    """The Record that `Record.to_dict` wrote: how a standalone probe's JSON comes back in.
    Raises KeyError, TypeError or ValueError on a shape it did not write."""
    request = data["request"]
    ending = data.get("ending")
    return Record(
        request=RequestInfo(
            method=str(request["method"]), url=str(request["url"]),
            headers=[(str(name), str(value)) for name, value in request.get("headers", [])],
            body_kind=request.get("body_kind", "none"), body_bytes=int(request.get("body_bytes", 0)),
            format=str(request.get("format", "auto")),
        ),
        started_at=str(data.get("started_at", "")),
        started_monotonic=float(data.get("started_monotonic", 0.0)),
        format=str(data.get("format", "auto")),
        expects_terminal=bool(data.get("expects_terminal", False)),
        hops=[Hop(url=str(hop["url"]), addresses=[str(a) for a in hop.get("addresses", [])],
                  status=hop.get("status"), location=hop.get("location")) for hop in data.get("hops", [])],
        status=data.get("status"),
        http_version=data.get("http_version"),
        headers={str(name): str(value) for name, value in (data.get("headers") or {}).items()},
        time_to_headers=data.get("time_to_headers"),
        reads=[Read(t=float(read["t"]), size=int(read["size"])) for read in data.get("reads", [])],
        events=[
            Event(kind=str(event["kind"]), t=float(event["t"]), text=str(event.get("text") or ""),
                  finish_reason=event.get("finish_reason"), name=event.get("name"), detail=event.get("detail"),
                  usage=event.get("usage"))
            for event in data.get("events", [])
        ],
        ending=None if ending is None else Ending(kind=str(ending["kind"]), t=float(ending["t"]),
                                                  reason=str(ending.get("reason") or ""), limit=ending.get("limit")),
        facts=dict(data.get("facts") or {}),
    )

"""Wire formats: from decoded body bytes (or WebSocket messages) to Events.

Each decoder is incremental: `feed()` takes bytes as they arrive and returns
the events completed by them, `finish()` flushes at the end of the stream.
Events come back with t=0; the engine stamps them with the arrival time of
the read that completed them.

LLM streams share one shape whatever the vendor (content pieces, maybe a
finish reason, maybe usage, a terminal marker or an error), so vendor JSON is
mapped onto the format-neutral Event kinds here and nowhere else.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from .record import Event
from .sse import CompactItem, LineSplitter, SSEComment, SSEParser, TooLong

FORMATS: tuple[str, ...] = ("auto", "sse", "openai", "anthropic", "ndjson", "text", "websocket")

# Dialects whose streams end with an explicit marker; a clean close without
# it means the stream was cut.
DIALECTS_WITH_TERMINAL = frozenset({"openai", "openai-responses", "anthropic", "ollama"})

_ANTHROPIC_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
_TERMINAL_EVENT_NAMES = frozenset({"done", "end", "complete", "completed", "close", "message_stop"})
_SNIPPET_CHARS = 200


class BodyDecoder(Protocol):
    @property
    def format(self) -> str: ...

    @property
    def expects_terminal(self) -> bool: ...

    def feed(self, data: bytes) -> list[Event]: ...

    def finish(self) -> list[Event]: ...

    def facts(self) -> dict[str, Any]: ...


def _event(kind: str, **fields: Any) -> Event:
    return Event(kind=kind, t=0.0, **fields)


def _snippet(text: str) -> str:
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS] + "…"


# --- JSON objects from any vendor --------------------------------------------


def detect_dialect(obj: Any) -> str | None:
    """Which vendor shape a JSON object has, or None if it says nothing."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    if isinstance(kind, str):
        if kind in _ANTHROPIC_TYPES:
            return "anthropic"
        if kind.startswith("response."):
            return "openai-responses"
    if "choices" in obj or str(obj.get("object", "")).startswith("chat.completion"):
        return "openai"
    if "done" in obj and ("message" in obj or "response" in obj):
        return "ollama"
    return None


def interpret_json(obj: Any, dialect: str | None = None) -> list[Event]:
    """Events carried by one JSON object (an SSE data field, an NDJSON line,
    a WebSocket message or a whole JSON body)."""
    if dialect == "openai" and type(obj) is dict:
        text = _plain_openai_content(obj)
        if text is not None:
            return [Event("content", 0.0, text)]
    return _interpret_any(obj, dialect)


def _interpret_any(obj: Any, dialect: str | None) -> list[Event]:
    if not isinstance(obj, dict):
        return [_event("content", text=obj)] if isinstance(obj, str) else [_event("meta", detail="JSON value")]
    error = _error_in(obj)
    if error is not None:
        return [error]
    dialect = dialect or detect_dialect(obj) or "generic"
    interpreter = _INTERPRETERS.get(dialect, _generic_events)
    return interpreter(obj)


def _error_in(obj: dict[str, Any]) -> Event | None:
    error = obj.get("error")
    if obj.get("type") == "error" or (error not in (None, False, "", {})):
        return _event("error", name=str(obj.get("type") or "error"), detail=_error_message(error or obj))
    return None


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        parts = [str(error[key]) for key in ("type", "code", "message") if error.get(key)]
        return _snippet(": ".join(parts) if parts else json.dumps(error)[:_SNIPPET_CHARS])
    return _snippet(str(error))


def _integer_usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    kept = {key: value for key, value in usage.items() if isinstance(value, int) and not isinstance(value, bool)}
    return kept or None


def _plain_openai_content(obj: dict[str, Any]) -> str | None:
    """The text of the chunk nearly every OpenAI-style stream is made of,
    {"choices": [{"delta": {"content": "..."}}]} give or take null fields;
    None when the chunk carries anything more and needs the full reading.

    It returns text only where the full reading gives exactly one content
    event with that text, at a fraction of the cost.
    """
    choices = obj.get("choices")
    if type(choices) is list and len(choices) == 1:
        choice = choices[0]
        if type(choice) is dict:
            delta = choice.get("delta")
            # Only "content" in the delta: no reasoning, no tool call, no role.
            if type(delta) is dict and len(delta) == 1:
                text = delta.get("content")
                if (
                    type(text) is str
                    and text
                    and not (choice.get("finish_reason") or choice.get("text") or obj.get("usage"))
                    and obj.get("type") is None
                    and obj.get("error") is None
                ):
                    return text
    return None


def _openai_chat_events(obj: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    choices = obj.get("choices")
    if not isinstance(choices, list):  # a server that sends "choices": true is odd, not a crash
        choices = []
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            events.extend(_openai_delta_events(delta))
        if isinstance(choice.get("text"), str) and choice["text"]:  # legacy completions
            events.append(_event("content", text=choice["text"]))
        if choice.get("finish_reason"):
            events.append(_event("finish", finish_reason=str(choice["finish_reason"])))
    usage = _integer_usage(obj.get("usage"))
    if usage:
        events.append(_event("usage", usage=usage))
    return events or [_event("meta", name=str(obj.get("object") or "chunk"))]


def _openai_delta_events(delta: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    if isinstance(delta.get("content"), str) and delta["content"]:
        events.append(_event("content", text=delta["content"]))
    for key in ("reasoning_content", "reasoning"):
        if isinstance(delta.get(key), str) and delta[key]:
            events.append(_event("content", text=delta[key], detail="reasoning"))
    calls = delta.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(arguments, str) and arguments:
            events.append(_event("content", text=arguments, detail="tool-call"))
    return events


def _openai_responses_events(obj: dict[str, Any]) -> list[Event]:
    kind = str(obj.get("type"))
    if kind.endswith(".delta") and isinstance(obj.get("delta"), str):
        detail = None if "output_text" in kind else kind.removeprefix("response.").removesuffix(".delta")
        return [_event("content", text=obj["delta"], name=kind, detail=detail)]
    found = obj.get("response")
    response: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "response.failed":
        return [_event("error", name=kind, detail=_error_message(response.get("error") or "response failed"))]
    events: list[Event] = []
    if kind == "response.incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason") or "incomplete"
        events.append(_event("finish", name=kind, finish_reason=str(reason)))
    usage = _integer_usage(response.get("usage"))
    if usage:
        events.append(_event("usage", name=kind, usage=usage))
    if kind in ("response.completed", "response.incomplete"):
        if kind == "response.completed":
            events.append(_event("finish", name=kind, finish_reason="stop"))
        events.append(_event("terminal", name=kind))
    return events or [_event("meta", name=kind)]


def _anthropic_events(obj: dict[str, Any]) -> list[Event]:
    kind = str(obj.get("type"))
    if kind == "content_block_delta":
        delta = obj.get("delta") or {}
        for key, detail in (("text", None), ("thinking", "reasoning"), ("partial_json", "tool-call")):
            if isinstance(delta.get(key), str):
                return [_event("content", name=kind, text=delta[key], detail=detail)]
        return [_event("meta", name=kind)]
    if kind == "message_delta":
        events = []
        stop_reason = (obj.get("delta") or {}).get("stop_reason")
        if stop_reason:
            events.append(_event("finish", name=kind, finish_reason=str(stop_reason)))
        usage = _integer_usage(obj.get("usage"))
        if usage:
            events.append(_event("usage", name=kind, usage=usage))
        return events or [_event("meta", name=kind)]
    if kind == "message_start":
        usage = _integer_usage((obj.get("message") or {}).get("usage"))
        return [_event("usage", name=kind, usage=usage)] if usage else [_event("meta", name=kind)]
    if kind == "message_stop":
        return [_event("terminal", name=kind)]
    if kind == "ping":
        return [_event("ping", name=kind)]
    return [_event("meta", name=kind)]


def _ollama_events(obj: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    message = obj.get("message")
    text = message.get("content") if isinstance(message, dict) else obj.get("response")
    if isinstance(text, str) and text:
        events.append(_event("content", text=text))
    if obj.get("done"):
        if obj.get("done_reason"):
            events.append(_event("finish", finish_reason=str(obj["done_reason"])))
        usage = {key: obj[key] for key in ("prompt_eval_count", "eval_count") if isinstance(obj.get(key), int)}
        if usage:
            events.append(_event("usage", usage=usage))
        events.append(_event("terminal", name="done"))
    return events or [_event("meta")]


def _generic_events(obj: dict[str, Any]) -> list[Event]:
    for key in ("content", "text", "delta", "token", "chunk", "output"):
        if isinstance(obj.get(key), str):
            return [_event("content", text=obj[key], name=key)]
    if obj.get("done") is True or obj.get("type") in ("done", "end", "final"):
        return [_event("terminal", name=str(obj.get("type") or "done"))]
    return [_event("meta", name=str(obj.get("type") or obj.get("event") or "object"))]


_INTERPRETERS = {
    "openai": _openai_chat_events,
    "openai-responses": _openai_responses_events,
    "anthropic": _anthropic_events,
    "ollama": _ollama_events,
    "generic": _generic_events,
}


def _loads(text: str) -> Any:
    """json.loads, at a third of its cost for the small objects a stream is made of.
    orjson refuses some of what json accepts (NaN, lone surrogates, nesting past 1024) and
    reads the rest alike, except that an integer past 64 bits becomes a float; whatever it
    refuses goes to json.loads, so what is JSON here is what json.loads calls JSON."""
    try:
        return orjson.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


_NOT_JSON = object()


class _RunMarkers:
    """Completion ids and role starts of OpenAI chat chunks: a second id, or the
    assistant's role coming back after content, means a second run of the same
    request reached this stream."""

    MAX_IDS = 8

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.id_changes = 0
        self.role_restarts = 0
        self._last_id: str | None = None
        self._content_since_role = False

    def plain_chunk_text(self, obj: Any) -> str | None:
        """The text of the chunk nearly all of an OpenAI stream is made of, noted as note()
        would note it; None for anything else, which then takes the full reading. In one
        pass over the object instead of three, since a flood has a hundred thousand."""
        if type(obj) is not dict:
            return None
        get = obj.get
        ident = get("id")
        if ident is None or ident != self._last_id:
            return None  # a first chunk, or a new id: note() counts it
        choices = get("choices")
        if type(choices) is not list or len(choices) != 1:
            return None
        choice = choices[0]
        if type(choice) is not dict:
            return None
        delta = choice.get("delta")
        if type(delta) is not dict or len(delta) != 1:
            return None  # a role, a tool call, reasoning: the full reading
        text = delta.get("content")
        if (
            type(text) is not str
            or not text
            or choice.get("index", 0) != 0
            or choice.get("finish_reason")
            or choice.get("text")
            or get("usage")
            or get("type") is not None
            or get("error") is not None
        ):
            return None
        if ident in self.ids:  # not there only when MAX_IDS were taken before it came
            self.ids[ident] += 1
        self._content_since_role = True
        return text

    def note(self, obj: dict[str, Any]) -> None:
        ident = obj.get("id")
        if isinstance(ident, str) and ident:
            ident = ident[:64]
            if ident != self._last_id:
                self.id_changes += self._last_id is not None
                self._last_id = ident
            if ident in self.ids or len(self.ids) < self.MAX_IDS:
                self.ids[ident] = self.ids.get(ident, 0) + 1
        choices = obj.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(first, dict) or first.get("index", 0) != 0:
            return
        delta = first.get("delta")
        if isinstance(delta, dict) and "role" in delta:
            # Some servers repeat the role in every chunk; only a role that
            # returns after chunks without it starts a new message.
            self.role_restarts += self._content_since_role
            self._content_since_role = False
        else:
            self._content_since_role = True

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        if len(self.ids) > 1:
            facts["completion_ids"] = dict(self.ids)
            facts["completion_id_changes"] = self.id_changes
        if self.role_restarts:
            facts["role_restarts"] = self.role_restarts
        return facts


class _DialectTracker:
    """Remembers the vendor dialect from the first object that reveals it."""

    def __init__(self, fixed: str | None) -> None:
        self.dialect = fixed
        self._fixed = fixed is not None
        self.runs = _RunMarkers()

    def events_for(self, obj: Any) -> list[Event]:
        if self._fixed:
            dialect = self.dialect
        else:
            # Objects that do not name their shape ({"type": "ping"}) belong to
            # the dialect the stream already showed.
            detected = detect_dialect(obj)
            if self.dialect is None:
                self.dialect = detected
            dialect = detected or self.dialect
        if dialect == "openai" and isinstance(obj, dict):
            self.runs.note(obj)
        return interpret_json(obj, dialect)

    @property
    def expects_terminal(self) -> bool:
        return self.dialect in DIALECTS_WITH_TERMINAL


# --- SSE ---------------------------------------------------------------------


class SSEDecoder:
    """SSE framing, then the vendor dialect inside each data field."""

    def __init__(self, max_line_bytes: int, dialect: str | None = None) -> None:
        self._parser = SSEParser(max_line_bytes)
        self._dialect = _DialectTracker(dialect)
        self.unparsed_data_fields = 0

    @property
    def format(self) -> str:
        return f"sse/{self._dialect.dialect or 'generic'}"

    @property
    def expects_terminal(self) -> bool:
        return self._dialect.expects_terminal

    def feed(self, data: bytes) -> list[Event]:
        return self._events(self._parser.feed_compact(data))

    def finish(self) -> list[Event]:
        return self._events(self._parser.finish())

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        if self._parser.has_pending_event:
            facts["ended_inside_an_event"] = True
        if self._parser.invalid_utf8:
            facts["invalid_utf8"] = True
        facts.update(self._dialect.runs.facts())
        return facts

    def _events(self, items: Sequence[CompactItem]) -> list[Event]:
        # The loop a flood spends its time in: names bound once, the common case first.
        events: list[Event] = []
        append = events.append
        events_for = self._dialect.events_for
        plain_chunk = self._dialect.runs.plain_chunk_text if self._dialect.dialect == "openai" else None
        fast_loads = orjson.loads
        for item in items:
            if isinstance(item, SSEComment):
                append(_event("comment", text=_snippet(item.text)))
                continue
            name, data = item[0], item[1]
            # The bulk of a vendor stream, a JSON object in an unnamed event,
            # skips the checks for everything else.
            if name == "message" and data[:1] == "{":
                try:
                    obj = fast_loads(data)
                except ValueError:
                    obj = _loads(data)
                if obj is not _NOT_JSON:
                    text = plain_chunk(obj) if plain_chunk is not None else None
                    if text is not None:
                        append(Event("content", 0.0, text))
                    else:
                        events += events_for(obj)
                    continue
            events += self._message_events(name, data)
        return events

    def _message_events(self, name: str, data: str) -> list[Event]:
        if data[:1] == "{":  # nearly always: spare the whitespace-tolerant checks below
            obj = _loads(data)
        elif data.strip() == "[DONE]":
            return [_event("terminal", name="[DONE]")]
        else:
            obj = _loads(data) if data.lstrip()[:1] in ("{", "[", '"') else _NOT_JSON
        if name == "error":
            detail = _error_message(obj.get("error", obj)) if isinstance(obj, dict) else _snippet(data)
            return [_event("error", name=name, detail=detail)]
        if obj is not _NOT_JSON:
            events = self._dialect.events_for(obj)
            if name != "message":
                for event in events:
                    if event.name is None:
                        event.name = name
            return events
        if name == "ping":
            return [_event("ping", name=name)]
        if name in _TERMINAL_EVENT_NAMES:
            return [_event("terminal", name=name)]
        if self._dialect.dialect in DIALECTS_WITH_TERMINAL:
            # A vendor stream whose data is not JSON: something in the path
            # injected it (an HTML error page, a proxy notice).
            self.unparsed_data_fields += 1
            return [_event("garbage", name=name, text=_snippet(data), detail="not JSON")]
        return [_event("content", name=name, text=data)]


# --- NDJSON and whole JSON bodies --------------------------------------------


class NDJSONDecoder:
    def __init__(self, max_line_bytes: int) -> None:
        self._lines = LineSplitter(max_line_bytes)
        self._dialect = _DialectTracker(None)
        self._text = _Utf8Text()

    @property
    def format(self) -> str:
        dialect = self._dialect.dialect
        return f"ndjson/{dialect}" if dialect else "ndjson"

    @property
    def expects_terminal(self) -> bool:
        return self._dialect.expects_terminal

    def feed(self, data: bytes) -> list[Event]:
        return [event for line in self._lines.feed(data) for event in self._line_events(line)]

    def finish(self) -> list[Event]:
        return self._line_events(self._lines.take_partial_line())

    def facts(self) -> dict[str, Any]:
        facts = self._dialect.runs.facts()
        if self._text.invalid:
            facts["invalid_utf8"] = True
        return facts

    def _line_events(self, line: bytes) -> list[Event]:
        text = self._text.decode_whole(line).strip()
        if not text:
            return []
        obj = _loads(text)
        if obj is _NOT_JSON:
            return [_event("garbage", text=_snippet(text), detail="not JSON")]
        return self._dialect.events_for(obj)


class JSONBodyDecoder:
    """application/json: one document, usable only once it is complete.

    A handler that returns JSON instead of streaming is the server-buffering
    cause in its plainest form, so the body is still read and understood.
    """

    format = "json"

    def __init__(self, max_line_bytes: int) -> None:
        self._max_bytes = max_line_bytes
        self._body = bytearray()
        self._dialect: str | None = None

    @property
    def expects_terminal(self) -> bool:
        return False

    def feed(self, data: bytes) -> list[Event]:
        if len(self._body) + len(data) > self._max_bytes:
            raise TooLong("a JSON body", self._max_bytes)
        self._body += data
        return []

    def finish(self) -> list[Event]:
        text = _Utf8Text().decode_whole(bytes(self._body))
        obj = _loads(text)
        if obj is not _NOT_JSON:
            self._dialect = detect_dialect(obj)
            return interpret_json(obj)
        ndjson = NDJSONDecoder(self._max_bytes)
        return ndjson.feed(bytes(self._body)) + ndjson.finish()

    def facts(self) -> dict[str, Any]:
        return {"json_dialect": self._dialect} if self._dialect else {}


# --- raw text ----------------------------------------------------------------


class _Utf8Text:
    """Incremental UTF-8 that notices invalid bytes instead of hiding them."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.invalid = False

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError:
            self.invalid = True
            self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            return self._decoder.decode(data, final)

    def decode_whole(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid = True
            return data.decode("utf-8", errors="replace")


class TextDecoder:
    """Raw chunked text: every piece of the body is content."""

    format = "text"
    expects_terminal = False

    def __init__(self) -> None:
        self._text = _Utf8Text()
        self._saw_nul = False

    def feed(self, data: bytes) -> list[Event]:
        if b"\x00" in data:
            self._saw_nul = True
        text = self._text.decode(data)
        return [_event("content", text=text)] if text else []

    def finish(self) -> list[Event]:
        text = self._text.decode(b"", final=True)
        return [_event("content", text=text)] if text else []

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        if self._text.invalid:
            facts["invalid_utf8"] = True
        if self._saw_nul or self._text.invalid:
            facts["looks_binary"] = True
        return facts


# --- choosing a decoder ------------------------------------------------------

_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")
_SNIFF_LIMIT = 1024


def decoder_for_content_type(content_type: str, max_line_bytes: int) -> BodyDecoder | None:
    """The decoder the Content-Type asks for, or None if it does not say."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "text/event-stream":
        return SSEDecoder(max_line_bytes)
    if media_type in ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"):
        return NDJSONDecoder(max_line_bytes)
    if media_type in ("application/stream+json", "application/json-seq"):
        return NDJSONDecoder(max_line_bytes)
    if media_type == "application/json" or media_type.endswith("+json"):
        return JSONBodyDecoder(max_line_bytes)
    return None


def decoder_for_first_bytes(head: bytes, max_line_bytes: int) -> BodyDecoder:
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(_SSE_STARTS):
        return SSEDecoder(max_line_bytes)
    if stripped.startswith((b"{", b"[")):
        return NDJSONDecoder(max_line_bytes)
    return TextDecoder()


class AutoDecoder:
    """Picks a decoder from the Content-Type, or failing that from the first
    non-blank bytes, then hands everything to it."""

    def __init__(self, content_type: str, max_line_bytes: int) -> None:
        self._max_line_bytes = max_line_bytes
        self._chosen: BodyDecoder | None = decoder_for_content_type(content_type, max_line_bytes)
        self._head = bytearray()

    @property
    def format(self) -> str:
        return self._chosen.format if self._chosen else "auto"

    @property
    def expects_terminal(self) -> bool:
        return self._chosen.expects_terminal if self._chosen else False

    def feed(self, data: bytes) -> list[Event]:
        if self._chosen is not None:
            return self._chosen.feed(data)
        self._head += data
        if not self._head.strip() and len(self._head) < _SNIFF_LIMIT:
            return []
        return self._choose().feed(self._take_head())

    def finish(self) -> list[Event]:
        if self._chosen is None:
            if not self._head:
                return []
            events = self._choose().feed(self._take_head())
            return events + self._chosen_finish()
        return self._chosen_finish()

    def facts(self) -> dict[str, Any]:
        return self._chosen.facts() if self._chosen else {}

    def _choose(self) -> BodyDecoder:
        self._chosen = decoder_for_first_bytes(bytes(self._head), self._max_line_bytes)
        return self._chosen

    def _take_head(self) -> bytes:
        head = bytes(self._head)
        self._head.clear()
        return head

    def _chosen_finish(self) -> list[Event]:
        assert self._chosen is not None
        return self._chosen.finish()


def make_decoder(format_name: str, content_type: str, max_line_bytes: int) -> BodyDecoder:
    """The decoder for a requested format ("auto" looks at the response)."""
    if format_name == "sse":
        return SSEDecoder(max_line_bytes)
    if format_name in ("openai", "anthropic"):
        return SSEDecoder(max_line_bytes, dialect=format_name)
    if format_name == "ndjson":
        return NDJSONDecoder(max_line_bytes)
    if format_name == "text":
        return TextDecoder()
    return AutoDecoder(content_type, max_line_bytes)


# --- WebSocket messages ------------------------------------------------------


class WebSocketMessages:
    """Interprets WebSocket messages: JSON objects by dialect, other text as
    content, binary frames as opaque content."""

    def __init__(self) -> None:
        self._dialect = _DialectTracker(None)

    @property
    def format(self) -> str:
        dialect = self._dialect.dialect
        return f"websocket/{dialect}" if dialect else "websocket"

    @property
    def expects_terminal(self) -> bool:
        return self._dialect.expects_terminal

    def events_for(self, message: str | bytes) -> list[Event]:
        if isinstance(message, bytes):
            return [_event("content", detail="binary")]
        if message.lstrip()[:1] == "{":
            obj = _loads(message)
            if obj is not _NOT_JSON:
                return self._dialect.events_for(obj)
        if message.strip() == "[DONE]":
            return [_event("terminal", name="[DONE]")]
        return [_event("content", text=message)] if message else []

"""Tiny servers on 127.0.0.1 that misbehave exactly as told.

The raw HTTP server writes exact bytes with exact timing, so every failure a
probe must recognise (buffering, idle gaps, cuts, resets, wrong lengths,
per-chunk gzip, garbage, floods) can be reproduced byte for byte. Handlers
are plain coroutines that get the parsed request and the stream writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from troubleshooter.probe import Limits, ProbeSpec, Record, run_probe
from troubleshooter.probe.record import Ending, Event, Read, RequestInfo


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[ReceivedRequest, asyncio.StreamWriter], Awaitable[None]]


class RawHTTPServer:
    """An HTTP/1.1 server on a loopback address that answers each path with
    a scripted handler."""

    def __init__(self, routes: dict[str, Handler], tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.routes = routes
        self.tls = tls
        self.host = host
        self.requests: list[ReceivedRequest] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> RawHTTPServer:
        self._server = await asyncio.start_server(self._accept, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{path}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await _read_request(reader)
            self.requests.append(request)
            handler = self.routes.get(request.path.split("?", 1)[0], not_found)
            await handler(request, writer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: expected when a probe hits a limit
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return ReceivedRequest(method, path, headers, body)


# --- building responses ------------------------------------------------------


def head(status: int = 200, headers: Iterable[tuple[str, str]] = (), reason: str = "OK") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


SSE_HEAD = head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def sse(data: str, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return (prefix + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n").encode()


def openai_chunk(content: str | None = None, finish_reason: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}] if usage is None else [],
    }
    if usage is not None:
        payload["usage"] = usage
    return sse(json.dumps(payload))


def anthropic_event(name: str, payload: dict[str, Any]) -> bytes:
    return sse(json.dumps({"type": name, **payload}), event=name)


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- scripted handlers -------------------------------------------------------


async def not_found(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
    await send(writer, head(404, [("Content-Length", "0")], "Not Found"))


def chunked_stream(
    events: list[bytes],
    gap: float,
    terminal: bytes = b"data: [DONE]\n\n",
    headers: Iterable[tuple[str, str]] = (),
) -> Handler:
    """A healthy chunked SSE stream: one event per chunk, `gap` apart."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked"), *headers]))
        for event in events:
            await send(writer, chunk(event))
            await asyncio.sleep(gap)
        if terminal:
            await send(writer, chunk(terminal))
        await send(writer, LAST_CHUNK)

    return handler


def openai_stream(words: list[str], gap: float = 0.02, finish_reason: str = "stop", usage: bool = True) -> Handler:
    events = [openai_chunk(word) for word in words] + [openai_chunk(finish_reason=finish_reason)]
    if usage:
        usage_counts = {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)}
        events.append(openai_chunk(usage=usage_counts))
    return chunked_stream(events, gap)


def all_at_once(body: bytes, delay: float, headers: Iterable[tuple[str, str]]) -> Handler:
    """A buffered response: nothing for `delay`, then everything in one write."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        await send(writer, head(200, [*headers, ("Content-Length", str(len(body)))]) + body)

    return handler


def idle_then_cut(events: list[bytes], idle: float, how: str = "close") -> Handler:
    """Some events, silence for `idle` seconds, then the connection goes."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, SSE_HEAD)
        for event in events:
            await send(writer, chunk(event))
        await asyncio.sleep(idle)
        if how == "reset":
            reset(writer)
        # "close": a FIN without the last chunk is an incomplete chunked read

    return handler


def hard_cut(after: float, gap: float = 0.03) -> Handler:
    """Events flow steadily; at `after` seconds the connection is closed."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + after
        await send(writer, SSE_HEAD)
        index = 0
        while loop.time() + gap < deadline:
            await send(writer, chunk(openai_chunk(f"w{index} ")))
            index += 1
            await asyncio.sleep(gap)
        await asyncio.sleep(max(deadline - loop.time(), 0))

    return handler


def content_length_mismatch(declared: int, body: bytes) -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(200, [("Content-Type", "text/event-stream"), ("Content-Length", str(declared))]))
        await send(writer, body)

    return handler


def gzip_stream(events: list[bytes], per_chunk: bool, gap: float = 0.01) -> Handler:
    """gzip over SSE: one member for the whole body, or one per event (what
    a per-chunk compressing middleware produces)."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(
            writer,
            head(200, [("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
        )
        if per_chunk:
            for event in events:
                await send(writer, chunk(gzip.compress(event)))
                await asyncio.sleep(gap)
        else:
            whole = gzip.compress(b"".join(events))
            third = max(len(whole) // 3, 1)
            for start in range(0, len(whole), third):
                await send(writer, chunk(whole[start : start + third]))
                await asyncio.sleep(gap)
        await send(writer, LAST_CHUNK)

    return handler


def raw_body(content_type: str, pieces: list[bytes], gap: float = 0.01, headers: Iterable[tuple[str, str]] = ()) -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked"), *headers]))
        for piece in pieces:
            await send(writer, chunk(piece))
            await asyncio.sleep(gap)
        await send(writer, LAST_CHUNK)

    return handler


def huge_line(size: int) -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, SSE_HEAD)
        block = b"a" * 65536
        await send(writer, chunk(b"data: "))
        for _ in range(size // len(block)):
            await send(writer, chunk(block))
        await send(writer, chunk(b"\n\n") + LAST_CHUNK)

    return handler


def forever(piece: bytes, gap: float, content_type: str = "text/event-stream") -> Handler:
    """Never ends on its own: heartbeats, a slow drip, or (gap 0) a flood."""

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(200, [("Content-Type", content_type), ("Transfer-Encoding", "chunked")]))
        while True:
            await send(writer, chunk(piece))
            await asyncio.sleep(gap)

    return handler


def status(code: int, body: bytes = b"", content_type: str = "application/json", reason: str = "Error") -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(code, [("Content-Type", content_type), ("Content-Length", str(len(body)))], reason) + body)

    return handler


def redirect(location: str, code: int = 302) -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await send(writer, head(code, [("Location", location), ("Content-Length", "0")], "Found"))

    return handler


def slow_headers(delay: float) -> Handler:
    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        await send(writer, SSE_HEAD + LAST_CHUNK)

    return handler


def serialised(inner: Handler) -> Handler:
    """Lets one request at a time through, like a single sync worker."""
    lock = asyncio.Lock()

    async def handler(request: ReceivedRequest, writer: asyncio.StreamWriter) -> None:
        async with lock:
            await inner(request, writer)
            await writer.drain()
            writer.close()

    return handler


# --- WebSocket ---------------------------------------------------------------


@dataclass
class WebSocketScript:
    messages: list[str | bytes] = field(default_factory=list)
    gap: float = 0.01
    close_code: int | None = 1000  # None: drop the TCP connection without a close frame
    close_reason: str = ""
    echo_first: bool = False  # wait for a client message and send it back first


class WebSocketTestServer:
    def __init__(self, scripts: dict[str, WebSocketScript]) -> None:
        self.scripts = scripts
        self.request_headers: list[dict[str, str]] = []
        self.port = 0
        self._server: Any = None

    async def __aenter__(self) -> WebSocketTestServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def _handle(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        self.request_headers.append({name.lower(): value for name, value in websocket.request.headers.raw_items()})
        script = self.scripts[websocket.request.path]
        if script.echo_first:
            await websocket.send(await websocket.recv())
        for message in script.messages:
            await websocket.send(message)
            await asyncio.sleep(script.gap)
        if script.close_code is None:
            websocket.transport.abort()
            return
        await websocket.close(script.close_code, script.close_reason)


# --- running a probe against one scripted handler ------------------------------

# Small bounds keep every hostile case fast.
FAST = Limits(total_seconds=3.0, headers_seconds=2.0, after_terminal_seconds=0.3)


@dataclass
class ProbedServer:
    record: Record
    requests: list[ReceivedRequest]
    events: list[dict[str, Any]]


def probe_handler(handler: Handler, limits: Limits = FAST, **spec_fields: Any) -> ProbedServer:
    """Serve `handler` on 127.0.0.1, probe it once, return what happened."""
    events: list[dict[str, Any]] = []

    async def scenario() -> ProbedServer:
        async with RawHTTPServer({"/stream": handler}) as server:
            spec = ProbeSpec(url=server.url("/stream"), **spec_fields)
            record = await run_probe(spec, limits, events.append)
            return ProbedServer(record, server.requests, events)

    return asyncio.run(scenario())


# --- hand-built records, for testing the pure functions -----------------------


def make_record(
    reads: list[tuple[float, int]] = (),  # type: ignore[assignment]
    events: list[tuple[float, str]] | list[Event] = (),  # type: ignore[assignment]
    ending: tuple[str, float] | Ending = ("terminal-event", 1.0),
    headers: dict[str, str] | None = None,
    status: int = 200,
    expects_terminal: bool = True,
    facts: dict[str, Any] | None = None,
    time_to_headers: float | None = 0.01,
    started_monotonic: float = 0.0,
) -> Record:
    """A Record as a probe would have made it; events given as (t, kind)."""
    record = Record(
        request=RequestInfo(method="GET", url="https://api.example/v1/stream"),
        started_monotonic=started_monotonic,
        status=status,
        headers={"Content-Type": "text/event-stream", **(headers or {})},
        time_to_headers=time_to_headers,
        expects_terminal=expects_terminal,
        facts=dict(facts or {}),
    )
    record.reads = [Read(t=t, size=size) for t, size in reads]
    record.events = [event if isinstance(event, Event) else _event_from_pair(*event) for event in events]
    record.ending = ending if isinstance(ending, Ending) else Ending(kind=ending[0], t=ending[1])
    return record


def _event_from_pair(t: float, kind: str) -> Event:
    return Event(kind=kind, t=t, text="x" if kind == "content" else "")


def steady_stream(
    count: int, gap: float, start: float = 0.1, size: int = 60
) -> tuple[list[tuple[float, int]], list[tuple[float, str]]]:
    """Reads and content events of a healthy stream: one token per read."""
    times = [start + index * gap for index in range(count)]
    return [(t, size) for t in times], [(t, "content") for t in times]

"""The WebSocket side of the engine: one message is one "read"."""

from __future__ import annotations

import logging
import ssl
from typing import TypedDict

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from .formats import WebSocketMessages
from .policy import OutboundPolicy, Resolver, Target
from .record import Event
from .recorder import LimitReached, Recorder, checked_target
from .spec import Limits, ProbeSpec

# websockets logs every handshake header (API keys included) at DEBUG. This
# logger never has DEBUG enabled, whatever the logging configuration says.
_wire_logger = logging.getLogger(__name__ + ".wire")
_wire_logger.setLevel(logging.INFO)

# Close codes that end a conversation normally.
_NORMAL_CLOSE_CODES = frozenset({1000, 1001})
_MESSAGE_TOO_BIG = 1009


async def probe_websocket(
    spec: ProbeSpec, limits: Limits, policy: OutboundPolicy, resolver: Resolver, recorder: Recorder
) -> None:
    url = spec.url.strip()
    target = await checked_target(url, policy, resolver, recorder)
    if target is None:
        return
    websocket = await _open(url, target, spec, limits, recorder)
    if websocket is None:
        return
    messages = WebSocketMessages()
    try:
        await _send_body(websocket, spec)
        await _receive_until_closed(websocket, messages, recorder)
    except LimitReached as reached:
        await recorder.end("limit", reached.reason, reached.limit)
    finally:
        recorder.record.format = messages.format
        recorder.record.expects_terminal = messages.expects_terminal
        recorder.record.facts["reads_are"] = "websocket messages"
        await websocket.close()


async def _open(
    url: str, target: Target, spec: ProbeSpec, limits: Limits, recorder: Recorder
) -> ClientConnection | None:
    last_error = "no address to connect to"
    for address in target.addresses:
        remaining = max(limits.headers_seconds - recorder.elapsed(), 0.001)
        try:
            websocket = await connect(
                url,
                # Connect to the checked address; the URL's host still goes
                # into the Host header and the TLS handshake.
                host=address,
                port=target.port,
                proxy=None,
                additional_headers=spec.outgoing_headers(),
                open_timeout=remaining,
                # Client pings would keep idle timeouts away and hide the very
                # cut-offs this probe looks for.
                ping_interval=None,
                max_size=limits.max_line_bytes,
                logger=_wire_logger,
                **_tls_arguments(target, spec),
            )
        except InvalidStatus as rejected:
            refusal = rejected.response
            await recorder.set_response(refusal.status_code, "HTTP/1.1", refusal.headers)
            await recorder.end("http-error", f"the WebSocket upgrade was answered with HTTP {refusal.status_code}")
            return None
        except TimeoutError:
            reason = f"no WebSocket handshake within {limits.headers_seconds:g} s"
            await recorder.end("limit", reason, "time-to-headers")
            return None
        except OSError as error:
            last_error = f"{address}: {error.strerror or error}"
            continue
        except (InvalidHandshake, InvalidURI, ValueError) as error:
            await recorder.end("connect-error", f"WebSocket handshake failed: {error}")
            return None
        response = websocket.response
        if response is not None:
            await recorder.set_response(response.status_code, "HTTP/1.1", response.headers)
        return websocket
    await recorder.end("connect-error", f"could not connect: {last_error}")
    return None


class _TLSArguments(TypedDict, total=False):
    ssl: ssl.SSLContext


def _tls_arguments(target: Target, spec: ProbeSpec) -> _TLSArguments:
    if target.scheme != "wss" or spec.verify_tls:
        return {}
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return {"ssl": context}


async def _send_body(websocket: ClientConnection, spec: ProbeSpec) -> None:
    body = spec.body_bytes()
    if body is not None:
        await websocket.send(body.decode())


async def _receive_until_closed(websocket: ClientConnection, messages: WebSocketMessages, recorder: Recorder) -> None:
    while True:
        try:
            message = await websocket.recv()
        except ConnectionClosedOK:
            await _end_with_close(websocket, recorder)
            return
        except ConnectionClosed as closed:
            await _end_abnormally(closed, recorder)
            return
        size = len(message.encode() if isinstance(message, str) else message)
        t = await recorder.add_read(size)
        await recorder.add_events(messages.events_for(message), t)


async def _end_with_close(websocket: ClientConnection, recorder: Recorder) -> None:
    code, reason = websocket.close_code, websocket.close_reason or ""
    _note_close(recorder, code, reason)
    await recorder.end_body(f"closed with code {code}" + (f" ({reason})" if reason else ""))


async def _end_abnormally(closed: ConnectionClosed, recorder: Recorder) -> None:
    if closed.sent is not None and closed.sent.code == _MESSAGE_TOO_BIG:
        _note_close(recorder, closed.sent.code, closed.sent.reason)
        await recorder.end("limit", f"a message was larger than {recorder.limits.max_line_bytes} bytes", "line-length")
        return
    if closed.rcvd is None:
        _note_close(recorder, 1006, "")
        await recorder.end("reset", "the connection dropped without a close frame (1006)")
        return
    code, reason = closed.rcvd.code, closed.rcvd.reason
    _note_close(recorder, code, reason)
    if code not in _NORMAL_CLOSE_CODES:
        # The server closed on purpose with an error code (1011 internal
        # error, 1013 try again later, 4xxx application codes): an error
        # event in the stream, like an SSE `event: error`.
        error = Event(kind="error", t=recorder.elapsed(), name=f"close {code}", detail=reason or None)
        await recorder.add_events([error], error.t)
    await recorder.end_body(f"closed with code {code}" + (f" ({reason})" if reason else ""))


def _note_close(recorder: Recorder, code: int | None, reason: str) -> None:
    recorder.record.facts["websocket_close_code"] = code
    if reason:
        recorder.record.facts["websocket_close_reason"] = reason[:200]

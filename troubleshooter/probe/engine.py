"""Runs one experiment: connect, read, time every read, parse, record.

The engine never decides what went wrong; it records what happened (reads,
events, and how the run ended) so that measurements and diagnosis can be
pure functions of the Record. Whatever the target does (garbage, floods,
never ending, resets) the run ends with an Ending and the Record comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import httpx

from .collector import fewer_collections
from .compression import DecodeFailed, Decompressor
from .events import OnEvent
from .formats import BodyDecoder, make_decoder
from .policy import OutboundPolicy, PinnedNetworkBackend, PinnedTransport, Resolver, TargetRefused, system_resolver
from .record import SECRET_PLACEHOLDER, Event, Record, redact_url
from .recorder import LimitReached, Recorder, checked_target
from .spec import Limits, ProbeSpec, spec_problems
from .sse import TooLong
from .websocket import probe_websocket

logger = logging.getLogger(__name__)


class RedactURLs(logging.Filter):
    """httpx logs every request URL at INFO, and URLs may carry keys
    (`?api_key=`, `user:password@`). Keys must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, RedactURLs) for existing in httpx_logger.filters):
        httpx_logger.addFilter(RedactURLs())


_redact_httpx_logs()

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


async def run_probe(
    spec: ProbeSpec,
    limits: Limits | None = None,
    on_event: OnEvent | None = None,
    *,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    lane: str = "stream",
) -> Record:
    """Run one stream and return its Record; never raises for anything the
    target or the network does. Cancelling the task ends the run with a
    "cancelled" ending and still returns what was recorded. Live events name
    `lane` as their stream."""
    limits = limits or Limits()
    policy = policy or OutboundPolicy()
    problems = spec_problems(spec)
    if problems:
        return await _refuse_invalid_spec(spec, limits, on_event, problems, lane)
    recorder = Recorder(spec, limits, on_event, lane)
    if spec.is_websocket:
        work = probe_websocket(spec, limits, policy, resolver, recorder)
    else:
        work = probe_http(spec, limits, policy, resolver, recorder)
    return await run_bounded(recorder, work)


async def run_bounded(recorder: Recorder, work: Coroutine[Any, Any, None]) -> Record:
    """Runs `work` within the total time limit and turns every way it can end
    (done, timed out, cancelled, crashed) into an Ending on the record."""
    limits = recorder.limits
    total = asyncio.timeout(limits.total_seconds)
    try:
        with fewer_collections():
            async with total:
                await recorder.start()
                await work
    except TimeoutError as error:
        if total.expired():
            await recorder.end(
                "limit", f"the run took longer than the total limit of {limits.total_seconds:g} s", "total-time"
            )
        else:
            await _end_unexpectedly(recorder, error)
    except asyncio.CancelledError:
        # Returning (instead of re-raising) is the point: the caller that
        # cancelled still gets everything recorded so far.
        await recorder.end("cancelled", "the run was cancelled")
    except Exception as error:
        await _end_unexpectedly(recorder, error)
    finally:
        work.close()  # a no-op once it ran; stops a never-started coroutine cleanly
    if recorder.record.ending is None:  # pragma: no cover - every path above ends the run
        await recorder.end("clean-close", "the run ended")
    return recorder.record


async def _refuse_invalid_spec(
    spec: ProbeSpec, limits: Limits, on_event: OnEvent | None, problems: list[str], lane: str
) -> Record:
    """A request that cannot be sent as given is refused before anything goes
    out, like a target the policy refuses."""
    safe_spec = ProbeSpec(url=spec.url, method=spec.method if spec.method.isalpha() else "GET")
    recorder = Recorder(safe_spec, limits, on_event, lane)
    await recorder.start()
    await recorder.end("blocked", "the request was not sent: " + "; ".join(problems))
    return recorder.record


async def _end_unexpectedly(recorder: Recorder, error: Exception) -> None:
    logger.warning("probe stopped by an unexpected error", exc_info=True)
    kind = "connect-error" if recorder.record.status is None else "reset"
    await recorder.end(kind, f"unexpected {type(error).__name__}: {error}")


# --- HTTP --------------------------------------------------------------------


@dataclass
class _Outgoing:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    secret_names: frozenset[str] = field(default_factory=frozenset)


async def probe_http(
    spec: ProbeSpec, limits: Limits, policy: OutboundPolicy, resolver: Resolver, recorder: Recorder
) -> None:
    outgoing = _Outgoing(
        method=spec.method.upper(),
        url=spec.url.strip(),
        headers=spec.outgoing_headers(),
        body=spec.body_bytes(),
        secret_names=spec.secret_header_names(),
    )
    for _ in range(policy.max_redirects + 1):
        async with contextlib.AsyncExitStack() as stack:
            response = await _open(outgoing, spec, limits, policy, resolver, recorder, stack)
            if response is None:
                return
            follow_up = _redirect(outgoing, response)
            if follow_up is None:
                await _read_response(response, spec, limits, recorder)
                return
            await recorder.note_redirect(response.status_code, follow_up.url)
            outgoing = follow_up
    await recorder.end("http-error", f"more than {policy.max_redirects} redirects")


async def _open(
    outgoing: _Outgoing,
    spec: ProbeSpec,
    limits: Limits,
    policy: OutboundPolicy,
    resolver: Resolver,
    recorder: Recorder,
    stack: contextlib.AsyncExitStack,
) -> httpx.Response | None:
    target = await checked_target(outgoing.url, policy, resolver, recorder)
    if target is None:
        return None
    backend = PinnedNetworkBackend(policy, resolver)
    backend.pin(target)
    client = await stack.enter_async_context(
        httpx.AsyncClient(
            transport=PinnedTransport(backend, verify=spec.verify_tls),
            trust_env=False,
            follow_redirects=False,
            # Our own clocks bound the run; httpx's read timeout would cut
            # exactly the long gaps this app exists to observe.
            timeout=httpx.Timeout(None),
        )
    )
    remaining = limits.headers_seconds - recorder.elapsed()
    try:
        request = client.build_request(
            outgoing.method,
            outgoing.url,
            headers=outgoing.headers,
            content=outgoing.body,
            extensions={"trace": _connection_milestones(recorder)},
        )
        async with asyncio.timeout(max(remaining, 0.0)):
            response = await client.send(request, stream=True)
    except TimeoutError:
        await recorder.end(
            "limit", f"no response headers within {limits.headers_seconds:g} s", "time-to-headers"
        )
        return None
    except TargetRefused as refused:
        await recorder.end("blocked", refused.reason)
        return None
    except httpx.InvalidURL as invalid:
        await recorder.end("blocked", f"not a valid URL: {invalid}")
        return None
    except httpx.HTTPError as error:
        await recorder.end("connect-error", _describe_transport_error(error))
        return None
    stack.push_async_callback(response.aclose)
    await recorder.set_response(response.status_code, response.http_version, response.headers)
    return response


# httpcore trace events worth a time stamp. "Request sent" matters most: a
# server's hard limit starts counting there, not when our DNS lookup began.
_MILESTONES = {
    "connection.connect_tcp.complete": "connected",
    "connection.start_tls.complete": "tls_done",
    "http11.send_request_body.complete": "request_sent",
    "http2.send_request_body.complete": "request_sent",
}


def _connection_milestones(recorder: Recorder) -> Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]:
    async def trace(name: str, info: dict[str, Any]) -> None:
        milestone = _MILESTONES.get(name)
        if milestone is not None:
            recorder.record.facts.setdefault("milestones", {})[milestone] = recorder.elapsed()

    return trace


def _redirect(outgoing: _Outgoing, response: httpx.Response) -> _Outgoing | None:
    """The next request when `response` is a redirect we should follow."""
    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    url = urljoin(outgoing.url, location)
    method, body, headers = outgoing.method, outgoing.body, list(outgoing.headers)
    # Browsers (and httpx) turn these into GETs without a body; servers
    # expect that, so a probe does the same.
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
    if _origin(url) != _origin(outgoing.url):
        # Credentials were given for the first host, not for wherever it
        # redirects to.
        headers = [(n, v) for n, v in headers if n.lower() not in outgoing.secret_names]
    return replace(outgoing, method=method, url=url, headers=headers, body=body)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


async def _read_response(response: httpx.Response, spec: ProbeSpec, limits: Limits, recorder: Recorder) -> None:
    if not response.is_success:
        # A non-2xx status decides the ending whatever the body does; the
        # body (often an error JSON or a proxy's page) is still read and parsed.
        recorder.force_ending("http-error", f"HTTP {response.status_code} {response.reason_phrase}".strip())
    decompressor = Decompressor(response.headers.get("content-encoding"))
    decoder: BodyDecoder = make_decoder(spec.format, response.headers.get("content-type", ""), limits.max_line_bytes)
    if not response.is_success:
        decoder = _KeepsErrorBody(decoder, list(spec.secret_values()))
    try:
        await _read_body(response, decompressor, decoder, limits, recorder)
    except LimitReached as reached:
        await recorder.end("limit", reached.reason, reached.limit)
    except TooLong as too_long:
        await recorder.end("limit", str(too_long), "line-length")
    except httpx.RemoteProtocolError as error:
        await _end_transport(recorder, "incomplete-read", _describe_transport_error(error))
    except httpx.TransportError as error:
        await _end_transport(recorder, "reset", _describe_transport_error(error))
    finally:
        recorder.record.facts.update(decompressor.facts())
        recorder.note_decoder(decoder)


ERROR_BODY_CHARS = 2048


class _KeepsErrorBody:
    """Hands a non-2xx body to its decoder and keeps the start of it as text:
    the words in it ("Event loop is closed", a platform's timeout message) name
    causes that the status alone cannot, and a JSON error body leaves no
    content events to read them from."""

    def __init__(self, decoder: BodyDecoder, secrets: list[str]) -> None:
        self._decoder = decoder
        # A server may echo the request back; what was sent as secret stays out.
        self._secrets = [secret for secret in secrets if secret]
        self._keep = ERROR_BODY_CHARS * 4 + max((len(secret) for secret in self._secrets), default=0)
        self._head = bytearray()

    @property
    def format(self) -> str:
        return self._decoder.format

    @property
    def expects_terminal(self) -> bool:
        return self._decoder.expects_terminal

    def feed(self, data: bytes) -> list[Event]:
        if len(self._head) < self._keep:
            self._head += data[: self._keep - len(self._head)]
        return self._decoder.feed(data)

    def finish(self) -> list[Event]:
        return self._decoder.finish()

    def facts(self) -> dict[str, Any]:
        facts = self._decoder.facts()
        text = self._head.decode("utf-8", errors="replace")
        for secret in self._secrets:
            text = text.replace(secret, SECRET_PLACEHOLDER)
        text = text.strip()[:ERROR_BODY_CHARS]
        if text:
            facts["error_body"] = text
        return facts


async def _end_transport(recorder: Recorder, kind: str, reason: str) -> None:
    if recorder.terminal_seen:
        # The stream was complete; what the connection did afterwards is a
        # footnote, not a cut.
        await recorder.end("terminal-event", f"after the terminal event: {reason}")
    else:
        await recorder.end(kind, reason)


async def _read_body(
    response: httpx.Response,
    decompressor: Decompressor,
    decoder: BodyDecoder,
    limits: Limits,
    recorder: Recorder,
) -> None:
    t = recorder.elapsed()
    decoding = True
    # httpx types aiter_raw() as an AsyncIterator, but it is an async generator
    # (it has aclose()), which is what aclosing needs.
    raw_reads = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with (
        contextlib.aclosing(raw_reads) as reads,
        contextlib.aclosing(_until_quiet_after_terminal(reads, limits, recorder)) as timed_reads,
    ):
        async for raw in timed_reads:
            t = await recorder.add_read(len(raw))
            if decoding:
                decoding = await _decode_and_parse(decompressor.feed, raw, decoder, recorder, t)
    if decoding:
        await _decode_and_parse(lambda _: decompressor.finish(), b"", decoder, recorder, t)
        await recorder.add_events(decoder.finish(), recorder.elapsed())
    await recorder.end_body()


async def _decode_and_parse(
    decompress: Callable[[bytes], list[bytes]], raw: bytes, decoder: BodyDecoder, recorder: Recorder, t: float
) -> bool:
    """Returns False once the body cannot be decoded any further."""
    try:
        pieces = decompress(raw)
    except DecodeFailed as failed:
        recorder.record.facts["decode_error"] = str(failed)
        return False
    for piece in pieces:
        recorder.count_decoded(len(piece))
        await recorder.add_events(decoder.feed(piece), t)
    return True


async def _until_quiet_after_terminal(
    reads: AsyncIterator[bytes], limits: Limits, recorder: Recorder
) -> AsyncGenerator[bytes, None]:
    """Yields reads; once the terminal event is in, waits only a short while
    for the body to end, so a server that keeps the connection open after
    [DONE] does not hold the run until the total limit."""
    while True:
        try:
            if recorder.terminal_seen:
                async with asyncio.timeout(limits.after_terminal_seconds):
                    raw = await anext(reads)
            else:
                raw = await anext(reads)
        except StopAsyncIteration:
            return
        except TimeoutError:
            recorder.record.facts["open_after_terminal"] = True
            await recorder.end(
                "terminal-event",
                f"the body did not end within {limits.after_terminal_seconds:g} s after the terminal event",
            )
            return
        yield raw


def _describe_transport_error(error: BaseException) -> str:
    """A readable reason: the exception chain often holds the useful part
    (connection refused, certificate verify failed, incomplete chunked read)."""
    messages: list[str] = []
    current: BaseException | None = error
    while current is not None and len(messages) < 4:
        text = str(current).strip()
        if text and text not in messages:
            messages.append(text)
        current = current.__cause__ or current.__context__
    summary = "; ".join(messages) or type(error).__name__
    return f"{type(error).__name__}: {summary}"

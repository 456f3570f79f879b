"""The same request as a LangChain app makes it: ChatOpenAI(...).astream(), timed.

An httpx transport under the SDK records the response and times every raw read, and each
chunk the framework yields becomes an event, so a run through the framework can be set
against a direct run of the same endpoint: does the framework (or the way the app calls it)
buffer what the wire delivers incrementally?
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from .engine import run_bounded
from .events import OnEvent
from .policy import (
    OutboundPolicy,
    PinnedNetworkBackend,
    PinnedTransport,
    Resolver,
    TargetRefused,
    system_resolver,
)
from .record import Event, Record
from .recorder import LimitReached, Recorder, checked_target
from .spec import HeaderSpec, Limits, ProbeSpec


class _TimedStream(httpx.AsyncByteStream):
    """Records each raw read as the SDK pulls it from the network."""

    def __init__(self, inner: httpx.AsyncByteStream, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            await self._recorder.add_read(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _TimedTransport(httpx.AsyncBaseTransport):
    """Sits under the SDK: records the response and times every read, so a
    run through the framework can be set against a direct run."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        version = response.extensions.get("http_version", b"HTTP/1.1")
        await self._recorder.set_response(
            response.status_code, version.decode() if isinstance(version, bytes) else str(version), response.headers
        )
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _TimedStream(response.stream, self._recorder)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def openai_chat_spec(base_url: str, api_key: str, model: str, prompt: str) -> ProbeSpec:
    """The streaming chat-completions request a client of `base_url` sends."""
    return ProbeSpec(
        url=base_url.rstrip("/") + "/chat/completions",
        method="POST",
        headers=(HeaderSpec("Authorization", f"Bearer {api_key}", secret=True),),
        json_body={"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True},
        format="openai",
    )


async def via_langchain(
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    limits: Limits | None = None,
    *,
    policy: OutboundPolicy | None = None,
    resolver: Resolver = system_resolver,
    on_event: OnEvent | None = None,
    lane: str = "ChatOpenAI.astream()",
    model_kwargs: Mapping[str, Any] | None = None,
) -> Record:
    """The request a LangChain app would make (ChatOpenAI(...).astream()),
    through the same outbound policy, with every read and every chunk the
    framework yields timed. Compare it with a direct run of the endpoint to
    see whether the framework buffers."""
    # Imported before the recorder starts its clock: the first import takes seconds, and
    # counting it would make the framework look slow to stream.
    from langchain_openai import ChatOpenAI

    limits = limits or Limits()
    policy = policy or OutboundPolicy()
    spec = openai_chat_spec(base_url, api_key, model, prompt)
    recorder = Recorder(spec, limits, on_event, lane)
    recorder.record.format = "langchain-openai"
    recorder.record.expects_terminal = True
    work = _stream_through_langchain(
        ChatOpenAI, base_url, api_key, model, prompt, dict(model_kwargs or {}), policy, resolver, recorder
    )
    return await run_bounded(recorder, work)


async def _stream_through_langchain(
    chat_model_class: type[Any],
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    model_kwargs: dict[str, Any],
    policy: OutboundPolicy,
    resolver: Resolver,
    recorder: Recorder,
) -> None:
    target = await checked_target(base_url, policy, resolver, recorder)
    if target is None:
        return
    backend = PinnedNetworkBackend(policy, resolver)
    backend.pin(target)
    transport = _TimedTransport(PinnedTransport(backend), recorder)
    async with httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False, timeout=None) as client:
        llm = chat_model_class(
            base_url=base_url,
            api_key=api_key,
            model=model,
            streaming=True,
            stream_usage=True,
            max_retries=0,  # a retry would hide the very failure being probed
            http_async_client=client,
            **model_kwargs,
        )
        try:
            async for chunk in llm.astream(prompt):
                await recorder.add_events(_chunk_events(chunk), recorder.elapsed())
        except Exception as error:
            await _end_from_sdk_error(error, recorder)
            return
    if any(event.finish_reason for event in recorder.record.events):
        # The SDK swallows [DONE]; a finish reason is the end marker we can see.
        recorder.terminal_seen = True
    await recorder.end_body()


def _chunk_events(chunk: Any) -> list[Event]:
    events: list[Event] = []
    content = chunk.content
    text = content if isinstance(content, str) else "".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content
    )
    if text:
        events.append(Event(kind="content", t=0.0, text=text))
    finish = (chunk.response_metadata or {}).get("finish_reason")
    if finish:
        events.append(Event(kind="finish", t=0.0, finish_reason=str(finish)))
    usage = getattr(chunk, "usage_metadata", None)
    if usage:
        counts = {key: value for key, value in dict(usage).items() if isinstance(value, int)}
        if counts:
            events.append(Event(kind="usage", t=0.0, usage=counts))
    return events or [Event(kind="meta", t=0.0, detail="empty chunk")]


async def _end_from_sdk_error(error: Exception, recorder: Recorder) -> None:
    """SDKs wrap transport errors in their own types; the cause chain still
    holds what happened on the wire."""
    chain = _exception_chain(error)
    for item in chain:
        if isinstance(item, LimitReached):
            await recorder.end("limit", item.reason, item.limit)
            return
        if isinstance(item, TargetRefused):
            await recorder.end("blocked", item.reason)
            return
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if recorder.record.status is None:
            recorder.record.status = status
        await recorder.end("http-error", f"HTTP {status}: {_short(error)}")
        return
    for item in chain:
        if isinstance(item, httpx.RemoteProtocolError):
            await recorder.end("incomplete-read", _short(item))
            return
        if isinstance(item, httpx.TransportError):
            kind = "connect-error" if recorder.record.status is None else "reset"
            await recorder.end(kind, _short(item))
            return
    kind = "connect-error" if recorder.record.status is None else "reset"
    await recorder.end(kind, f"{type(error).__name__}: {_short(error)}")


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:300] + "…"

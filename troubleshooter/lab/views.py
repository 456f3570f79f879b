"""The lab: endpoints that misbehave on purpose, one per failure mode.

People point the probe at them to see what each cause looks like from the client side, and
the tests run the probe against them through a real server. Every event carries the
server's monotonic send time (`sent`), so a benchmark on the same machine can measure how
late the probe sees it. Parameters come from the query string and are bounded, so a lab
stream can never run away.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import hashlib
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from troubleshooter.probe import KINDS

from .demos import DEMOS

WORDS = (
    "Streams fail in quiet ways: a proxy holds the bytes, a timer closes an idle "
    "connection, or a handler gathers every token before it answers. "
).split()


class BadParameter(ValueError):
    pass


def number(request: HttpRequest, name: str, default: float, low: float, high: float) -> float:
    return bounded(request.GET.get(name), name, default, low, high)


def bounded(raw: str | None, name: str, default: float, low: float, high: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter(f"'{name}' must be a number, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"'{name}' must be between {low:g} and {high:g}")
    return value


def lab_view(
    view: Callable[..., Awaitable[HttpResponseBase]],
) -> Callable[..., Coroutine[Any, Any, HttpResponseBase]]:
    """Off unless the lab is enabled; bad parameters become a 400 that says which."""

    async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.LAB_ENABLED:
            raise Http404("The lab is turned off on this server.")
        try:
            return await view(request, *args, **kwargs)
        except BadParameter as exc:
            return JsonResponse({"error": str(exc)}, status=400)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


def word(index: int) -> str:
    return WORDS[index % len(WORDS)] + " "


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {body}\n\n".encode()


def openai_chunk(
    index: int, text: str | None, finish_reason: str | None = None, *, completion_id: str = "chatcmpl-lab",
    role: bool = False,
) -> bytes:
    delta: dict[str, str] = {"role": "assistant"} if role else {}
    if text is not None:
        delta["content"] = text
    return sse(
        {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "lab-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "sent": time.monotonic(),
            "seq": index,
        }
    )


def event_stream(body: AsyncIterator[bytes], **headers: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def chunk_params(request: HttpRequest) -> tuple[int, float]:
    return int(number(request, "chunks", 20, 1, 200_000)), number(request, "delay", 0.05, 0, 5)


# Counts the requests that ask for a varied pace (see token_pace).
_paced_requests = itertools.count()


def token_pace(request: HttpRequest, delay: float) -> Callable[[], float]:
    """The wait before each next chunk: `delay`, varied by up to the `jitter` share either
    way, as a model's tokens vary, so that repeated runs do not arrive in lockstep.

    `vary` makes successive requests differ for certain, not just by chance: each is paced
    that share slower than the one before, in a cycle of three (with `vary=0.3`: 1x, 1.3x,
    1.6x). Jitter alone gives two runs the same number of chunks before a fixed cut now and
    then, and such runs cannot tell a time limit from a fault in the content.
    """
    jitter = number(request, "jitter", 0, 0, 0.9)
    vary = number(request, "vary", 0, 0, 2)
    pace = delay * (1 + vary * (next(_paced_requests) % 3)) if vary else delay
    return lambda: pace * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 (pacing, not secrets)


# --- SSE ----------------------------------------------------------------------------------


@lab_view
async def sse_healthy(request: HttpRequest) -> StreamingHttpResponse:
    """Plain SSE, one event per `delay` seconds, then `event: done`."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            yield sse({"seq": index, "text": word(index), "sent": time.monotonic()})
            await asyncio.sleep(delay)
        yield sse({"sent": time.monotonic()}, event="done")

    return event_stream(body())


@lab_view
async def sse_clock(request: HttpRequest) -> StreamingHttpResponse:
    """Each event's text is the server's monotonic clock when it was sent, so a client on
    the same machine can measure how late it sees each one."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield f"data: {time.monotonic():.9f}\n\n".encode()
            await asyncio.sleep(delay)
        yield b"event: done\ndata: {}\n\n"

    return event_stream(body())


@lab_view
async def sse_buffered(request: HttpRequest) -> StreamingHttpResponse:
    """What a buffering proxy delivers: a streaming type, then everything at the very end."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        events = []
        for index in range(chunks):
            await asyncio.sleep(delay)
            events.append(openai_chunk(index, word(index)))
        events.append(openai_chunk(chunks, None, "stop"))
        events.append(sse("[DONE]"))
        yield b"".join(events)

    response = event_stream(body(), Via="1.1 lab-buffering-proxy")
    del response["X-Accel-Buffering"]
    return response


@lab_view
async def sse_one_piece(request: HttpRequest) -> StreamingHttpResponse:
    """What an app whose model was never asked to stream sends: the headers at once, then
    nothing while the model writes `chunks` words at `delay` each, then the whole answer as one
    content event, its finish chunk and [DONE]. The stream is correct; it has one piece."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        await asyncio.sleep(chunks * delay)  # the whole generation, unseen
        answer = "".join(word(index) for index in range(chunks))
        yield openai_chunk(0, answer, role=True)
        yield openai_chunk(1, None, "stop") + sse("[DONE]")

    return event_stream(body())


@lab_view
async def sse_idle_cut(request: HttpRequest) -> StreamingHttpResponse:
    """A few chunks, a silence of `gap` seconds, then the connection ends mid-answer."""
    chunks, delay = chunk_params(request)
    gap = number(request, "gap", 2, 0, 600)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            if index:
                await asyncio.sleep(delay)
            yield openai_chunk(index, word(index))
        await asyncio.sleep(gap)  # the silence an idle timer measures, then the cut

    return event_stream(body())


def flowing_until_cut(request: HttpRequest) -> AsyncIterator[bytes]:
    """Chunks every `delay` seconds until `at` seconds after the request, then the end."""
    _chunks, delay = chunk_params(request)
    cut_at = number(request, "at", 2, 0.1, 600)
    pace = token_pace(request, max(delay, 0.01))

    async def body() -> AsyncIterator[bytes]:
        deadline = time.monotonic() + cut_at
        index = 0
        wait = pace()
        while time.monotonic() + wait < deadline:
            yield openai_chunk(index, word(index))
            index += 1
            await asyncio.sleep(wait)
            wait = pace()
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    return body()


@lab_view
async def sse_hard_cut(request: HttpRequest) -> StreamingHttpResponse:
    """Chunks keep flowing until `at` seconds after the request, then the stream stops."""
    return event_stream(flowing_until_cut(request))


@lab_view
async def sse_worker_timeout(request: HttpRequest) -> StreamingHttpResponse:
    """A gunicorn sync worker killed at its --timeout, as seen from outside: `Server:
    gunicorn`, chunks flowing until `at` seconds after the request, then the end mid-stream."""
    return event_stream(flowing_until_cut(request), Server="gunicorn")


@lab_view
async def sse_serverless_cut(request: HttpRequest) -> StreamingHttpResponse:
    """A hard cut at `at` seconds, with the headers a Vercel function answers with: what a
    function stopped at its maximum duration looks like from outside."""
    body = flowing_until_cut(request)
    return event_stream(body, Server="Vercel", X_Vercel_Id=f"lab1::lab-{int(time.time() * 1000)}")


@lab_view
async def sse_retried(request: HttpRequest) -> StreamingHttpResponse:
    """A request retried by a layer in front of the model, with both runs reaching the client.
    The first run stalls halfway; after `pause` seconds a second run, with a completion id of
    its own, starts the answer over and finishes it. With `interleave=1` both runs write at
    the same time, their chunks alternating."""
    chunks, delay = chunk_params(request)
    pause = number(request, "pause", 0.5, 0, 60)
    interleave = number(request, "interleave", 0, 0, 1) >= 1

    def run(completion_id: str, count: int, finish: bool) -> list[bytes]:
        pieces = [openai_chunk(0, "", completion_id=completion_id, role=True)]
        pieces += [openai_chunk(index, word(index), completion_id=completion_id) for index in range(count)]
        return pieces + ([openai_chunk(count, None, "stop", completion_id=completion_id)] if finish else [])

    async def body() -> AsyncIterator[bytes]:
        if interleave:
            both = zip(run("chatcmpl-lab-1", chunks, True), run("chatcmpl-lab-2", chunks, True), strict=True)
            pieces = [piece for pair in both for piece in pair]
        else:
            first = run("chatcmpl-lab-1", max(chunks // 2, 1), False)
            for piece in first:
                yield piece
                await asyncio.sleep(delay)
            await asyncio.sleep(pause)  # the first run stalls; the retry starts
            pieces = run("chatcmpl-lab-2", chunks, True)
        for piece in pieces:
            yield piece
            await asyncio.sleep(delay)
        yield sse("[DONE]")

    return event_stream(body())


@lab_view
async def sse_object_reprs(request: HttpRequest) -> StreamingHttpResponse:
    """A handler that writes str(chunk) where chunk is a LangChain AIMessageChunk, as code
    written for a version whose stream yielded plain strings does once objects arrive."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            text = f"content={word(index)!r} additional_kwargs={{}} response_metadata={{}} id='run-lab-{index}'"
            yield f"data: {text}\n\n".encode()
            await asyncio.sleep(delay)
        yield sse({"sent": time.monotonic()}, event="done")

    return event_stream(body())


@lab_view
async def event_loop_closed(request: HttpRequest) -> JsonResponse:
    """The 500 an app answers with when it reuses an async client after its event loop
    closed (asyncio.run() per request, a client made at import time): the error body says so."""
    await asyncio.sleep(number(request, "after", 0, 0, 30))
    return JsonResponse(
        {
            "detail": "RuntimeError: Event loop is closed",
            "traceback": [
                'File "app/chat.py", line 41, in stream_answer',
                "async for chunk in client.chat.completions.create(stream=True, **params):",
                'File "asyncio/base_events.py", line 520, in _check_closed',
                "raise RuntimeError('Event loop is closed')",
            ],
        },
        status=500,
    )


# Which lab replica answers next: requests take turns, as behind a round-robin balancer.
_next_replica = itertools.count()


@lab_view
async def sse_replicas(request: HttpRequest) -> StreamingHttpResponse:
    """`replicas` servers behind one address, taking requests in turn; replica `broken` cuts
    every stream halfway (no terminal event). Each answer names its replica in X-Served-By."""
    chunks, delay = chunk_params(request)
    replicas = int(number(request, "replicas", 2, 1, 10))
    broken = int(number(request, "broken", 1, 0, 9))
    replica = next(_next_replica) % replicas
    sent = chunks // 2 if replica == broken else chunks

    async def body() -> AsyncIterator[bytes]:
        for index in range(sent):
            yield openai_chunk(index, word(index))
            await asyncio.sleep(delay)
        if sent == chunks:
            yield openai_chunk(chunks, None, "stop") + sse("[DONE]")

    return event_stream(body(), X_Served_By=f"lab-replica-{replica}")


# Text no stream should carry and every stream may: a NUL (PostgreSQL refuses it in JSON),
# terminal escape sequences (a colour, and an OSC that sets a terminal's title), a lone
# surrogate, and bytes that are not UTF-8.
ODD_TEXTS = (r"a\u0000b ", r"\u001b[31mred\u001b[0m ", r"\u001b]0;owned\u0007 ", r"\ud800 ")  # as JSON escapes
NOT_UTF8 = b'data: {"choices":[{"index":0,"delta":{"content":"\xff\xfe "},"finish_reason":null}]}\n\n'


@lab_view
async def sse_odd_bytes(request: HttpRequest) -> HttpResponseBase:
    """A healthy OpenAI-style stream whose text holds odd bytes: every one must be stored,
    shown as such and never run on a terminal; the run still ends with its verdict. With
    `error=1`, a 500 whose body relays a coloured error message instead, as a development
    server's error page may."""
    _chunks, delay = chunk_params(request)
    if number(request, "error", 0, 0, 1) >= 1:
        return HttpResponse(
            "RuntimeError: \x1b[31mEvent loop is closed\x1b[0m\x1b]0;owned\x07\x00",
            status=500, content_type="text/plain; charset=utf-8",
        )

    async def body() -> AsyncIterator[bytes]:
        for index, text in enumerate(ODD_TEXTS):
            chunk = {"id": "chatcmpl-lab", "object": "chat.completion.chunk", "model": "lab-model",
                     "choices": [{"index": 0, "delta": {"content": "TEXT"}, "finish_reason": None}], "seq": index}
            yield sse(json.dumps(chunk).replace("TEXT", text))
            await asyncio.sleep(delay)
        yield NOT_UTF8
        yield openai_chunk(len(ODD_TEXTS), None, "stop") + sse("[DONE]")

    return event_stream(body())


@lab_view
async def sse_no_terminal(request: HttpRequest) -> StreamingHttpResponse:
    """OpenAI-style chunks that end cleanly but without finish_reason or [DONE]: always after
    the same `chunks`, as when a handler raises on one piece of the content."""
    chunks, delay = chunk_params(request)
    pace = token_pace(request, delay)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            yield openai_chunk(index, word(index))
            await asyncio.sleep(pace())

    return event_stream(body())


@lab_view
async def sse_gzip(request: HttpRequest) -> StreamingHttpResponse:
    """Each event compressed as a gzip member of its own, as Django's GZipMiddleware does
    to an async StreamingHttpResponse."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            yield gzip.compress(openai_chunk(index, word(index)))
            await asyncio.sleep(delay)
        yield gzip.compress(openai_chunk(chunks, None, "stop") + sse("[DONE]"))

    response = event_stream(body())
    response["Content-Encoding"] = "gzip"
    return response


@lab_view
async def content_length_mismatch(request: HttpRequest) -> StreamingHttpResponse:
    """A Content-Length computed from the first chunk, as a middleware that measures the
    body it has seen so far sets it: clients read that many bytes and stop."""
    chunks, delay = chunk_params(request)
    first = openai_chunk(0, word(0))

    async def body() -> AsyncIterator[bytes]:
        yield first
        for index in range(1, chunks):
            await asyncio.sleep(delay)
            yield openai_chunk(index, word(index))
        yield openai_chunk(chunks, None, "stop") + sse("[DONE]")

    response = event_stream(body())
    response["Content-Length"] = str(len(first))
    return response


@lab_view
async def ndjson(request: HttpRequest) -> StreamingHttpResponse:
    """Newline-delimited JSON, the way Ollama-style APIs stream, ending with done: true."""
    chunks, delay = chunk_params(request)

    async def body() -> AsyncIterator[bytes]:
        for index in range(chunks):
            line = {"model": "lab-model", "response": word(index), "done": False, "sent": time.monotonic()}
            yield (json.dumps(line) + "\n").encode()
            await asyncio.sleep(delay)
        yield (json.dumps({"model": "lab-model", "response": "", "done": True}) + "\n").encode()

    return StreamingHttpResponse(body(), content_type="application/x-ndjson")


# --- OpenAI-compatible chat completions ---------------------------------------------------

# healthy: every token, then finish_reason "stop"; length: cut at max_tokens with "length";
# error: an error frame halfway; slow-first: a long silence before the first token; drop: the
# connection ends halfway with no terminal chunk, as when a provider's server goes away;
# tool: the first turn calls the first tool offered, the turn after it answers.
OPENAI_MODES = ("healthy", "length", "error", "slow-first", "drop", "tool")

# What each generation did, newest last, so a caller can check on the model's side whether a
# stream went on after its client left. Bounded: the lab is a toy, not a store.
GENERATIONS: collections.deque[dict[str, Any]] = collections.deque(maxlen=500)


class DroppedConnection(Exception):
    """Raised inside a streaming body so the server aborts the connection mid-body."""


def _request_json(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BadParameter("the request body must be JSON") from None
    if not isinstance(data, dict):
        raise BadParameter("the request body must be a JSON object")
    return data


def apply_path_settings(request: HttpRequest, settings_segment: str) -> None:
    """`chunks=40;delay=0.1;tag=x` in the path, read as if it were the query string: SDKs
    take a base URL and append their own paths, so a query string cannot ride along."""
    extra = "&".join(item for item in settings_segment.split(";") if item)
    merged = QueryDict("&".join(part for part in (request.GET.urlencode(), extra) if part))
    request.GET = merged


def _tool_call_answer(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The call a model makes to the first tool it is offered, until a tool result arrives;
    every required argument gets a plain made-up value."""
    tools = payload.get("tools") or []
    answered = any(message.get("role") == "tool" for message in payload.get("messages") or [])
    if not tools or answered:
        return None
    function = tools[0].get("function", {})
    required = (function.get("parameters") or {}).get("required") or []
    return {"index": 0, "id": "call_lab_1", "type": "function",
            "function": {"name": function.get("name", "tool"), "arguments": json.dumps(dict.fromkeys(required, "A-1"))}}


def _tool_call_response(call: dict[str, Any], streaming: bool) -> HttpResponseBase:
    if not streaming:
        tool_calls = [{key: value for key, value in call.items() if key != "index"}]
        message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
        return JsonResponse({"id": "chatcmpl-lab", "object": "chat.completion", "model": "lab-model",
                             "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]})

    async def body() -> AsyncIterator[bytes]:
        delta = {"role": "assistant", "content": None, "tool_calls": [call]}
        for choice in ({"index": 0, "delta": delta, "finish_reason": None},
                       {"index": 0, "delta": {}, "finish_reason": "tool_calls"}):
            yield sse({"id": "chatcmpl-lab", "object": "chat.completion.chunk", "model": "lab-model",
                       "created": int(time.time()), "choices": [choice]})
        yield sse("[DONE]")

    return event_stream(body())


def _prompt_text(payload: dict[str, Any]) -> str:
    """The words the model was sent, so a caller can see whose conversation reached it."""
    parts = []
    for message in payload.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "\n".join(parts)[-4000:]


def _record_generation(tag: str, planned: int, payload: dict[str, Any]) -> dict[str, Any]:
    generation = {"tag": tag, "started": time.monotonic(), "ended": None, "planned": planned, "sent": 0,
                  "finished": "running", "prompt": _prompt_text(payload)}
    GENERATIONS.append(generation)
    return generation


@lab_view
async def openai_chat(request: HttpRequest, mode: str, settings_segment: str = "") -> HttpResponseBase:
    """POST {base}/lab/openai/<mode>/v1/chat/completions, as the OpenAI SDK sends it; or
    {base}/lab/openai/<mode>/<settings>/v1/chat/completions with settings in the path."""
    if mode not in OPENAI_MODES:
        raise BadParameter(f"mode must be one of {', '.join(OPENAI_MODES)}")
    apply_path_settings(request, settings_segment)
    payload = _request_json(request)
    chunks, delay = chunk_params(request)
    first = number(request, "first", 3.0 if mode == "slow-first" else 0.0, 0, 600)
    # Events per write: a flood for ingest benchmarks without one server write per event.
    batch = int(number(request, "batch", 1, 1, 1000))
    tag = request.GET.get("tag", "")[:80]
    streaming = bool(payload.get("stream", request.method == "GET"))
    if mode == "tool" and (call := _tool_call_answer(payload)):
        return _tool_call_response(call, streaming)
    # A real model's first token comes later the longer the prompt it reads: `per_kb`
    # seconds for each KiB of request, so a conversation that keeps growing slows down.
    first += number(request, "per_kb", 0, 0, 10) * len(request.body) / 1024
    # A model stops on "length" only when its cap falls short of the answer it has to give.
    finish = "stop"
    if mode == "length":
        cap = int(payload.get("max_tokens") or payload.get("max_completion_tokens") or 8)
        finish = "length" if cap < chunks else "stop"
        chunks = min(chunks, cap)
    if not streaming:
        # Not streaming: the whole answer as one JSON body, after the whole generation time
        # and `think` seconds more, as a reasoning model plans before it answers.
        await asyncio.sleep(first + chunks * delay + number(request, "think", 0, 0, 120))
        text = "".join(word(i) for i in range(chunks))
        return JsonResponse(
            {
                "id": "chatcmpl-lab", "object": "chat.completion", "model": "lab-model",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish}],
            }
        )
    include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
    generation = _record_generation(tag, chunks, payload)

    async def tokens() -> AsyncIterator[bytes]:
        await asyncio.sleep(first)
        pending: list[bytes] = []
        for index in range(chunks):
            if mode == "error" and index == chunks // 2:
                yield b"".join(pending) + sse({"error": {"message": "The lab model is overloaded, please retry.",
                                                          "type": "server_error", "code": "overloaded"}})
                return
            if mode == "drop" and index == chunks // 2:
                yield b"".join(pending)
                raise DroppedConnection("the lab model's connection dropped mid-stream")
            pending.append(openai_chunk(index, word(index)))
            generation["sent"] = index + 1
            if len(pending) >= batch:
                yield b"".join(pending)
                pending.clear()
                await asyncio.sleep(delay)
        if pending:
            yield b"".join(pending)
        yield openai_chunk(chunks, None, finish)
        if include_usage:
            yield sse({"id": "chatcmpl-lab", "object": "chat.completion.chunk", "model": "lab-model",
                       "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": chunks,
                                                "total_tokens": 12 + chunks}})
        yield sse("[DONE]")

    async def body() -> AsyncIterator[bytes]:
        # The server cancels this generator when the client goes away: "cancelled" then
        # records that the model stopped, with the time it did.
        outcome = "cancelled"
        try:
            async for piece in tokens():
                yield piece
            outcome = "completed"
        except DroppedConnection:
            outcome = "dropped"
            raise
        finally:
            generation["finished"] = outcome
            generation["ended"] = time.monotonic()

    return event_stream(body())


@lab_view
async def openai_generations(request: HttpRequest) -> JsonResponse:
    """What each streamed generation did (newest last; `tag` filters), with the server's
    monotonic clock: a client on this machine can tell when a stream stopped."""
    tag = request.GET.get("tag")
    chosen = [dict(g) for g in GENERATIONS if tag is None or g["tag"] == tag]
    return JsonResponse({"now": time.monotonic(), "generations": chosen})


EMBEDDING_DIMENSIONS = 8


def embedding_of(text: str) -> list[float]:
    """The same small vector for the same text, so an index built here can be searched."""
    digest = hashlib.sha256(text.encode()).digest()
    return [byte / 255 for byte in digest[:EMBEDDING_DIMENSIONS]]


@lab_view
async def openai_embeddings(request: HttpRequest, mode: str, settings_segment: str = "") -> JsonResponse:
    """POST .../v1/embeddings: deterministic vectors, so retrieval works against the lab."""
    texts = _request_json(request).get("input") or []
    texts = [texts] if isinstance(texts, str) else texts
    data = [{"object": "embedding", "index": index, "embedding": embedding_of(str(text))}
            for index, text in enumerate(texts)]
    return JsonResponse({"object": "list", "data": data, "model": "lab-embedding",
                         "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})


# --- collaborators ------------------------------------------------------------------------

SERVICE_ANSWER = {
    "summary": "A long-standing customer on the team plan.",
    "status": "shipped",
    "hits": [{"text": "Streams stop when a proxy closes an idle connection."}],
}


@lab_view
async def service(request: HttpRequest, settings_segment: str, rest: str = "") -> JsonResponse:
    """Any path under /lab/service/<settings>/: the services a sample calls (orders,
    profiles, reports) answered with one small JSON body after `delay` seconds."""
    apply_path_settings(request, settings_segment)
    await asyncio.sleep(number(request, "delay", 0, 0, 120))
    return JsonResponse({**SERVICE_ANSWER, "path": rest})


# --- Anthropic messages -------------------------------------------------------------------


@lab_view
async def anthropic_messages(request: HttpRequest) -> StreamingHttpResponse:
    """POST {base}/lab/anthropic/v1/messages: message_start ... message_stop, with pings."""
    payload = _request_json(request)
    chunks, delay = chunk_params(request)
    max_tokens = int(payload.get("max_tokens") or chunks)
    stop_reason = "max_tokens" if max_tokens < chunks else "end_turn"
    chunks = min(chunks, max_tokens)

    async def body() -> AsyncIterator[bytes]:
        yield sse({"type": "message_start", "message": {"id": "msg_lab", "type": "message", "role": "assistant",
                                                       "model": "lab-model", "content": [],
                                                       "usage": {"input_tokens": 12, "output_tokens": 0}}},
                  event="message_start")
        yield sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                  event="content_block_start")
        yield sse({"type": "ping"}, event="ping")
        for index in range(chunks):
            yield sse({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": word(index)}, "sent": time.monotonic()},
                      event="content_block_delta")
            await asyncio.sleep(delay)
        yield sse({"type": "content_block_stop", "index": 0}, event="content_block_stop")
        yield sse({"type": "message_delta", "delta": {"stop_reason": stop_reason},
                   "usage": {"output_tokens": chunks}}, event="message_delta")
        yield sse({"type": "message_stop"}, event="message_stop")

    return event_stream(body())


def endpoints(base: str) -> dict[str, Any]:
    """Every endpoint, by what it does, at this server's address (`base` ends in /lab/)."""
    return {
        "healthy SSE": f"{base}sse/healthy/?chunks=20&delay=0.05",
        "send-time clock (for timing accuracy)": f"{base}sse/clock/?chunks=100&delay=0.01",
        "buffered (a proxy holds everything)": f"{base}sse/buffered/?chunks=20&delay=0.05",
        "the whole answer in one event (the model was not asked to stream)": f"{base}sse/one-piece/",
        "idle gap, then a cut": f"{base}sse/idle-cut/?chunks=5&gap=3",
        "hard cut at a set time": f"{base}sse/hard-cut/?at=3",
        "serverless function stopped at its limit": f"{base}sse/serverless-cut/?at=3",
        "a gunicorn worker killed at its time limit": f"{base}sse/worker-timeout/?at=3",
        "a retried request whose two runs both stream": f"{base}sse/retried/?chunks=10&pause=1",
        "printed objects instead of text": f"{base}sse/object-reprs/",
        "HTTP 500: event loop is closed": f"{base}event-loop-closed/",
        "replicas taking turns, one broken": f"{base}sse/replicas/?replicas=2&broken=1",
        "no terminal event": f"{base}sse/no-terminal/",
        "odd bytes (NUL, escape sequences, not UTF-8)": f"{base}sse/odd-bytes/",
        "an error page relaying escape sequences": f"{base}sse/odd-bytes/?error=1",
        "gzip member per chunk": f"{base}sse/gzip/",
        "Content-Length mismatch": f"{base}content-length-mismatch/",
        "NDJSON": f"{base}ndjson/",
        "OpenAI-compatible (POST)": {mode: f"{base}openai/{mode}/v1/chat/completions" for mode in OPENAI_MODES},
        "OpenAI-compatible, settings in the path (POST)": (
            f"{base}openai/healthy/chunks=40;delay=0.1/v1/chat/completions"
        ),
        "what each OpenAI-compatible generation did": f"{base}openai/generations/",
        "a service a sample calls": f"{base}service/delay=1/orders/A-1",
        "Anthropic messages (POST)": f"{base}anthropic/v1/messages",
        "WebSocket": base.replace("http", "ws", 1) + "ws/",
    }


def index(request: HttpRequest) -> HttpResponse:
    """The lab's page: every demo with what its verdict should be and a button that runs it,
    then every endpoint. A program asking for JSON (Accept, or ?format=json) gets the
    endpoints as JSON, as before."""
    if not settings.LAB_ENABLED:
        raise Http404("The lab is turned off on this server.")
    listed = endpoints(request.build_absolute_uri("/lab/"))
    accepts = request.headers.get("Accept", "")
    if request.GET.get("format") == "json" or ("application/json" in accepts and "text/html" not in accepts):
        return JsonResponse(listed, json_dumps_params={"indent": 2})
    flat = [(name, url) for name, url in listed.items() if isinstance(url, str)]
    flat += [(f"{name}: {mode}", url) for name, urls in listed.items() if isinstance(urls, dict)
             for mode, url in urls.items()]
    demos = [(demo, KINDS[demo.kind].title) for demo in DEMOS]
    return render(request, "lab/index.html", {"demos": demos, "endpoints": flat})

"""The platform defaults table marks which defaults this project reproduced itself. Each one so
marked is shown here, against a local nginx or from the installed library; the rest say that
only the vendor's documentation vouches for them."""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import django.conf
import pytest
from daphne.cli import CommandLineInterface
from django.http import StreamingHttpResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from uvicorn import Config

from troubleshooter.guides import proving
from troubleshooter.guides.content import get_library

EVENTS = 5
EVENT_GAP = 0.2


# --- the table and its marks ----------------------------------------------------------------

# (platform id, setting name) -> the test below that shows that default.
SHOWN_BY = {
    ("nginx", "proxy_buffering"): "test_nginx_with_no_proxy_settings_holds_a_slow_stream_asks_in_http_1_0_and_does_not_compress",
    ("nginx", "proxy_http_version"): "test_nginx_with_no_proxy_settings_holds_a_slow_stream_asks_in_http_1_0_and_does_not_compress",
    ("nginx", "gzip"): "test_nginx_with_no_proxy_settings_holds_a_slow_stream_asks_in_http_1_0_and_does_not_compress",
    ("nginx", "proxy_buffer_size"): "test_nginx_with_no_proxy_settings_passes_a_long_slow_stream_on_one_memory_page_at_a_time",
    ("nginx", "proxy_read_timeout"): "test_nginx_with_no_proxy_settings_ends_a_stream_60_s_after_the_apps_last_byte",
    ("uvicorn", "--timeout-keep-alive"): "test_uvicorn_keeps_idle_connections_5_s_runs_one_worker_and_admits_any_number",
    ("uvicorn", "--workers"): "test_uvicorn_keeps_idle_connections_5_s_runs_one_worker_and_admits_any_number",
    ("uvicorn", "--limit-concurrency"): "test_uvicorn_keeps_idle_connections_5_s_runs_one_worker_and_admits_any_number",
    ("daphne", "--http-timeout"): "test_daphne_puts_no_limit_on_a_response",
    ("django", "GZipMiddleware"): "test_a_new_django_project_has_no_gzip_middleware",
    ("django", "StreamingHttpResponse iterator under ASGI"): "test_django_under_asgi_drains_a_sync_generator_before_the_first_chunk",
    ("starlette", "GZipMiddleware minimum_size"): "test_starlette_gzip_starts_at_500_bytes_and_leaves_event_streams_alone",
    ("starlette", "thread pool for synchronous code (AnyIO default limiter)"): "test_anyio_runs_sync_code_on_40_threads",
}


def test_every_default_marked_shown_has_the_test_that_shows_it_and_no_other_is_marked():
    marked = {
        (platform.id, setting.name)
        for platform in get_library().platforms.values()
        for setting in platform.settings
        if setting.shown
    }
    assert marked == set(SHOWN_BY)
    assert all(callable(globals().get(name)) for name in SHOWN_BY.values())


def test_the_page_says_which_defaults_were_shown_here_and_which_are_only_documented(client):
    html = client.get("/platforms/").content.decode()
    assert html.count("Shown here:") == len(SHOWN_BY)
    assert "As documented; not run here." in html
    aws = html[html.index('id="aws-alb"') : html.index("</section>", html.index('id="aws-alb"'))]
    assert "Shown here" not in aws  # a managed load balancer cannot run on one machine


# --- nginx -----------------------------------------------------------------------------------


class SlowEventStream:
    """An app that answers any request with a few events, a fifth of a second apart, and
    remembers how it was asked and when it sent the last event."""

    def __init__(self) -> None:
        self.request_line = b""
        self.last_event_sent = 0.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.request_line = head.split(b"\r\n", 1)[0]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        for index in range(EVENTS):
            writer.write(f"data: {index}\n\n".encode())
            await writer.drain()
            self.last_event_sent = time.monotonic()
            await asyncio.sleep(EVENT_GAP)
        writer.close()


async def _through_default_nginx(workdir: Path) -> tuple[SlowEventStream, float, bytes]:
    app = SlowEventStream()
    upstream = await asyncio.start_server(app.handle, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    async with upstream, proving.nginx_in_front("buffering", SimpleNamespace(port=port), workdir) as nginx:  # type: ignore[arg-type]
        reader, writer = await asyncio.open_connection("127.0.0.1", nginx.port)
        writer.write(b"GET /chat HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.read(1)  # the first byte of the body
        first_byte = time.monotonic()
        await reader.read()
        writer.close()
    return app, first_byte, head


def test_nginx_with_no_proxy_settings_holds_a_slow_stream_asks_in_http_1_0_and_does_not_compress(tmp_path):
    if proving.nginx_binary() is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx package")
    app, first_byte, head = asyncio.run(_through_default_nginx(tmp_path))
    # proxy_buffering on: nothing reached the client until the app had written every event.
    assert first_byte >= app.last_event_sent
    # proxy_http_version 1.0
    assert app.request_line.endswith(b"HTTP/1.0")
    # gzip off, although the client asked for it
    assert b"content-encoding" not in head.lower()


LONG_STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


async def _long_stream_through_default_nginx(workdir: Path) -> tuple[bytes, float, float]:
    """About 29 KB of small events, 10 ms apart, through nginx with no proxy settings: the raw
    chunked body the client got, when its first byte came and when the app sent its last."""
    event = b"data: " + b"x" * 90 + b"\n\n"
    sent_last = 0.0

    async def many_small_events(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent_last
        await reader.readuntil(b"\r\n\r\n")
        writer.write(LONG_STREAM_HEAD)
        for _ in range(300):
            writer.write(event)
            await writer.drain()
            await asyncio.sleep(0.01)
        sent_last = time.monotonic()
        writer.close()

    upstream = await asyncio.start_server(many_small_events, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    async with upstream, proving.nginx_in_front("buffering", SimpleNamespace(port=port), workdir) as nginx:  # type: ignore[arg-type]
        reader, writer = await asyncio.open_connection("127.0.0.1", nginx.port)
        writer.write(b"GET /chat HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        body = await reader.read(1)
        first_byte = time.monotonic()
        body += await reader.read()
        writer.close()
    return body, first_byte, sent_last


def chunk_sizes(body: bytes) -> list[int]:
    """The sizes of a chunked body's chunks, in order, the closing empty one left out."""
    sizes = []
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        sizes.append(size)
        body = body[size + 2:]
    return sizes


def test_nginx_with_no_proxy_settings_passes_a_long_slow_stream_on_one_memory_page_at_a_time(tmp_path):
    if proving.nginx_binary() is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx package")
    body, first_byte, sent_last = asyncio.run(_long_stream_through_default_nginx(tmp_path))
    sizes = chunk_sizes(body)
    assert sum(sizes) == 300 * 98  # nothing lost
    # proxy_buffer_size defaults to one memory page, and the first page also held the app's
    # response headers: every chunk but the last fills one page.
    page = os.sysconf("SC_PAGE_SIZE")
    assert len(sizes) >= 7
    assert sizes[0] == page - len(LONG_STREAM_HEAD) and set(sizes[1:-1]) == {page}
    assert first_byte < sent_last - 1  # bursts while the app still streams, not one at the end


async def _quiet_stream_through_default_nginx(workdir: Path) -> tuple[float, Path]:
    async def one_event_then_silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: thinking\n\n")
        await writer.drain()
        await reader.read()  # quiet until nginx gives up and closes its side

    upstream = await asyncio.start_server(one_event_then_silence, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    async with upstream, proving.nginx_in_front("buffering", SimpleNamespace(port=port), workdir) as nginx:  # type: ignore[arg-type]
        reader, writer = await asyncio.open_connection("127.0.0.1", nginx.port)
        sent = time.monotonic()
        writer.write(b"GET /chat HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await asyncio.wait_for(reader.read(), timeout=120)  # everything, until nginx closes
        ended = time.monotonic() - sent
        writer.close()
    return ended, nginx.log.parent / "error.log"


def test_nginx_with_no_proxy_settings_ends_a_stream_60_s_after_the_apps_last_byte(tmp_path):
    # A minute of the suite's time: the default itself is what is being shown.
    if proving.nginx_binary() is None:
        pytest.fail("nginx is missing: `make test` installs Debian's nginx package")
    ended, error_log = asyncio.run(_quiet_stream_through_default_nginx(tmp_path))
    assert 59 <= ended <= 65
    assert "upstream timed out (110: Connection timed out) while reading upstream" in error_log.read_text()


# --- Python servers and frameworks -----------------------------------------------------------


def test_uvicorn_keeps_idle_connections_5_s_runs_one_worker_and_admits_any_number(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = Config("troubleshooter.asgi:application")
    assert config.timeout_keep_alive == 5
    assert config.workers == 1
    assert config.limit_concurrency is None


def test_daphne_puts_no_limit_on_a_response():
    arguments = CommandLineInterface().parser.parse_args(["troubleshooter.asgi:application"])
    assert arguments.http_timeout is None


def test_a_new_django_project_has_no_gzip_middleware():
    template = Path(django.conf.__file__).parent / "project_template" / "project_name" / "settings.py-tpl"
    settings = template.read_text()
    assert "MIDDLEWARE = [" in settings
    assert "GZipMiddleware" not in settings


def test_django_under_asgi_drains_a_sync_generator_before_the_first_chunk():
    produced: list[int] = []

    def tokens():
        for index in range(3):
            produced.append(index)
            yield f"token {index}\n"

    async def first_chunk() -> Any:
        response = StreamingHttpResponse(tokens())
        async for chunk in response:
            return chunk

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chunk = asyncio.run(first_chunk())
    assert chunk == b"token 0\n"
    assert produced == [0, 1, 2]  # every token was made before the first one was handed on
    assert any("must consume synchronous iterators" in str(w.message) for w in caught)


def test_starlette_gzip_starts_at_500_bytes_and_leaves_event_streams_alone():
    async def events():
        yield "data: " + "x" * 2000 + "\n\n"

    app = Starlette(
        routes=[
            Route("/small", lambda request: PlainTextResponse("x" * 400)),
            Route("/large", lambda request: PlainTextResponse("x" * 600)),
            Route("/events", lambda request: StreamingResponse(events(), media_type="text/event-stream")),
            Route("/events-as-text", lambda request: StreamingResponse(events(), media_type="text/plain")),
        ],
        middleware=[Middleware(GZipMiddleware)],
    )
    with TestClient(app) as client:
        asked = {"Accept-Encoding": "gzip"}
        assert "content-encoding" not in client.get("/small", headers=asked).headers
        large = client.get("/large", headers=asked)
        assert large.headers["content-encoding"] == "gzip" and large.text == "x" * 600
        assert "content-encoding" not in client.get("/events", headers=asked).headers
        # The same events sent with another type are compressed like any body.
        assert client.get("/events-as-text", headers=asked).headers["content-encoding"] == "gzip"


def test_anyio_runs_sync_code_on_40_threads():
    async def limit() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(limit) == 40

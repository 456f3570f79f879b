"""An httpcore network backend on plain asyncio transports.

httpcore's own backend goes through anyio, which opens a cancel scope and checks the
running async library on every read: about half of what a read of one small event costs
the probe. With a hundred streams whose events arrive together, the last one read is
stamped late by the sum of the others' reads, and that sum is the timing error the probe
reports; a busy server process running hundreds of experiments pays it on every chunk.
Here the event loop's protocol callbacks fill a buffer, and a read takes what is there or
waits for the next callback, with a timer only when httpcore asks for one.

Errors are httpcore's (ConnectError, ReadError, ...) with the operating system's error as
their cause, as the anyio backend raises them, so the engine reads endings the same way.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore

# Reading pauses when this much arrived unread (a reader far behind a flood), and resumes
# below the lower mark, so memory stays bounded without slowing a reader that keeps up.
PAUSE_READING_BYTES = 4 * 1024 * 1024
RESUME_READING_BYTES = 1024 * 1024


class _BufferedProtocol(asyncio.Protocol):
    """What the event loop delivers for one connection, kept until it is read."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > PAUSE_READING_BYTES and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close its side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_writer()

    def _wake_reader(self) -> None:
        waiter, self._data_waiter = self._data_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_for_data(self) -> None:
        self._data_waiter = asyncio.get_running_loop().create_future()
        await self._data_waiter

    async def wait_until_writable(self) -> None:
        if self._writing_paused and not self.eof:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _BufferedProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            try:
                if timeout is None:
                    await protocol.wait_for_data()
                else:
                    async with asyncio.timeout(timeout):
                        await protocol.wait_for_data()
            except TimeoutError:
                raise httpcore.ReadTimeout(f"no data within {timeout:g} s") from None
        if not protocol.chunks:
            if protocol.error is not None:
                raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__) from protocol.error
            return b""  # the peer closed its side
        data = _take(protocol.chunks, max_bytes)
        protocol.buffered -= len(data)
        if protocol.reading_paused and protocol.buffered < RESUME_READING_BYTES:
            protocol.reading_paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._protocol.eof or self._transport.is_closing():
            error = self._protocol.error
            raise httpcore.WriteError(str(error) if error else "the connection is closed") from error
        self._transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await self._protocol.wait_until_writable()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send within {timeout:g} s") from None

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout(f"the TLS handshake took longer than {timeout:g} s") from None
        except (OSError, ssl.SSLError, ConnectionError) as error:
            self._transport.abort()
            raise httpcore.ConnectError(str(error)) from error
        if transport is None:  # pragma: no cover - only for a transport closed mid-handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            # Anything arrived on an idle connection (data or its close) means it cannot be reused.
            return bool(self._protocol.chunks) or self._protocol.eof
        return None


def _take(chunks: deque[bytes], max_bytes: int) -> bytes:
    """Up to max_bytes of what arrived, as one piece, as a socket read would return it."""
    first = chunks.popleft()
    if len(first) >= max_bytes or not chunks:
        if len(first) > max_bytes:
            chunks.appendleft(first[max_bytes:])
            return first[:max_bytes]
        return first
    pieces, size = [first], len(first)
    while chunks and size < max_bytes:
        piece = chunks.popleft()
        if size + len(piece) > max_bytes:
            chunks.appendleft(piece[max_bytes - size :])
            piece = piece[: max_bytes - size]
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _BufferedProtocol, host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout:g} s") from None
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the probe")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

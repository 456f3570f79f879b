"""The asyncio network backend under httpcore: bytes in order and whole, bounded memory for
a reader that falls behind, and httpcore's errors for timeouts and resets."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque

import httpcore
import pytest

from troubleshooter.probe.transport import PAUSE_READING_BYTES, AsyncioBackend, _take


async def serve(handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_read_takes_what_arrived_up_to_its_size_and_keeps_the_rest_in_order():
    chunks = deque([b"abc", b"defg", b"h"])
    assert _take(chunks, 5) == b"abcde"
    assert _take(chunks, 1) == b"f"
    assert _take(chunks, 100) == b"gh"
    assert not chunks


def test_a_reader_that_falls_behind_pauses_the_connection_and_gets_every_byte_in_order():
    payload = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # 12 MiB, three times the pause mark

    async def scenario() -> tuple[bytes, int]:
        async def send_all(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(payload)
            await writer.drain()
            writer.close()

        server, port = await serve(send_all)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await asyncio.sleep(0.5)  # let it pile up unread
            most_buffered = stream._protocol.buffered
            received = bytearray()
            while piece := await stream.read(65536, timeout=5):
                received += piece
            await stream.aclose()
            return bytes(received), most_buffered

    received, most_buffered = asyncio.run(scenario())
    assert received == payload
    assert most_buffered <= PAUSE_READING_BYTES + 512 * 1024  # paused, give or take one delivery


def test_no_data_within_the_read_timeout_is_a_read_timeout():
    async def scenario() -> None:
        async def stay_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(1)
            writer.close()

        server, port = await serve(stay_silent)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(1024, timeout=0.1)
            await stream.aclose()

    asyncio.run(scenario())


def test_a_reset_connection_is_a_read_error_caused_by_the_reset():
    async def scenario() -> None:
        async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"partial")
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

        server, port = await serve(reset)
        async with server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await asyncio.sleep(0.2)
            assert await stream.read(1024, timeout=5) == b"partial"
            with pytest.raises(httpcore.ReadError) as raised:
                await stream.read(1024, timeout=5)
            assert isinstance(raised.value.__cause__, ConnectionResetError)
            await stream.aclose()

    asyncio.run(scenario())


def test_nothing_listening_is_a_connect_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused

        async def scenario() -> None:
            with pytest.raises(httpcore.ConnectError) as raised:
                await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            assert isinstance(raised.value.__cause__, ConnectionRefusedError)

        asyncio.run(scenario())

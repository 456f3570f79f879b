"""A lean loopback server for the probe benchmarks, so that what is measured is the reader
and not the server.

    python bench/flood.py PORT

- `/clock/?chunks=N&delay=D`: N SSE events D seconds apart, each holding the server's
  monotonic clock read just before its bytes are written, as the lab's clock stream does;
  the lab's stream goes through Django and Daphne first, so with 100 streams its stamps
  also carry the server's own queueing, which is not the reader's lateness.
- anything else, `?events=N` (default 100,000): a flood of OpenAI-style chat chunks (the
  lab's fields and sizes, without its per-chunk clock), rendered once and written 64 KiB
  at a time as fast as loopback takes them, then the finish chunk and `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import parse_qs, urlsplit

WORDS = "Streams fail in quiet ways: a proxy holds the bytes, a timer closes an idle connection".split()
WRITE_BYTES = 64 * 1024


def chunk(index: int, text: str | None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    payload = {
        "id": "chatcmpl-flood", "object": "chat.completion.chunk", "created": 1767225600, "model": "lab-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "seq": index,
    }
    return f"data: {json.dumps(payload)}\n\n".encode()


def rendered(events: int) -> list[bytes]:
    """The body as HTTP chunks of about WRITE_BYTES each."""
    body = b"".join(chunk(i, WORDS[i % len(WORDS)] + " ") for i in range(events))
    body += chunk(events, None, "stop") + b"data: [DONE]\n\n"
    pieces = [body[start:start + WRITE_BYTES] for start in range(0, len(body), WRITE_BYTES)]
    return [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]


_cache: dict[int, list[bytes]] = {}


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        target = request_line.split(" ")[1]
        length = next((int(line.split(":", 1)[1]) for line in header_lines
                       if line.lower().startswith("content-length:")), 0)
        if length:
            await reader.readexactly(length)
        query = parse_qs(urlsplit(target).query)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        if target.startswith("/clock/"):
            await clock(writer, int(query.get("chunks", ["100"])[0]), float(query.get("delay", ["0.05"])[0]))
            return
        events = int(query.get("events", ["100000"])[0])
        if events not in _cache:
            _cache[events] = rendered(events)
        for piece in _cache[events]:
            writer.write(piece)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def clock(writer: asyncio.StreamWriter, chunks: int, delay: float) -> None:
    for _ in range(chunks):
        event = f"data: {time.monotonic():.9f}\n\n".encode()
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        await writer.drain()
        await asyncio.sleep(delay)
    done = b"event: done\ndata: {}\n\n"
    writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
    await writer.drain()


async def serve(port: int) -> None:
    server = await asyncio.start_server(answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))

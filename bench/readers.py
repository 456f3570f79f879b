"""Two stream readers a person might write by hand, as the baselines `cli_bench.py` times
the probe command against. Each is run as a whole process of its own:

    python bench/readers.py vllm URL BODY     # aiohttp, iter_any, split on blank lines
    python bench/readers.py httpx URL BODY    # httpx line loop with json.loads

Both print the number of content events they read.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def vllm_style(url: str, body: dict) -> int:
    """In the manner of vLLM's benchmark client: raw pieces as they come, split into
    messages on blank lines, a perf_counter stamp and json.loads for each message."""
    import aiohttp

    count = 0
    stamps: list[float] = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        async with session.post(url, json=body) as response:
            buffer = b""
            async for piece in response.content.iter_any():
                buffer += piece
                while b"\n\n" in buffer:
                    message, buffer = buffer.split(b"\n\n", 1)
                    message = message.strip()
                    if not message.startswith(b"data: "):
                        continue
                    data = message[6:]
                    if data == b"[DONE]":
                        continue
                    stamps.append(time.perf_counter())
                    payload = json.loads(data)
                    if payload["choices"] and payload["choices"][0]["delta"].get("content"):
                        count += 1
    return count


async def httpx_lines(url: str, body: dict) -> int:
    """A bare httpx loop: lines, and json.loads for each data line."""
    import httpx

    count = 0
    async with httpx.AsyncClient(timeout=300, trust_env=False) as client:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    payload = json.loads(line[6:])
                    if payload["choices"] and payload["choices"][0]["delta"].get("content"):
                        count += 1
    return count


READERS = {"vllm": vllm_style, "httpx": httpx_lines}

if __name__ == "__main__":
    reader, url, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    print(asyncio.run(READERS[reader](url, body)))

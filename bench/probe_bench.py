"""Probe benchmarks: timing accuracy and ingest speed, against the app's own lab.

    .venv/bin/python bench/probe_bench.py [--streams 100] [--flood 200000]

Starts the app with Daphne on a free loopback port and measures:

- timing accuracy: the lab's clock stream sends the server's monotonic time in every event;
  the probe's receive time minus that send time (same machine, same clock) is its lag,
  for one stream alone and for --streams at once, each over --timing-rounds rounds; the
  round with the median p99 is shown, with every round's p99 next to it, so that one round
  disturbed by something else on the machine neither hides nor makes the figure;
- ingest: OpenAI-style events per second parsed by the probe from a flood, as a ratio to
  a bare httpx loop that reads lines and json-decodes each event, same endpoint, same run.
  The server writes the flood at a rate of its own, and a client that keeps up only sees
  that rate; so this process's CPU time per event is printed for both as well, which shows
  how far each one is from falling behind.

Goals: lag p99 under 2 ms alone and under 20 ms at 100 streams; ingest ratio at least 1.0.
It prints figures, never asserts them.

Where the machine has two cores or more, the server runs pinned to one core and this
process (probe and baseline alike) to another, so that the server's work for 100 streams
and the client's reads do not take turns on one core: closer to a server on a host of its
own, which is what the probe meets in use. On a machine busy with other work, a pinned
process cannot move away from that work and the figures can be worse than floating;
--no-pin measures the floating setup, and comparing both shows which case a run is in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from troubleshooter.probe import Limits, ProbeSpec, Record, run_probe  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def split_cores(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """One core for the server, another for this process, or (None, None)."""
    cores = sorted(os.sched_getaffinity(0)) if pin and hasattr(os, "sched_setaffinity") else []
    if len(cores) < 2:
        return None, None
    return {cores[0]}, {cores[1]}


def start_app(workdir: Path, server_cores: set[int] | None) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "troubleshooter.settings",
        "SECRET_KEY": "benchmark-only",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "LAB_ENABLED": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "troubleshooter.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Set before exec, so that every thread the server starts inherits it.
        preexec_fn=(lambda: os.sched_setaffinity(0, server_cores)) if server_cores else None,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz/", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the app did not start")


def lags_ms(record: Record) -> list[float]:
    return [
        (record.started_monotonic + event.t - float(event.text)) * 1000
        for event in record.events
        if event.kind == "content"
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timing(base: str, streams: int, chunks: int, delay: float) -> list[float]:
    spec = ProbeSpec(url=f"{base}/lab/sse/clock/?chunks={chunks}&delay={delay}")
    limits = Limits(total_seconds=120)
    records = await asyncio.gather(*(run_probe(spec, limits) for _ in range(streams)))
    return [lag for record in records for lag in lags_ms(record)]


async def probe_ingest(url: str, body: dict) -> tuple[int, float]:
    spec = ProbeSpec(url=url, method="POST", json_body=body, format="openai")
    record = await run_probe(spec, Limits(total_seconds=300, max_events=10_000_000, max_bytes=2**31))
    content = sum(1 for event in record.events if event.kind == "content")
    return content, record.ending.t if record.ending else 0.0


async def bare_ingest(url: str, body: dict) -> tuple[int, float]:
    """The baseline: what a hand-written client does, with nothing recorded."""
    count = 0
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=300, trust_env=False) as client:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    payload = json.loads(line[6:])
                    if payload["choices"] and payload["choices"][0]["delta"].get("content"):
                        count += 1
    return count, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--flood", type=int, default=200_000, help="events in the ingest flood")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds, alternating probe and baseline")
    parser.add_argument("--timing-rounds", type=int, default=3, help="timing rounds for each stream count")
    parser.add_argument("--no-pin", action="store_true", help="let the server and the client share all cores")
    args = parser.parse_args()

    server_cores, client_cores = split_cores(not args.no_pin)
    if client_cores:
        os.sched_setaffinity(0, client_cores)
        print(f"server pinned to core {min(server_cores)}, probe and baseline to core {min(client_cores)}")
    else:
        print("server and client share the cores (not pinned)")
    with tempfile.TemporaryDirectory() as workdir:
        server, base = start_app(Path(workdir), server_cores)
        try:
            alone = [asyncio.run(timing(base, 1, 500, 0.01)) for _ in range(args.timing_rounds)]
            many = [asyncio.run(timing(base, args.streams, 100, 0.05)) for _ in range(args.timing_rounds)]
            print(f"timing accuracy: receive minus send, loopback, median of {args.timing_rounds} rounds by p99")
            for label, rounds in (("1 stream", alone), (f"{args.streams} streams", many)):
                p99s = [percentile(lags, 0.99) for lags in rounds]
                lags = rounds[p99s.index(statistics.median_low(p99s))]
                print(
                    f"  {label:>12}: {len(lags)} events, p50 {percentile(lags, 0.5):.3f} ms, "
                    f"p99 {percentile(lags, 0.99):.3f} ms, max {max(lags):.3f} ms "
                    f"(p99 of each round: {', '.join(f'{p99:.1f}' for p99 in p99s)} ms)"
                )

            url = f"{base}/lab/openai/healthy/v1/chat/completions?chunks={args.flood}&delay=0&batch=500"
            body = {"model": "lab-model", "stream": True, "messages": [{"role": "user", "content": "flood"}]}
            probe_rates, bare_rates, probe_cpu, bare_cpu = [], [], [], []
            for _ in range(args.rounds):
                cpu = time.process_time()
                count, seconds = asyncio.run(probe_ingest(url, body))
                probe_cpu.append((time.process_time() - cpu) / count * 1e6)
                probe_rates.append(count / seconds)
                cpu = time.process_time()
                count_bare, seconds_bare = asyncio.run(bare_ingest(url, body))
                bare_cpu.append((time.process_time() - cpu) / count_bare * 1e6)
                bare_rates.append(count_bare / seconds_bare)
                assert count == count_bare == args.flood, (count, count_bare)
            probe_rate, bare_rate = statistics.median(probe_rates), statistics.median(bare_rates)
            print(f"ingest: {args.flood} OpenAI-style events, median of {args.rounds} rounds")
            print(f"  probe           : {probe_rate:,.0f} events/s, {statistics.median(probe_cpu):.2f} us CPU per event")
            print(
                f"  bare httpx loop : {bare_rate:,.0f} events/s, {statistics.median(bare_cpu):.2f} us CPU per event"
                " (baseline)"
            )
            print(f"  ratio           : {probe_rate / bare_rate:.2f}")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()

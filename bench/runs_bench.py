"""Live-run benchmark: many experiments at once, each watched over its websocket.

    .venv/bin/python bench/runs_bench.py [--runs 100] [--chunks 200] [--delay 0.05]

Starts two Daphne processes on free loopback ports: the app under test (the embedded
default: SQLite and the in-memory channel layer), and a second copy that only serves the
lab stream the experiments read, so the process measured does only the work of runs and
viewers. The app under test samples its own event loop: a task sleeps 10 ms over and over
and records how late it wakes (the lag every other coroutine in that process suffers).

Two phases, the same in all but size, so the figures have a baseline from the same run:
one run with one viewer, then --runs runs with a viewer each, all started at once.
For each phase it prints: runs completed and their outcomes, event-loop lag p50/p99/max,
resident memory growth per run, and websocket messages per second to each viewer.
It prints figures, never asserts them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import RUN_FORM, app_environment, csrf_token, daphne, manage, percentile  # noqa: E402

SAMPLE_SECONDS = 0.01


# --- the server side: Daphne in this process, with a loop-lag sampler -----------------


def serve(port: int, lag_file: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import daphne.server  # noqa: F401  (installs the asyncio reactor Daphne runs on)
    from daphne.cli import CommandLineInterface
    from twisted.internet import reactor

    samples: list[tuple[float, float]] = []

    async def sample() -> None:
        last_write = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(SAMPLE_SECONDS)
            now = time.monotonic()
            samples.append((now, now - before - SAMPLE_SECONDS))
            if now - last_write > 0.5:
                lag_file.write_text(json.dumps(samples))
                last_write = now

    reactor.callWhenRunning(lambda: asyncio.get_event_loop().create_task(sample()))
    CommandLineInterface().run(["-b", "127.0.0.1", "-p", str(port), "troubleshooter.asgi:application"])


# --- the client side ---------------------------------------------------------------------


def server_environment(workdir: Path, name: str) -> dict[str, str]:
    env = app_environment(
        workdir, DATABASE_URL=f"sqlite:///{workdir / (name + '.sqlite3')}", LAB_ENABLED="1", LOG_LEVEL="WARNING",
        RUNS_MAX_ACTIVE="10000", RUNS_MAX_ACTIVE_PER_CLIENT="10000",
    )
    if manage(env, "migrate", "--noinput", "-v", "0").returncode:
        raise SystemExit(f"{name}: migrate failed")
    return env


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


async def start_runs(base: str, target: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = csrf_token((await client.get("/runs/new/")).text)
        data = {**RUN_FORM, "csrfmiddlewaretoken": token, "url": target, "format": "sse", "total_seconds": "120"}

        async def one() -> str:
            response = await client.post("/runs/new/", data=data)
            if response.status_code != 302:
                raise SystemExit(f"starting a run failed: HTTP {response.status_code}")
            return response.headers["location"]

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def view(base: str, run_path: str) -> dict[str, Any]:
    """One viewer, as the page's socket: from the start until the server closes it."""
    url = base.replace("http", "ws", 1) + run_path + "ws/?after=0"
    messages, started = 0, time.monotonic()
    try:
        async with websockets.connect(url, origin=base, max_size=None, open_timeout=60) as socket_:
            async for _ in socket_:
                messages += 1
    except (websockets.ConnectionClosedError, websockets.InvalidHandshake, OSError, TimeoutError):
        # An overloaded server drops sockets (Daphne closes one not accepted within 5 s):
        # counted, not fatal, so the figures show it.
        return {"messages": messages, "seconds": time.monotonic() - started, "dropped": True}
    return {"messages": messages, "seconds": time.monotonic() - started, "dropped": False}


async def phase(base: str, target: str, runs: int, server_pid: int) -> dict[str, Any]:
    rss_before = resident_kib(server_pid)
    peak = rss_before
    started = time.monotonic()
    paths = await start_runs(base, target, runs)
    viewers = asyncio.gather(*(view(base, path) for path in paths))
    while not viewers.done():
        peak = max(peak, resident_kib(server_pid))
        await asyncio.sleep(0.2)
    seen = viewers.result()
    ended = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        outcomes = [(await client.get(path + "json/")).json() for path in paths]
    return {
        "runs": runs,
        "window": (started, ended),
        "seconds": ended - started,
        "finished": sum(1 for o in outcomes if o["state"] == "finished"),
        "outcomes": statistics.multimode([o["outcome"] for o in outcomes]),
        "rss_growth_kib": peak - rss_before,
        "messages_per_second": statistics.median(v["messages"] / v["seconds"] for v in seen),
        "messages_per_viewer": statistics.median(v["messages"] for v in seen),
        "viewers_dropped": sum(v["dropped"] for v in seen),
    }


def lag_in(window: tuple[float, float], lag_file: Path) -> list[float]:
    samples = json.loads(lag_file.read_text())
    return sorted(lag * 1000 for at, lag in samples if window[0] <= at <= window[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200, help="events in each run's stream")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between them")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--lag-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.lag_file)
        return

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        workdir = Path(tmp)
        lag_file = workdir / "lag.json"
        _lab, lab_base = servers.enter_context(daphne(server_environment(workdir, "lab"), workdir / "lab.log"))
        app, app_base = servers.enter_context(daphne(
            server_environment(workdir, "app"), workdir / "app.log",
            command=[sys.executable, str(Path(__file__).resolve()), "--lag-file", str(lag_file), "--serve"],
        ))
        target = f"{lab_base}/lab/sse/healthy/?chunks={args.chunks}&delay={args.delay}"
        results = []
        for runs in (1, args.runs):
            result = asyncio.run(phase(app_base, target, runs, app.pid))
            time.sleep(1.0)  # let the sampler write the window out
            lags = lag_in(result["window"], lag_file)
            result.update(lag_p50=percentile(lags, 0.5), lag_p99=percentile(lags, 0.99), lag_max=lags[-1])
            results.append(result)

    print(f"live runs: each reads {args.chunks} SSE events {args.delay:g} s apart; one viewer per run")
    for result in results:
        print(
            f"  {result['runs']:>4} at once: {result['finished']}/{result['runs']} finished ({', '.join(result['outcomes'])}) "
            f"in {result['seconds']:.1f} s; loop lag p50 {result['lag_p50']:.2f} ms, p99 {result['lag_p99']:.2f} ms, "
            f"max {result['lag_max']:.1f} ms; memory +{result['rss_growth_kib'] / result['runs']:.0f} KiB per run; "
            f"{result['messages_per_second']:.1f} messages/s to each viewer ({result['messages_per_viewer']:.0f} in all); "
            f"{result['viewers_dropped']} viewers dropped"
        )
    alone, many = results
    print(
        f"  ratios, {many['runs']} runs vs 1: loop lag p99 x{many['lag_p99'] / max(alone['lag_p99'], 1e-6):.1f}, "
        f"messages/s per viewer x{many['messages_per_second'] / alone['messages_per_second']:.2f}, "
        f"wall time x{many['seconds'] / alone['seconds']:.2f}"
    )


if __name__ == "__main__":
    main()

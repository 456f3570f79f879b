"""Probe benchmarks: timing accuracy, ingest speed, the report, and the probe command as
a whole process, against the app's own lab.

    .venv/bin/python bench/probe_bench.py [--streams 100] [--flood 200000] [--cli-flood 90000]

Starts the app with Daphne on a free loopback port and measures:

- timing accuracy: the lab's clock stream sends the server's monotonic time in every event;
  the probe's receive time minus that send time (same machine, same clock) is its lag,
  for one stream alone and for --streams at once, each over --timing-rounds rounds; the
  round with the median p99 is shown, with every round's p99 next to it, so that one round
  disturbed by something else on the machine neither hides nor makes the figure;
- ingest: OpenAI-style events per second parsed by the probe from a flood, as a ratio to
  a bare httpx loop that reads lines and json-decodes each event, same endpoint, same run.
  The flood comes from bench/flood.py, which writes pre-rendered chunks as fast as loopback
  takes them, so each reader's rate is its own (the lab's endpoint renders every chunk and
  would set the pace for both); this process's CPU time per event is printed as well;
- the report: building the JSON of an experiment whose record holds --report-events events
  (measured from a real flood), and the memory each kept event costs while probing;
- the probe command as a person runs it, a whole process from start to printed report, on
  --cli-flood OpenAI-style events from the same flood server, against two readers written by hand and also run as
  whole processes (bench/readers.py): one in the manner of vLLM's benchmark client (aiohttp,
  pieces split on blank lines, perf_counter and json.loads per message) and a bare httpx
  line loop with json.loads.

Goals: lag p99 under 2 ms alone and under 10 ms at 100 streams; ingest ratio at least 1.2;
a report for 100,000 events in under 0.2 s; the probe command at most 1.0x the vLLM-style
reader. It prints figures, never asserts them.

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
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.readers import httpx_lines  # noqa: E402
from tests.support import app_environment, daphne, free_port, manage, percentile  # noqa: E402
from troubleshooter.probe import (  # noqa: E402
    KINDS,
    Experiment,
    Limits,
    OutboundPolicy,
    ProbeSpec,
    Record,
    run_experiment,
    run_probe,
)

CHAT_BODY = {"model": "lab-model", "stream": True, "messages": [{"role": "user", "content": "flood"}]}
LOOPBACK = OutboundPolicy(allow_private=True)


def split_cores(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """One core for the server, another for this process, or (None, None)."""
    cores = sorted(os.sched_getaffinity(0)) if pin and hasattr(os, "sched_setaffinity") else []
    if len(cores) < 2:
        return None, None
    return {cores[0]}, {cores[1]}


def lags_ms(record: Record) -> list[float]:
    return [
        (record.started_monotonic + event.t - float(event.text)) * 1000
        for event in record.events
        if event.kind == "content"
    ]


async def timing(url: str, streams: int, chunks: int, delay: float) -> list[float]:
    spec = ProbeSpec(url=f"{url}?chunks={chunks}&delay={delay}")
    limits = Limits(total_seconds=120)
    records = await asyncio.gather(*(run_probe(spec, limits, policy=LOOPBACK) for _ in range(streams)))
    return [lag for record in records for lag in lags_ms(record)]


def lab_flood_url(base: str, events: int) -> str:
    return f"{base}/lab/openai/healthy/v1/chat/completions?chunks={events}&delay=0&batch=500"


def flood_url(base: str, events: int) -> str:
    return f"{base}/v1/chat/completions?events={events}"


@contextmanager
def flood_server(cores: set[int] | None) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "flood.py"), str(port)],
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the flood server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


FLOOD_LIMITS = Limits(total_seconds=300, max_events=10_000_000, max_bytes=2**31)


async def probe_ingest(url: str) -> tuple[int, float]:
    spec = ProbeSpec(url=url, method="POST", json_body=CHAT_BODY, format="openai")
    record = await run_probe(spec, FLOOD_LIMITS, policy=LOOPBACK)
    content = sum(1 for event in record.events if event.kind == "content")
    return content, record.ending.t if record.ending else 0.0


async def bare_ingest(url: str) -> tuple[int, float]:
    """The baseline: what a hand-written client does, with nothing recorded."""
    started = time.monotonic()
    count = await httpx_lines(url, CHAT_BODY)
    return count, time.monotonic() - started


def report_figures(base: str, events: int) -> dict[str, float]:
    """A real experiment on a flood, with the memory it keeps traced; then its report built."""
    spec = ProbeSpec(url=lab_flood_url(base, events), method="POST", json_body=CHAT_BODY, format="openai")
    experiment = Experiment(kind=KINDS["single"], spec=spec, limits=FLOOD_LIMITS)
    tracemalloc.start()
    report = asyncio.run(run_experiment(experiment, LOOPBACK))
    kept, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    record = report.lanes[0].record
    started = time.perf_counter()
    as_json = report.to_json()
    built = time.perf_counter() - started
    started = time.perf_counter()
    text = json.dumps(as_json)
    dumped = time.perf_counter() - started
    return {
        "events": len(record.events), "reads": len(record.reads), "built": built, "dumped": dumped,
        "bytes": len(text), "kept_per_event": kept / max(len(record.events), 1),
    }


def whole_process_seconds(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:3]} failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def cli_figures(base: str, events: int, rounds: int, env: dict[str, str]) -> dict[str, list[float]]:
    url, body = flood_url(base, events), json.dumps(CHAT_BODY)
    commands = {
        "probe command": [sys.executable, "manage.py", "probe", url, "--data", body, "--format", "openai",
                          "--max-mib", "512"],
        "vLLM-style reader": [sys.executable, "bench/readers.py", "vllm", url, body],
        "bare httpx loop": [sys.executable, "bench/readers.py", "httpx", url, body],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):  # alternating, so that a disturbance hits all three alike
        for name, argv in commands.items():
            took, output = whole_process_seconds(argv, env)
            if name == "probe command" and f"{events} content events" not in output:
                raise SystemExit(f"the probe command did not read the whole flood:\n{output[-1500:]}")
            seconds[name].append(took)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--flood", type=int, default=200_000, help="events in the ingest flood")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds, alternating probe and baseline")
    parser.add_argument("--timing-rounds", type=int, default=3, help="timing rounds for each stream count")
    parser.add_argument("--report-events", type=int, default=100_000, help="events in the record of the report")
    parser.add_argument("--cli-flood", type=int, default=90_000, help="events for the whole-process comparison")
    parser.add_argument("--cli-rounds", type=int, default=5)
    parser.add_argument("--only", choices=["timing", "ingest", "report", "cli"], action="append",
                        help="run only these sections (repeatable)")
    parser.add_argument("--no-pin", action="store_true", help="let the server and the client share all cores")
    args = parser.parse_args()
    sections = set(args.only or ["timing", "ingest", "report", "cli"])

    server_cores, client_cores = split_cores(not args.no_pin)
    if client_cores:
        os.sched_setaffinity(0, client_cores)
        print(f"server pinned to core {min(server_cores)}, probe and baselines to core {min(client_cores)}")
    else:
        print("server and client share the cores (not pinned)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = app_environment(workdir, LAB_ENABLED="1", LOG_LEVEL="WARNING")
        manage(env, "migrate", "--noinput", "-v", "0")
        pin = (lambda: os.sched_setaffinity(0, server_cores)) if server_cores else None
        with daphne(env, workdir / "daphne.log", preexec_fn=pin) as (_, base), flood_server(server_cores) as flood:
            if "timing" in sections:
                print(f"timing accuracy: receive minus send, loopback, median of {args.timing_rounds} rounds by p99")
                servers = (("stamped at the write (bench/flood.py)", f"{flood}/clock/"),
                           ("the lab through Django and Daphne", f"{base}/lab/sse/clock/"))
                for server_label, url in servers:
                    alone = [asyncio.run(timing(url, 1, 500, 0.01)) for _ in range(args.timing_rounds)]
                    many = [asyncio.run(timing(url, args.streams, 100, 0.05)) for _ in range(args.timing_rounds)]
                    print(f"  {server_label}:")
                    for label, rounds in (("1 stream", alone), (f"{args.streams} streams", many)):
                        p99s = [percentile(lags, 0.99) for lags in rounds]
                        lags = rounds[p99s.index(statistics.median_low(p99s))]
                        print(
                            f"  {label:>14}: {len(lags)} events, p50 {percentile(lags, 0.5):.3f} ms, "
                            f"p99 {percentile(lags, 0.99):.3f} ms, max {max(lags):.3f} ms "
                            f"(p99 of each round: {', '.join(f'{p99:.1f}' for p99 in p99s)} ms)"
                        )

            if "ingest" in sections:
                url = flood_url(flood, args.flood)
                probe_rates, bare_rates, probe_cpu, bare_cpu = [], [], [], []
                for _ in range(args.rounds):
                    cpu = time.process_time()
                    count, seconds = asyncio.run(probe_ingest(url))
                    probe_cpu.append((time.process_time() - cpu) / count * 1e6)
                    probe_rates.append(count / seconds)
                    cpu = time.process_time()
                    count_bare, seconds_bare = asyncio.run(bare_ingest(url))
                    bare_cpu.append((time.process_time() - cpu) / count_bare * 1e6)
                    bare_rates.append(count_bare / seconds_bare)
                    assert count == count_bare == args.flood, (count, count_bare)
                probe_rate, bare_rate = statistics.median(probe_rates), statistics.median(bare_rates)
                print(f"ingest in process: {args.flood} OpenAI-style events, median of {args.rounds} rounds")
                print(f"  probe           : {probe_rate:,.0f} events/s, {statistics.median(probe_cpu):.2f} us CPU per event")
                print(f"  bare httpx loop : {bare_rate:,.0f} events/s, {statistics.median(bare_cpu):.2f} us CPU per event"
                      " (baseline)")
                print(f"  ratio           : {probe_rate / bare_rate:.2f}x the baseline's rate")

            if "report" in sections:
                figures = report_figures(base, args.report_events)
                print(f"report: an experiment on a flood of {args.report_events} events")
                print(f"  record          : {figures['events']:,} events in {figures['reads']:,} reads")
                print(f"  report built    : {figures['built'] * 1000:.0f} ms (to_json), "
                      f"{figures['dumped'] * 1000:.0f} ms more to write {figures['bytes'] / 2**20:.1f} MiB of JSON")
                print(f"  memory kept     : {figures['kept_per_event']:.0f} bytes per event while probing")

            if "cli" in sections:
                seconds = cli_figures(flood, args.cli_flood, args.cli_rounds, env)
                medians = {name: statistics.median(values) for name, values in seconds.items()}
                baseline = medians["vLLM-style reader"]
                print(f"whole process on {args.cli_flood} OpenAI-style events, median of {args.cli_rounds} rounds")
                for name, median in medians.items():
                    print(f"  {name:<18}: {median:.2f} s, {median / baseline:.2f}x the vLLM-style reader "
                          f"(rounds: {', '.join(f'{s:.2f}' for s in seconds[name])})")


if __name__ == "__main__":
    main()

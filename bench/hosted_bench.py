"""Load on the hosted deployment as the deploy kit builds it: nginx in front of two Daphne
workers on unix sockets, PostgreSQL and Redis, everyone signed in.

Two phases with the same load (RUNS runs, each watched by VIEWERS_PER_RUN pages over wss
through nginx): first undisturbed (the baseline), then with one worker killed mid-run.
Printed, never asserted:

- completions: runs finished; with the kill, runs interrupted (the killed worker's);
- event-loop lag p99 of each worker, from its own Prometheus histogram (an upper bound:
  the bucket it falls in);
- the most PostgreSQL connections held at once, against the pools' ceiling;
- events lost: events a viewer was shown that are not in the database afterwards, and
  gaps or repeats in any run's stored sequence (all must be 0).

    .venv/bin/python bench/hosted_bench.py [--runs 100] [--viewers-per-run 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.kit import Deployment, insecure_tls, kit_deployment  # noqa: E402
from tests.support import POSTGRES, REDIS, RUN_FORM, app_environment, create_user, csrf_token, daphne, sign_in  # noqa: E402

POOL_SIZE = 10
METRICS_TOKEN = "bench-metrics-token"
SEQ = re.compile(r'data-run-seq="(\d+)"')


def scrape_lag(deployment: Deployment) -> dict[int, dict[float, float]]:
    """Each worker's loop-lag histogram, read from the worker itself (not through nginx)."""
    histograms: dict[int, dict[float, float]] = {}
    for number, socket_path in deployment.sockets.items():
        if deployment.workers[number].poll() is not None:
            continue
        transport = httpx.HTTPTransport(uds=str(socket_path))
        with httpx.Client(transport=transport, base_url="http://localhost") as direct:
            text = direct.get("/metrics/", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        buckets = {}
        for bound, count in re.findall(r'troubleshooter_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+]+)', text):
            buckets[float(bound)] = float(count)
        histograms[number] = buckets
    return histograms


def p99_bound(before: dict[float, float], after: dict[float, float]) -> str:
    counts = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return "no samples"
    for bound in sorted(counts):
        if counts[bound] >= 0.99 * total:
            return f"≤ {bound * 1000:.0f} ms ({total:.0f} samples)" if bound != float("inf") else "> 2.5 s"
    return "?"


# The bench's own reads of the app's database carry this name, so that the count of the
# app's connections leaves them out (one taken at the kill once read as 21 of a ceiling of 20).
BENCH_APPLICATION = "hosted-bench"


def bench_connection(database: str) -> psycopg.Connection[Any]:
    return psycopg.connect(database, application_name=BENCH_APPLICATION)


class ConnectionWatch:
    def __init__(self, database: str) -> None:
        self.database = database
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            while not self._stop.is_set():
                count = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND application_name <> %s",
                    [self.database, BENCH_APPLICATION],
                ).fetchone()[0]
                self.most = max(self.most, count)
                time.sleep(0.05)


async def watch(deployment: Deployment, run_path: str, cookie: str) -> dict[str, Any]:
    """One page's socket, reconnecting from the last event it showed when dropped (as the
    page does), until the run's final update."""
    url = deployment.base.replace("https", "wss", 1) + run_path + "ws/?after={after}"
    shown, final, reconnects = 0, False, 0
    deadline = time.monotonic() + 180
    while not final and time.monotonic() < deadline:
        try:
            async with websockets.connect(url.format(after=shown), origin=deployment.base, ssl=insecure_tls(),
                                          additional_headers={"Cookie": cookie}, max_size=None,
                                          open_timeout=60) as socket:
                async for message in socket:
                    found = SEQ.search(str(message))
                    if found:
                        shown = max(shown, int(found.group(1)))
                    if 'id="run-live"' in str(message):
                        final = True
                        break
        except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidStatus):
            reconnects += 1
            await asyncio.sleep(0.5)
    return {"run": run_path.strip("/").rsplit("/", 1)[1], "shown": shown, "final": final, "reconnects": reconnects}


def runs_held_by(database: str, pid: int) -> int:
    with bench_connection(database) as conn:
        return int(conn.execute("SELECT count(*) FROM runs_run r JOIN runs_worker w ON w.id = r.worker_id "
                                "WHERE w.pid = %s AND r.state = 'running'", [pid]).fetchone()[0])


async def load(deployment: Deployment, database: str, target: str, runs: int, viewers_per_run: int, cookie: str,
               kill_after: float | None) -> tuple[list[str], list[dict[str, Any]], float, int]:
    async with deployment.async_client(cookies={"sessionid": cookie.split("=", 1)[1]}, timeout=60) as client:
        token = csrf_token((await client.get("/runs/new/")).text)
        data = {**RUN_FORM, "csrfmiddlewaretoken": token, "url": target, "format": "sse", "total_seconds": "120"}
        started = time.monotonic()
        posted = await asyncio.gather(*(client.post("/runs/new/", data=data) for _ in range(runs)))
    refused = [response.status_code for response in posted if response.status_code != 302]
    if refused:
        raise SystemExit(f"{len(refused)} runs were refused: {refused[:5]}")
    paths = [response.headers["location"] for response in posted]
    print(f"  {runs} runs started through nginx in {time.monotonic() - started:.1f} s")
    viewers = asyncio.gather(*(watch(deployment, path, cookie) for path in paths for _ in range(viewers_per_run)))
    held = 0
    if kill_after is not None:
        await asyncio.sleep(kill_after)
        held = runs_held_by(database, deployment.workers[1].pid)
        deployment.kill(1)
    seen = await viewers
    return paths, seen, time.monotonic() - started, held


def stored(database: str, run_ids: list[str]) -> dict[str, Any]:
    with bench_connection(database) as conn:
        by_worker = conn.execute(
            "SELECT w.pid, count(*) FROM runs_run r JOIN runs_worker w ON w.id = r.worker_id "
            "WHERE r.id::text = ANY(%s) GROUP BY w.pid ORDER BY w.pid", [run_ids],
        ).fetchall()
        print(f"  runs by worker process: {dict(by_worker)}")
        states = dict(conn.execute("SELECT id::text, state FROM runs_run WHERE id::text = ANY(%s)", [run_ids]).fetchall())
        batches = conn.execute(
            "SELECT run_id::text, first_seq, last_seq FROM runs_runevents WHERE run_id::text = ANY(%s) "
            "ORDER BY run_id, first_seq", [run_ids],
        ).fetchall()
    last: dict[str, int] = {}
    gaps = repeats = 0
    for run_id, first, final in batches:
        expected = last.get(run_id, 0) + 1
        gaps += first > expected
        repeats += first < expected
        last[run_id] = final
    return {"states": states, "last_seq": last, "gaps": gaps, "repeats": repeats}


def phase(deployment: Deployment, database: str, target: str, args: argparse.Namespace, cookie: str,
          kill_after: float | None) -> dict[str, Any]:
    lag_before = scrape_lag(deployment)
    with ConnectionWatch(database.rpartition("/")[2]) as connections:
        paths, seen, seconds, held = asyncio.run(
            load(deployment, database, target, args.runs, args.viewers_per_run, cookie, kill_after)
        )
    lag_after = scrape_lag(deployment)
    run_ids = [path.strip("/").rsplit("/", 1)[1] for path in paths]
    result = stored(database, run_ids)
    states = list(result["states"].values())
    lost = sum(max(0, view["shown"] - result["last_seq"].get(view["run"], 0)) for view in seen)
    return {
        "seconds": seconds,
        "held_by_killed": held,
        "finished": states.count("finished"),
        "interrupted": states.count("interrupted"),
        "other": len(states) - states.count("finished") - states.count("interrupted"),
        "viewers_final": sum(view["final"] for view in seen),
        "viewers": len(seen),
        "reconnects": sum(view["reconnects"] for view in seen),
        "connections": connections.most,
        "lag": {number: p99_bound(lag_before.get(number, {}), after) for number, after in lag_after.items()},
        "lost": lost,
        "gaps": result["gaps"],
        "repeats": result["repeats"],
    }


def report(name: str, figures: dict[str, Any], workers: int) -> None:
    print(f"\n{name}: {figures['seconds']:.1f} s")
    print(f"  runs finished {figures['finished']}, interrupted {figures['interrupted']}, other {figures['other']}"
          + (f" (the killed worker was running {figures['held_by_killed']})" if figures["held_by_killed"] else ""))
    print(f"  viewers that saw the end {figures['viewers_final']} of {figures['viewers']} "
          f"({figures['reconnects']} reconnects)")
    print(f"  loop lag p99 by worker: {figures['lag']}")
    print(f"  PostgreSQL connections held at most {figures['connections']} (ceiling {workers * POOL_SIZE} "
          f"= {workers} workers × pool {POOL_SIZE})")
    print(f"  events shown but not stored {figures['lost']}; stored gaps {figures['gaps']}, repeats {figures['repeats']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--viewers-per-run", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=300, help="chunks per stream, 20 a second")
    args = parser.parse_args()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        stack.callback(lambda: psycopg.connect(POSTGRES, autocommit=True).execute(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        database = f"{POSTGRES.rpartition('/')[0]}/{name}"
        (workdir / "lab").mkdir()
        lab_env = app_environment(workdir / "lab", LAB_ENABLED="1", LOG_LEVEL="WARNING")
        _, lab = stack.enter_context(daphne(lab_env, workdir / "lab.log"))
        target = f"{lab}/lab/sse/healthy/?chunks={args.chunks}&delay=0.05"
        results = []
        for label, kill_after in (("baseline: undisturbed", None), ("one worker killed 5 s in", 5.0)):
            phase_dir = workdir / label.split(":")[0].split()[0]
            phase_dir.mkdir()
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("SELECT 1")
            with kit_deployment(phase_dir, database, REDIS, workers=2, PROBE_ALLOW_PRIVATE="1", LOG_LEVEL="WARNING",
                                METRICS_TOKEN=METRICS_TOKEN, DB_POOL_SIZE=str(POOL_SIZE), RUNS_MAX_ACTIVE="10000",
                                RUNS_MAX_ACTIVE_PER_USER="10000", RUNS_PER_HOUR_PER_USER="100000") as site:
                if not results:
                    create_user(site.env, "bench", "bench-password")
                with site.client() as browser:
                    sign_in(browser, "bench", "bench-password")
                    cookie = f"sessionid={browser.cookies['sessionid']}"
                figures = phase(site, database, target, args, cookie, kill_after)
            results.append(figures)
            report(label, figures, 2)
        base, killed = results
        print(f"\nwith the kill vs the baseline: duration {killed['seconds'] / base['seconds']:.2f}×, "
              f"connections {killed['connections']} vs {base['connections']}")


if __name__ == "__main__":
    main()

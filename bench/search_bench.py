"""Search benchmark: how long a query takes, and how often the casebook's phrases find their cause.

    .venv/bin/python bench/search_bench.py [--rounds 30]

Measures, with the guides as they are on disk:

- building the index (once per loaded library);
- query time, median and p99, over every casebook search phrase (bench/casebook/) plus a
  pasted traceback of the longest length a query may have, each run --rounds times;
- search top-3 on the casebook, split into two halves by incident id (sorted): the first
  half is the one to look at while improving search, the second half checks that what
  helped the first was not tuned to it. A hit is the cause's own page in the first three.

It prints figures, never asserts them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from bench.casebook.casebook import Incident, load  # noqa: E402
from troubleshooter.guides import search  # noqa: E402
from troubleshooter.guides.content import get_library  # noqa: E402

TOP = 3
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/app/main.py", line 88, in stream\n'
    '    async for chunk in graph.astream(inputs, stream_mode="messages"):\n'
    "httpx.RemoteProtocolError: peer closed connection without sending complete message body "
    "(incomplete chunked read)\n"
)


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def found_in_top(index: search.SearchIndex, incident: Incident) -> bool:
    urls = [hit.document.url for hit in index.search(incident.search_phrase)[:TOP]]
    return any(url == f"/causes/{cause}/" for url in urls for cause in incident.accepted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="times each query is run")
    options = parser.parse_args(argv)

    library = get_library()
    started = time.perf_counter()
    index = search.build_index(library)
    build = time.perf_counter() - started
    print(f"index: {len(index.documents)} documents, built in {build * 1000:.0f} ms")

    incidents = sorted(load(), key=lambda incident: incident.id)
    queries = [incident.search_phrase for incident in incidents]
    queries.append((TRACEBACK * 20)[: search.MAX_QUERY_LENGTH])
    for query in queries:  # warm the stemmer's cache as a running server's would be
        index.search(query)
    timings = []
    for _ in range(options.rounds):
        for query in queries:
            started = time.perf_counter()
            index.search(query)
            timings.append((time.perf_counter() - started) * 1000)
    print(
        f"query time over {len(queries)} queries x {options.rounds}: "
        f"median {statistics.median(timings):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms, "
        f"max {max(timings):.2f} ms"
    )

    # The app searches the casebook's own incidents, so each is asked for with an index
    # built without it (bench/casebook/replay.py does the same and prints the held-out set).
    half = len(incidents) // 2
    for name, part in (("first half", incidents[:half]), ("second half", incidents[half:])):
        found = sum(found_in_top(search.build_index(library, leave_out=i.id), i) for i in part)
        print(f"casebook search top-{TOP}, {name} by id, each left out: {found}/{len(part)} = {found / len(part):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

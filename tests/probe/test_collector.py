"""While streams are recorded the cyclic collector runs less often; afterwards its schedule
is what it was, however many probes overlapped."""

from __future__ import annotations

import asyncio
import gc

from tests.probe.servers import FAST, RawHTTPServer, openai_stream
from troubleshooter.probe import OutboundPolicy, ProbeSpec, run_probe
from troubleshooter.probe.collector import STRETCHED, fewer_collections


def test_overlapping_probes_stretch_the_schedule_once_and_the_last_one_restores_it():
    before = gc.get_threshold()
    with fewer_collections():
        stretched = gc.get_threshold()
        with fewer_collections():
            assert gc.get_threshold() == stretched
        assert gc.get_threshold() == stretched  # one probe still runs
    assert stretched == tuple(max(now, wanted) for now, wanted in zip(before, STRETCHED, strict=True))
    assert gc.get_threshold() == before


def test_a_schedule_already_lazier_than_the_stretch_is_kept():
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 50)
    try:
        with fewer_collections():
            assert gc.get_threshold() == (100_000, 50, 50)
    finally:
        gc.set_threshold(*before)


def test_probes_that_run_at_once_leave_the_schedule_as_they_found_it():
    before = gc.get_threshold()
    seen_during: set[tuple[int, int, int]] = set()

    def note(event: dict) -> None:  # called while the probes are mid-stream
        seen_during.add(gc.get_threshold())

    async def scenario() -> None:
        async with RawHTTPServer({"/s": openai_stream(["a", "b", "c"], gap=0.02)}) as server:
            spec = ProbeSpec(url=server.url("/s"))
            await asyncio.gather(
                *(run_probe(spec, FAST, note, policy=OutboundPolicy(allow_private=True)) for _ in range(5))
            )

    asyncio.run(scenario())
    assert seen_during == {tuple(max(now, wanted) for now, wanted in zip(before, STRETCHED, strict=True))}
    assert gc.get_threshold() == before

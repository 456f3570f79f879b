"""The experiment kinds of the registry, run against scripted servers: parallel copies,
direct vs proxied, and the same request through LangChain."""

import asyncio
import json

import pytest

from tests.probe.servers import (
    FAST,
    RawHTTPServer,
    all_at_once,
    chunked_stream,
    make_record,
    openai_chunk,
    openai_stream,
    serialised,
    status,
)
from troubleshooter.probe import KINDS, Experiment, OutboundPolicy, ProbeSpec, analyse_overlap, diagnose, run_experiment
from troubleshooter.probe.assessment import assess
from troubleshooter.probe.comparison import _header_differences
from troubleshooter.probe.langchain import via_langchain
from troubleshooter.probe.parallel import diagnose_group, run_parallel

OPEN = OutboundPolicy(allow_private=True)


def run(kind: str, url: str, **settings):
    return asyncio.run(run_experiment(Experiment(KINDS[kind], ProbeSpec(url=url), FAST, **settings), OPEN))


def test_parallel_copies_against_a_single_worker_queue_one_after_another():
    async def scenario():
        async with RawHTTPServer({"/": serialised(openai_stream(["a", "b", "c"], gap=0.04))}) as server:
            report = await run_experiment(
                Experiment(KINDS["parallel"], ProbeSpec(url=server.url("/")), FAST, concurrency=3), OPEN
            )
            return report

    report = asyncio.run(scenario())
    overlap = report.conclusion.overlap
    assert [lane.label for lane in report.lanes] == ["alone", "stream 1", "stream 2", "stream 3"]
    assert overlap.ran_serially and len(overlap.first_byte_steps) == 3
    assert report.verdict.causes[0].id == "worker-saturation"
    assert "one after another" in report.verdict.summary


def test_parallel_copies_against_an_async_server_overlap_and_stay_healthy():
    async def scenario():
        events = []
        async with RawHTTPServer({"/": openai_stream(["a", "b", "c"], gap=0.05)}) as server:
            experiment = Experiment(KINDS["parallel"], ProbeSpec(url=server.url("/")), FAST, concurrency=5)
            report = await run_experiment(experiment, OPEN, on_event=events.append)
        return report, events

    report, events = asyncio.run(scenario())
    assert report.conclusion.overlap.max_overlap == 5
    assert report.verdict.outcome == "healthy" and not report.problem_found
    assert not report.verdict.causes or report.verdict.causes[0].confidence < 0.5
    assert {event["stream"] for event in events} == {"alone", *(f"stream {i}" for i in range(1, 6))}
    json.dumps(report.to_json())


@pytest.mark.parametrize("n", [0, 51])
def test_the_number_of_parallel_copies_is_bounded(n):
    with pytest.raises(ValueError):
        asyncio.run(run_parallel(ProbeSpec(url="http://127.0.0.1:1/"), [f"s{i}" for i in range(n)], FAST))
    problems = Experiment(KINDS["parallel"], ProbeSpec(url="http://127.0.0.1:1/"), concurrency=n).problems()
    assert problems == ["parallel streams must be between 2 and 50"]


def test_comparing_direct_and_proxied_explains_the_difference_in_plain_words():
    body = b"".join(openai_chunk(f"w{i} ") for i in range(20)) + b"data: [DONE]\n\n"
    routes = {
        "/direct": chunked_stream([openai_chunk(f"w{i} ") for i in range(20)], 0.01),
        "/proxied": all_at_once(body, 0.4, [("Content-Type", "text/event-stream"), ("Server", "nginx")]),
    }

    async def scenario():
        async with RawHTTPServer(routes) as server:
            experiment = Experiment(KINDS["compare"], ProbeSpec(url=server.url("/direct")), FAST,
                                    compare_url=server.url("/proxied"))
            return await run_experiment(experiment, OPEN)

    report = asyncio.run(scenario())
    direct, proxied = report.lanes
    assert direct.verdict.outcome == "healthy" and proxied.verdict.outcome == "buffered"
    assert report.conclusion.leading_lane == "through the proxy" and report.problem_found
    assert report.verdict.summary.startswith("Through the proxy: ")
    text = "\n".join(report.conclusion.differences)
    assert "Direct: healthy. Through the proxy: buffered." in text
    assert "Server: nginx" in text
    assert report.conclusion.differences[-1].endswith("the likeliest cause is proxy-buffering.")


def test_comparing_two_paths_that_behave_the_same_says_so():
    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["a"])}) as server:
            experiment = Experiment(KINDS["compare"], ProbeSpec(url=server.url("/")), FAST, compare_url=server.url("/"))
            return await run_experiment(experiment, OPEN)

    assert "Both paths behave the same" in asyncio.run(scenario()).conclusion.differences[-1]


def test_a_cancelled_comparison_never_sends_its_second_request():
    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["a"] * 50, gap=0.05)}) as server:
            experiment = Experiment(KINDS["compare"], ProbeSpec(url=server.url("/")), FAST, compare_url=server.url("/"))
            task = asyncio.create_task(run_experiment(experiment, OPEN))
            await asyncio.sleep(0.3)
            task.cancel()
            return await task, server.requests

    report, requests = asyncio.run(scenario())
    assert len(requests) == 1
    assert [lane.record.ending.kind for lane in report.lanes] == ["cancelled", "cancelled"]


def langchain_run(handler, **kwargs):
    async def scenario():
        async with RawHTTPServer({"/v1/chat/completions": handler}) as server:
            record = await via_langchain(server.url("/v1"), "sk-lc-secret-77", "test-model", "Say hi", FAST, **kwargs)
            return record, server.requests

    return asyncio.run(scenario())


def test_the_same_request_through_langchain_is_timed_chunk_by_chunk():
    record, requests = langchain_run(openai_stream(["Hello", " there"], gap=0.05))
    assert requests[0].method == "POST"
    assert requests[0].headers["authorization"] == "Bearer sk-lc-secret-77"
    assert json.loads(requests[0].body)["stream"] is True
    assert [e.text for e in record.events if e.kind == "content"] == ["Hello", " there"]
    assert record.reads and record.status == 200
    assert record.ending.kind == "terminal-event"
    assert diagnose(record).outcome == "healthy"
    assert "sk-lc-secret-77" not in json.dumps(record.to_dict())


def test_a_length_limit_seen_through_langchain_is_truncated_by_the_model():
    record, _ = langchain_run(openai_stream(["Hello"], finish_reason="length"))
    assert diagnose(record).outcome == "truncated-by-model"


def test_an_http_error_through_langchain_is_recorded_not_raised():
    record, _ = langchain_run(status(429, b'{"error": {"message": "slow down"}}', reason="Too Many Requests"))
    assert record.ending.kind == "http-error"
    assert record.status == 429


def test_langchain_goes_through_the_same_outbound_policy():
    async def resolver(host, port):
        return ["169.254.169.254"]

    record = asyncio.run(via_langchain("http://llm.example/v1", "sk", "m", "hi", FAST, resolver=resolver, policy=OutboundPolicy()))
    assert record.ending.kind == "blocked"
    assert record.reads == []


# --- replicas that differ, and pointers for a healthy group --------------------------------


def replica_record(start: float, served_by: str | None, fine: bool):
    reads = [(0.1 + i * 0.05, 60) for i in range(6 if fine else 3)]
    events = [(t, "content") for t, _ in reads] + ([(0.4, "terminal")] if fine else [])
    headers = {"X-Served-By": served_by} if served_by else {}
    ending = ("terminal-event", 0.42) if fine else ("clean-close", 0.21)
    return make_record(reads=reads, events=events, ending=ending, headers=headers, started_monotonic=start)


def group(records):
    return diagnose_group([assess(f"stream {i}", record) for i, record in enumerate(records)], analyse_overlap(records))


def test_failures_that_follow_the_replica_that_answered_are_multi_worker_routing():
    records = [replica_record(i * 0.001, f"pod-{'b' if i % 2 else 'a'}", fine=not i % 2) for i in range(6)]
    verdict = group(records)
    assert verdict.outcome == "cut-off"
    assert verdict.causes[0].id == "multi-worker-routing"
    assert verdict.causes[0].confidence == 0.65
    assert verdict.causes[0].evidence == [
        "3 of 6 identical requests sent at once failed (3 clean-close) while 3 streamed to the end",
        "every failed stream came back with X-Served-By: pod-b, every good one with X-Served-By: pod-a: "
        "the failures follow the server that answered",
    ]


def test_mixed_fates_without_a_telling_header_are_only_a_weak_sign_of_routing():
    records = [replica_record(i * 0.001, None, fine=i != 2) for i in range(4)]
    cause = group(records).cause("multi-worker-routing")
    assert cause.confidence == 0.3
    assert cause.evidence[0] == "1 of 4 identical requests sent at once failed (1 clean-close) while 3 streamed to the end"


def test_streams_that_all_fail_or_all_succeed_say_nothing_about_routing():
    assert not group([replica_record(i * 0.001, "pod-a", fine=False) for i in range(3)]).cause("multi-worker-routing")
    assert not group([replica_record(i * 0.001, "pod-a", fine=True) for i in range(3)]).cause("multi-worker-routing")


def test_streams_stopped_by_the_probes_own_limit_are_not_counted_as_failures():
    records = [replica_record(i * 0.001, "pod-a", fine=True) for i in range(3)]
    records[0].ending.kind = "limit"
    assert not group(records).cause("multi-worker-routing")


def test_a_healthy_group_points_at_the_client_only():
    verdict = group([replica_record(i * 0.001, "pod-a", fine=True) for i in range(3)])
    assert verdict.outcome == "healthy"
    assert [hint.id for hint in verdict.hints] == ["client-disconnect"]


def test_per_request_ids_differing_between_two_paths_are_not_reported_as_differences():
    first = replica_record(0.0, None, fine=True)
    second = replica_record(0.0, None, fine=True)
    first.headers["X-Vercel-Id"], second.headers["X-Vercel-Id"] = "iad1::a-1", "iad1::b-2"
    assert _header_differences(first, second, ("direct", "through the proxy")) == []
    del first.headers["X-Vercel-Id"]
    assert _header_differences(first, second, ("direct", "through the proxy")) == [
        "Through the proxy the response has X-Vercel-Id: iad1::b-2, which it lacks direct."
    ]

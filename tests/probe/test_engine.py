import asyncio
import json
import logging
from dataclasses import replace

from tests.probe.servers import (
    FAST,
    LAST_CHUNK,
    SSE_HEAD,
    RawHTTPServer,
    all_at_once,
    anthropic_event,
    chunk,
    chunked_stream,
    content_length_mismatch,
    forever,
    gzip_stream,
    hard_cut,
    head,
    huge_line,
    idle_then_cut,
    openai_chunk,
    openai_stream,
    probe_handler,
    raw_body,
    send,
    slow_headers,
    sse,
    status,
)
from troubleshooter.probe import HeaderSpec, Limits, ProbeSpec, diagnose, measure, run_probe

# Sub-second stand-ins for the real 60 s / 30 s constants, so the timeout
# rules can be exercised in a fast test.
TEST_TIMEOUTS = {"idle": {0.5: "the test proxy's 0.5 s idle timeout"}, "hard": {0.8: "the test platform's 0.8 s limit"}}


def words(record) -> str:
    return "".join(event.text for event in record.events if event.kind == "content")


def test_a_healthy_stream_is_recorded_read_by_read_and_ends_with_its_terminal_event():
    probed = probe_handler(openai_stream(["Hello", " world", "!"], gap=0.03))
    record = probed.record
    assert record.status == 200
    assert record.ending.kind == "terminal-event"
    assert words(record) == "Hello world!"
    times = [read.t for read in record.reads]
    assert times == sorted(times) and len(times) >= 4
    assert record.format == "sse/openai"
    assert record.headers["Content-Type"] == "text/event-stream"
    assert diagnose(record).outcome == "healthy"


def test_the_listener_hears_each_step_as_it_happens():
    probed = probe_handler(openai_stream(["a", "b"]))
    types = [event["type"] for event in probed.events]
    assert types[:3] == ["request", "resolved", "response"]
    assert types[-1] == "end"
    assert "chunk" in types and "event" in types
    json.dumps(probed.events)  # ready to send to a browser as is


def test_an_async_listener_is_awaited_and_a_failing_one_does_not_lose_the_run():
    async def scenario():
        heard = []

        async def listener(payload):
            heard.append(payload["type"])
            if payload["type"] == "chunk":
                raise RuntimeError("browser went away")

        async with RawHTTPServer({"/": openai_stream(["a", "b"])}) as server:
            record = await run_probe(ProbeSpec(url=server.url("/")), FAST, listener)
        return record, heard

    record, heard = asyncio.run(scenario())
    assert record.ending.kind == "terminal-event"
    assert heard[-1] == "end"
    assert record.facts["listener_errors"] >= 1


def test_a_stream_that_arrives_all_at_once_behind_nginx_is_buffered_by_the_proxy():
    body = b"".join(openai_chunk(f"w{i} ") for i in range(30)) + b"data: [DONE]\n\n"
    probed = probe_handler(all_at_once(body, 0.4, [("Content-Type", "text/event-stream"), ("Server", "nginx/1.25.3")]))
    verdict = diagnose(probed.record)
    assert verdict.outcome == "buffered"
    assert verdict.causes[0].id == "proxy-buffering"
    assert any("Server: nginx" in line for line in verdict.causes[0].evidence)


def test_a_json_answer_instead_of_a_stream_is_server_buffering():
    answer = json.dumps({"object": "chat.completion", "choices": [{"message": {"content": "x " * 300}, "finish_reason": "stop"}]})
    probed = probe_handler(all_at_once(answer.encode(), 0.4, [("Content-Type", "application/json")]))
    verdict = diagnose(probed.record)
    assert verdict.outcome == "buffered"
    assert verdict.causes[0].id == "server-buffering"
    assert probed.record.format == "json"


def test_an_idle_gap_then_a_cut_is_an_idle_timeout():
    probed = probe_handler(idle_then_cut([openai_chunk("hi")] * 3, idle=0.5))
    record = probed.record
    assert record.ending.kind == "incomplete-read"
    verdict = diagnose(record, timeouts=TEST_TIMEOUTS)
    assert verdict.outcome == "cut-off"
    assert verdict.causes[0].id == "idle-timeout"
    assert abs(measure(record).gap_before_end - 0.5) < 0.1


def test_a_cut_while_data_flows_at_a_fixed_total_time_is_a_request_timeout():
    probed = probe_handler(hard_cut(after=0.8, gap=0.03))
    verdict = diagnose(probed.record, timeouts=TEST_TIMEOUTS)
    assert verdict.outcome == "cut-off"
    assert verdict.causes[0].id == "request-timeout"
    assert not verdict.cause("idle-timeout")


def test_a_reset_connection_is_recorded_as_a_reset():
    probed = probe_handler(idle_then_cut([openai_chunk("hi")], idle=0.05, how="reset"))
    assert probed.record.ending.kind == "reset"
    assert diagnose(probed.record).outcome == "cut-off"


def test_an_openai_stream_that_closes_cleanly_without_done_is_cut_off():
    probed = probe_handler(chunked_stream([openai_chunk("a"), openai_chunk("b")], 0.01, terminal=b""))
    assert probed.record.ending.kind == "clean-close"
    assert diagnose(probed.record).outcome == "cut-off"


def test_a_generic_sse_stream_has_no_terminal_to_miss():
    probed = probe_handler(chunked_stream([sse("one"), sse("two"), sse("three")], 0.02, terminal=b""))
    assert probed.record.ending.kind == "clean-close"
    assert diagnose(probed.record).outcome == "healthy"


def test_a_body_shorter_than_its_content_length_is_an_incomplete_read():
    probed = probe_handler(content_length_mismatch(5000, sse("partial")))
    record = probed.record
    assert record.ending.kind == "incomplete-read"
    assert "5000" in record.ending.reason
    assert diagnose(record).causes[0].id == "content-length-mismatch"


def test_a_gzip_stream_in_one_member_is_decoded_read_by_read():
    events = [openai_chunk(w) for w in ["a", "b", "c"]] + [b"data: [DONE]\n\n"]
    record = probe_handler(gzip_stream(events, per_chunk=False)).record
    assert record.ending.kind == "terminal-event"
    assert words(record) == "abc"
    assert record.facts["gzip_members"] == 1
    assert record.facts["decoded_bytes"] == len(b"".join(events))


def test_per_chunk_gzip_members_are_all_decoded_and_reported():
    events = [openai_chunk(w) for w in ["a", "b", "c"]] + [b"data: [DONE]\n\n"]
    record = probe_handler(gzip_stream(events, per_chunk=True)).record
    assert words(record) == "abc"
    assert record.facts["gzip_members"] == 4
    assert record.facts["first_gzip_member_bytes"] == len(events[0])
    verdict = diagnose(record)
    assert verdict.outcome == "cut-off"
    assert verdict.causes[0].id == "per-chunk-compression"


def test_a_compressed_stream_that_arrives_at_once_points_at_compression():
    import gzip

    body = gzip.compress(b"".join(openai_chunk(f"w{i}") for i in range(40)) + b"data: [DONE]\n\n")
    headers = [("Content-Type", "text/event-stream"), ("Content-Encoding", "gzip")]
    verdict = diagnose(probe_handler(all_at_once(body, 0.4, headers)).record)
    assert verdict.outcome == "buffered"
    assert verdict.cause("compression-buffering")


def test_finish_reason_length_is_truncated_by_the_model():
    record = probe_handler(openai_stream(["cut", " short"], finish_reason="length")).record
    verdict = diagnose(record)
    assert verdict.outcome == "truncated-by-model"
    assert verdict.causes[0].id == "token-limit"
    assert measure(record).output_tokens == 2


def test_an_error_object_after_content_is_an_upstream_error():
    error = sse(json.dumps({"error": {"message": "The server is overloaded", "type": "server_error"}}))
    record = probe_handler(chunked_stream([openai_chunk("partial"), error], 0.01, terminal=b"")).record
    verdict = diagnose(record)
    assert verdict.outcome == "upstream-error"
    assert verdict.causes[0].id == "upstream-error"
    assert "overloaded" in verdict.causes[0].evidence[0]


def test_an_anthropic_stream_is_understood():
    events = [
        anthropic_event("message_start", {"message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}),
        anthropic_event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        anthropic_event("ping", {}),
        anthropic_event("message_delta", {"delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 12}}),
        anthropic_event("message_stop", {}),
    ]
    record = probe_handler(chunked_stream(events, 0.01, terminal=b"")).record
    assert record.format == "sse/anthropic"
    assert record.ending.kind == "terminal-event"
    assert measure(record).output_tokens == 12
    assert diagnose(record).outcome == "truncated-by-model"


def test_an_anthropic_error_event_mid_stream_is_an_upstream_error():
    events = [
        anthropic_event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        anthropic_event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
    assert diagnose(probe_handler(chunked_stream(events, 0.01, terminal=b"")).record).outcome == "upstream-error"


def test_ndjson_is_read_line_by_line():
    lines = [json.dumps({"message": {"content": w}, "done": False}).encode() + b"\n" for w in ["a", "b"]]
    lines.append(json.dumps({"message": {"content": ""}, "done": True, "done_reason": "stop"}).encode() + b"\n")
    record = probe_handler(raw_body("application/x-ndjson", lines)).record
    assert record.format == "ndjson/ollama"
    assert record.ending.kind == "terminal-event"
    assert words(record) == "ab"


def test_binary_garbage_ends_in_a_recorded_outcome():
    record = probe_handler(raw_body("application/octet-stream", [bytes(range(256)), b"\xff" * 100])).record
    assert record.ending.kind == "clean-close"
    assert record.facts["looks_binary"]
    assert diagnose(record).outcome in ("healthy", "buffered")


def test_invalid_utf8_inside_sse_is_noticed_not_fatal():
    record = probe_handler(chunked_stream([b"data: caf\xe9\n\n", sse("ok")], 0.01, terminal=b"")).record
    assert record.ending.kind == "clean-close"
    assert record.facts["invalid_utf8"]
    assert len([e for e in record.events if e.kind == "content"]) == 2


def test_a_10_mb_line_stops_at_the_line_limit():
    limits = replace(FAST, max_bytes=32 * 1024 * 1024, max_line_bytes=1024 * 1024)
    record = probe_handler(huge_line(10 * 1024 * 1024), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "line-length")
    assert sum(read.size for read in record.reads) < 3 * 1024 * 1024


def test_a_never_ending_stream_is_stopped_by_the_total_time_limit():
    limits = replace(FAST, total_seconds=0.5)
    record = probe_handler(forever(b": heartbeat\n\n", 0.01), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "total-time")
    assert 0.45 < record.ending.t < 1.0
    assert len([e for e in record.events if e.kind == "comment"]) > 5
    assert diagnose(record).outcome == "limit-reached"


def test_one_byte_per_second_is_bounded_by_the_total_time_limit():
    limits = replace(FAST, total_seconds=1.3)
    record = probe_handler(forever(b"x", 1.0, "text/plain"), limits).record
    assert record.ending.limit == "total-time"
    assert len(record.reads) == 2
    assert 0.9 < measure(record).gap_p50 < 1.1


def test_a_flood_is_stopped_by_the_byte_limit():
    limits = replace(FAST, max_bytes=2 * 1024 * 1024)
    record = probe_handler(forever(b"z" * 65536, 0, "text/plain"), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "bytes")


def test_too_many_events_are_stopped_by_the_event_limit():
    limits = replace(FAST, max_events=25)
    record = probe_handler(forever(b": hb\n\n" * 10, 0.001), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "events")
    assert len(record.events) == 25


def probe_without_listener(handler, limits=FAST):
    async def scenario():
        async with RawHTTPServer({"/stream": handler}) as server:
            return await run_probe(ProbeSpec(url=server.url("/stream")), limits)

    return asyncio.run(scenario())


def test_without_a_listener_events_are_kept_read_by_read_with_the_same_limit():
    # Nobody listening takes a batch path through the recorder; what it keeps must not differ.
    limits = replace(FAST, max_events=25)
    record = probe_without_listener(forever(b": hb\n\n" * 10, 0.001), limits)
    assert (record.ending.kind, record.ending.limit) == ("limit", "events")
    assert len(record.events) == 25
    read_times = {read.t for read in record.reads}
    assert all(event.t in read_times for event in record.events)


def test_without_a_listener_the_terminal_event_still_ends_the_run():
    handler = openai_stream(["Hello", " world"])
    heard = probe_handler(handler).record
    alone = probe_without_listener(handler)
    assert alone.ending.kind == heard.ending.kind == "terminal-event"
    assert [(e.kind, e.text) for e in alone.events] == [(e.kind, e.text) for e in heard.events]


def test_slow_headers_hit_the_time_to_headers_limit_and_count_as_no_response():
    limits = replace(FAST, headers_seconds=0.3)
    record = probe_handler(slow_headers(2.0), limits).record
    assert (record.ending.kind, record.ending.limit) == ("limit", "time-to-headers")
    assert diagnose(record).outcome == "connect-error"


def test_a_refused_connection_is_a_connect_error():
    async def scenario():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return await run_probe(ProbeSpec(url=f"http://127.0.0.1:{port}/"), FAST)

    record = asyncio.run(scenario())
    assert record.ending.kind == "connect-error"
    assert diagnose(record).outcome == "connect-error"


def test_a_5xx_is_an_http_error_and_its_body_is_still_read():
    record = probe_handler(status(503, b'{"error": {"message": "upstream overloaded"}}', reason="Service Unavailable")).record
    assert record.ending.kind == "http-error"
    assert "503" in record.ending.reason
    assert any(event.kind == "error" for event in record.events)
    verdict = diagnose(record)
    assert verdict.outcome == "http-error"
    assert verdict.cause("request-timeout")


def test_cancelling_a_run_returns_what_was_recorded():
    async def scenario():
        async with RawHTTPServer({"/": forever(b": hb\n\n", 0.01)}) as server:
            task = asyncio.create_task(run_probe(ProbeSpec(url=server.url("/")), FAST))
            await asyncio.sleep(0.3)
            task.cancel()
            return await task

    record = asyncio.run(scenario())
    assert record.ending.kind == "cancelled"
    assert record.events and record.reads


def test_a_server_that_stays_open_after_the_terminal_event_does_not_hold_the_run():
    async def handler(request, writer):
        await send(writer, SSE_HEAD + chunk(openai_chunk("a")) + chunk(b"data: [DONE]\n\n"))
        await asyncio.sleep(5)

    record = probe_handler(handler, replace(FAST, after_terminal_seconds=0.2)).record
    assert record.ending.kind == "terminal-event"
    assert record.facts["open_after_terminal"]
    assert record.ending.t < 1.0


def test_secret_header_values_are_sent_but_never_recorded_emitted_or_logged(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the app's settings quiet it to WARNING
    secret = "sk-this-must-not-leak-4242"
    probed = probe_handler(
        openai_stream(["a"]),
        headers=(
            HeaderSpec("Authorization", f"Bearer {secret}"),
            HeaderSpec("X-Custom", secret, secret=True),
            HeaderSpec("X-Plain", "visible"),
        ),
    )
    assert probed.requests[0].headers["authorization"] == f"Bearer {secret}"
    assert probed.requests[0].headers["x-custom"] == secret
    assert secret not in json.dumps(probed.record.to_dict())
    assert secret not in json.dumps(probed.events)
    assert secret not in caplog.text
    assert ("X-Custom", "[secret]") in probed.record.request.headers
    assert ("X-Plain", "visible") in probed.record.request.headers


def test_credentials_in_the_url_stay_out_of_the_record_and_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the app's settings quiet it to WARNING

    async def scenario():
        async with RawHTTPServer({"/": openai_stream(["a"])}) as server:
            return await run_probe(ProbeSpec(url=server.url("/?api_key=url-secret-55&model=m")), FAST), server.requests

    record, requests = asyncio.run(scenario())
    assert "url-secret-55" in requests[0].path
    assert "url-secret-55" not in json.dumps(record.to_dict())
    assert "HTTP Request" in caplog.text
    assert "url-secret-55" not in caplog.text


def test_a_json_body_is_posted_as_json():
    probed = probe_handler(openai_stream(["a"]), method="POST", json_body={"model": "m", "stream": True})
    request = probed.requests[0]
    assert request.method == "POST"
    assert json.loads(request.body) == {"model": "m", "stream": True}
    assert request.headers["content-type"] == "application/json"
    assert probed.record.request.body_kind == "json"


def test_every_run_ends_with_one_of_the_contract_endings():
    from troubleshooter.probe import ENDING_KINDS, OUTCOMES

    record = probe_handler(openai_stream(["a"])).record
    assert record.ending.kind in ENDING_KINDS
    assert diagnose(record).outcome in OUTCOMES


def test_limits_have_the_documented_defaults():
    limits = Limits()
    assert (limits.total_seconds, limits.max_bytes, limits.max_events) == (120.0, 10 * 1024 * 1024, 100_000)


def test_a_spec_that_cannot_be_sent_is_refused_with_its_problems_and_never_raises():
    spec = ProbeSpec(url="http://127.0.0.1:1/", json_body={"not", "json"}, format="xml")
    record = asyncio.run(run_probe(spec, FAST))
    assert record.ending.kind == "blocked"
    assert "unknown format" in record.ending.reason and "JSON" in record.ending.reason



async def echoing(request, writer) -> None:
    """A debugging endpoint that streams the request's headers back, then an error naming the key."""
    await send(writer, head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
    for name, value in request.headers.items():
        await send(writer, chunk(sse(json.dumps({"choices": [{"delta": {"content": f"{name}: {value}\n"}}]}))))
    await send(writer, chunk(sse(json.dumps({"error": {"message": f"bad key {request.headers['x-api-key']}"}}))))
    await send(writer, LAST_CHUNK)


def test_secrets_a_server_echoes_back_never_enter_the_record_or_the_live_events():
    token, key = "sk-echoed-0123456789abcdef", "key-echoed-987654"
    headers = (HeaderSpec("Authorization", f"Bearer {token}"), HeaderSpec("X-Api-Key", key, secret=True))
    probed = probe_handler(echoing, headers=headers)
    assert probed.requests[0].headers["x-api-key"] == key  # it was sent
    seen = json.dumps(probed.record.to_dict()) + json.dumps(probed.events, default=str)
    assert token not in seen and key not in seen
    contents = "".join(event.text for event in probed.record.events if event.kind == "content").lower()
    assert "x-api-key: [secret]" in contents and "authorization: [secret]" in contents
    assert any(event.kind == "error" and "[secret]" in (event.detail or "") for event in probed.record.events)

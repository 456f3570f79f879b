import asyncio
import json
from dataclasses import replace

from tests.probe.servers import FAST, WebSocketScript, WebSocketTestServer
from troubleshooter.probe import HeaderSpec, OutboundPolicy, ProbeSpec, diagnose, run_probe


def probe_ws(script: WebSocketScript, limits=FAST, **spec_fields):
    async def scenario():
        async with WebSocketTestServer({"/ws": script}) as server:
            record = await run_probe(ProbeSpec(url=server.url("/ws"), **spec_fields), limits)
            return record, server.request_headers

    return asyncio.run(scenario())


def test_websocket_messages_are_timed_one_read_each():
    record, _ = probe_ws(WebSocketScript(messages=["Hel", "lo", "!"], gap=0.02))
    assert record.status == 101
    assert [event.text for event in record.events] == ["Hel", "lo", "!"]
    assert len(record.reads) == 3
    assert record.ending.kind == "clean-close"
    assert record.facts["websocket_close_code"] == 1000
    assert diagnose(record).outcome == "healthy"


def test_json_messages_in_a_vendor_shape_end_with_their_terminal():
    chunks = [json.dumps({"choices": [{"delta": {"content": w}, "finish_reason": None}]}) for w in ["a", "b"]]
    record, _ = probe_ws(WebSocketScript(messages=[*chunks, "[DONE]"]))
    assert record.format == "websocket/openai"
    assert record.ending.kind == "terminal-event"


def test_a_vendor_stream_closed_before_its_terminal_is_cut_off():
    record, _ = probe_ws(WebSocketScript(messages=[json.dumps({"choices": [{"delta": {"content": "a"}}]})]))
    assert record.ending.kind == "clean-close"
    assert diagnose(record).outcome == "cut-off"


def test_binary_frames_are_recorded_with_their_size():
    record, _ = probe_ws(WebSocketScript(messages=[b"\x00\x01\x02", b"\xff" * 10]))
    assert [read.size for read in record.reads] == [3, 10]
    assert all(event.detail == "binary" for event in record.events)


def test_a_close_with_an_error_code_is_an_upstream_error():
    record, _ = probe_ws(WebSocketScript(messages=["partial"], close_code=1011, close_reason="model crashed"))
    assert record.facts["websocket_close_code"] == 1011
    verdict = diagnose(record)
    assert verdict.outcome == "upstream-error"
    assert "model crashed" in verdict.causes[0].evidence[0]


def test_a_dropped_connection_without_a_close_frame_is_a_reset():
    record, _ = probe_ws(WebSocketScript(messages=["partial"], close_code=None))
    assert record.ending.kind == "reset"
    assert "1006" in record.ending.reason


def test_a_message_over_the_line_limit_ends_with_a_limit():
    record, _ = probe_ws(WebSocketScript(messages=["x" * 5000]), replace(FAST, max_line_bytes=1000))
    assert (record.ending.kind, record.ending.limit) == ("limit", "line-length")


def test_the_body_is_sent_as_the_first_message_and_secret_headers_stay_out_of_the_record():
    record, headers = probe_ws(
        WebSocketScript(echo_first=True),
        json_body={"text": "hi"},
        headers=(HeaderSpec("Authorization", "Bearer ws-secret-9"),),
    )
    assert record.events[0].text == "hi"  # the server echoed our message
    assert headers[0]["authorization"] == "Bearer ws-secret-9"
    assert "ws-secret-9" not in json.dumps(record.to_dict())


def test_a_websocket_to_a_refused_address_is_blocked():
    async def resolver(host, port):
        return ["10.1.2.3"]

    strict = OutboundPolicy(allow_private=False)
    record = asyncio.run(run_probe(ProbeSpec(url="ws://chat.internal/ws"), FAST, policy=strict, resolver=resolver))
    assert record.ending.kind == "blocked"


def test_a_rejected_upgrade_is_an_http_error():
    async def scenario():
        from tests.probe.servers import RawHTTPServer, status

        async with RawHTTPServer({"/ws": status(403, b"no")}) as server:
            return await run_probe(ProbeSpec(url=f"ws://127.0.0.1:{server.port}/ws"), FAST)

    record = asyncio.run(scenario())
    assert record.status == 403
    assert diagnose(record).outcome == "http-error"

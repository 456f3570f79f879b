"""`manage.py probe` against every lab endpoint, served by the real app through Daphne."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

CLI_TIMEOUT = "15"


def probe(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("probe", *args, "--json", "--timeout", CLI_TIMEOUT, stdout=out)
        status = 0
    except CommandError as exc:
        status = exc.returncode
    return status, json.loads(out.getvalue())


def top_cause(result: dict) -> str | None:
    return result["causes"][0]["id"] if result["causes"] else None


@pytest.fixture
def lab(live_app: str) -> str:
    return live_app + "/lab"


def test_healthy_sse_is_healthy_and_exits_0(lab):
    status, result = probe(f"{lab}/sse/healthy/?chunks=10&delay=0.02")
    assert status == 0
    assert result["outcome"] == "healthy" and result["causes"] == []
    assert result["metrics"]["content_event_count"] == 10


def test_a_buffered_stream_is_named_proxy_buffering(lab):
    status, result = probe(f"{lab}/sse/buffered/?chunks=10&delay=0.05")
    assert status == 1
    assert result["outcome"] == "buffered"
    assert top_cause(result) == "proxy-buffering"
    assert any("Via: 1.1 lab-buffering-proxy" in e for e in result["causes"][0]["evidence"])






@pytest.mark.parametrize(
    ("route", "args", "outcome", "cause"),
    [
        ("/sse/idle-cut/?chunks=3&delay=0.05&gap=1", ["--known-timeout", "1"], "cut-off", "idle-timeout"),
        ("/sse/hard-cut/?at=1.5&delay=0.05", ["--known-timeout", "1.5"], "cut-off", "request-timeout"),
        ("/content-length-mismatch/?chunks=5&delay=0.02", [], "cut-off", "content-length-mismatch"),
        ("/openai/length/v1/chat/completions", ["--data", '{"stream": true, "max_tokens": 5}'],
         "truncated-by-model", "token-limit"),
        ("/openai/error/v1/chat/completions", ["--data", '{"stream": true}'], "upstream-error", "upstream-error"),
        ("/openai/healthy/v1/chat/completions?chunks=10&delay=0.1", ["--data", '{"stream": false}'],
         "buffered", "server-buffering"),
        ("/anthropic/v1/messages?chunks=10&delay=0.02", ["--data", '{"max_tokens": 4}'],
         "truncated-by-model", "token-limit"),
    ],
    ids=["idle-timeout", "request-timeout", "content-length", "openai-length", "openai-error", "not-streaming",
         "anthropic-max-tokens"],
)
def test_each_failing_lab_endpoint_exits_1_with_its_outcome_and_first_cause(lab, route, args, outcome, cause):
    status, result = probe(f"{lab}{route}", *args)
    assert status == 1
    assert result["outcome"] == outcome
    assert top_cause(result) == cause


def test_a_stream_without_its_terminal_event_is_cut_off(lab):
    status, result = probe(f"{lab}/sse/no-terminal/?chunks=5&delay=0.02")
    assert status == 1
    assert result["outcome"] == "cut-off"
    assert result["lanes"][0]["record"]["ending"]["kind"] == "clean-close"




def test_gzip_per_chunk_is_named_per_chunk_compression(lab):
    status, result = probe(f"{lab}/sse/gzip/?chunks=5&delay=0.02")
    assert status == 1
    assert top_cause(result) == "per-chunk-compression"
    assert result["lanes"][0]["record"]["facts"]["gzip_members"] == 6


def test_a_healthy_openai_stream_is_healthy(lab):
    status, result = probe(f"{lab}/openai/healthy/v1/chat/completions", "--data", '{"stream": true}')
    assert status == 0
    assert result["outcome"] == "healthy"
    assert result["lanes"][0]["record"]["format"] == "sse/openai"






def test_a_slow_first_token_is_measured_but_not_a_fault(lab):
    status, result = probe(
        f"{lab}/openai/slow-first/v1/chat/completions?first=1&chunks=5&delay=0.02", "--data", '{"stream": true}'
    )
    assert status == 0
    assert result["metrics"]["time_to_first_content"] >= 1.0




def test_anthropic_messages_are_parsed_to_their_stop_event(lab):
    status, result = probe(f"{lab}/anthropic/v1/messages?chunks=5&delay=0.02", "--data", '{"max_tokens": 100}')
    assert status == 0
    assert result["lanes"][0]["record"]["format"] == "sse/anthropic"




def test_ndjson_is_healthy(lab):
    status, result = probe(f"{lab}/ndjson/?chunks=5&delay=0.02")
    assert status == 0
    assert result["lanes"][0]["record"]["format"].startswith("ndjson")


def test_a_websocket_stream_is_healthy(live_app):
    status, result = probe(live_app.replace("http", "ws", 1) + "/lab/ws/?chunks=5&delay=0.02")
    assert status == 0
    assert result["metrics"]["content_event_count"] == 5


def test_parallel_streams_report_each_stream(lab):
    status, result = probe(f"{lab}/sse/healthy/?chunks=5&delay=0.05", "--concurrency", "4")
    assert status == 0
    assert result["kind"] == "parallel"
    assert [lane["label"] for lane in result["lanes"]] == ["alone", "stream 1", "stream 2", "stream 3", "stream 4"]
    assert result["overlap"]["n"] == 4


def test_comparing_direct_and_a_buffering_hop_explains_the_difference(lab):
    status, result = probe(f"{lab}/sse/healthy/?chunks=5&delay=0.05", "--compare", f"{lab}/sse/buffered/?chunks=5&delay=0.05")
    assert status == 1
    assert [lane["outcome"] for lane in result["lanes"]] == ["healthy", "buffered"]
    assert result["outcome"] == "buffered" and result["leading_lane"] == "through the proxy"
    assert any("proxy-buffering" in line for line in result["differences"])


def test_the_langchain_client_is_timed_next_to_the_raw_stream(lab):
    status, result = probe(f"{lab}/openai/healthy/v1", "--via-langchain", "--model", "lab-model")
    assert status == 0
    assert [lane["label"] for lane in result["lanes"]] == ["raw HTTP", "ChatOpenAI.astream()"]
    assert [lane["outcome"] for lane in result["lanes"]] == ["healthy", "healthy"]


def test_a_healthy_stream_points_past_the_probe_without_naming_a_cause(lab):
    status, result = probe(f"{lab}/sse/healthy/?chunks=5&delay=0.02")
    assert status == 0 and result["causes"] == []
    assert [hint["id"] for hint in result["hints"]] == ["client-disconnect", "multi-worker-routing"]


def test_a_retried_run_that_starts_over_with_a_new_id_is_named_retry_duplicate_runs(lab):
    status, result = probe(f"{lab}/sse/retried/?chunks=6&delay=0.02&pause=0.5")
    # The transport was fine; the content is doubled, and the reader gets it wrong.
    assert status == 1 and result["outcome"] == "content-error"
    assert top_cause(result) == "retry-duplicate-runs"
    assert result["lanes"][0]["record"]["facts"]["completion_ids"] == {"chatcmpl-lab-1": 4, "chatcmpl-lab-2": 8}
    evidence = " | ".join(result["causes"][0]["evidence"])
    assert "a second run followed the first" in evidence
    assert "the text started over at content event 4" in evidence
    assert result["hints"] == []


def test_two_runs_writing_at_once_are_named_interleaved(lab):
    status, result = probe(f"{lab}/sse/retried/?chunks=4&delay=0.01&interleave=1")
    assert top_cause(result) == "retry-duplicate-runs"
    assert any("interleaved" in line for line in result["causes"][0]["evidence"])


def test_printed_aimessagechunks_instead_of_text_are_named_version_drift(lab):
    status, result = probe(f"{lab}/sse/object-reprs/?chunks=4&delay=0.02")
    assert status == 1 and result["outcome"] == "content-error"
    assert top_cause(result) == "version-drift"
    assert "additional_kwargs=" in result["causes"][0]["evidence"][0]


def test_a_500_saying_the_event_loop_is_closed_is_named_event_loop_misuse(lab):
    status, result = probe(f"{lab}/event-loop-closed/")
    assert status == 1
    assert result["outcome"] == "http-error"
    assert top_cause(result) == "event-loop-misuse"
    assert "RuntimeError: Event loop is closed" in result["lanes"][0]["record"]["facts"]["error_body"]


def test_a_vercel_function_cut_at_its_limit_is_named_serverless_limits(lab):
    status, result = probe(f"{lab}/sse/serverless-cut/?at=1.5&delay=0.05", "--known-timeout", "1.5")
    assert status == 1
    assert result["outcome"] == "cut-off"
    assert top_cause(result) == "serverless-limits"
    assert result["causes"][0]["evidence"][0].startswith("the response came from Vercel Functions: Server: Vercel; X-Vercel-Id: lab1::")


def test_replicas_where_one_cuts_every_stream_are_named_multi_worker_routing(lab):
    status, result = probe(f"{lab}/sse/replicas/?chunks=6&delay=0.02&replicas=2&broken=1", "--concurrency", "4")
    assert status == 1
    assert top_cause(result) == "multi-worker-routing"
    assert "X-Served-By: lab-replica-1" in result["causes"][0]["evidence"][1]


def test_a_metadata_address_is_blocked_without_connecting(lab):
    status, result = probe("http://169.254.169.254/latest/meta-data/")
    assert status == 1
    assert result["outcome"] == "blocked"


def test_secret_headers_never_reach_the_output(lab):
    out = io.StringIO()
    call_command(
        "probe", f"{lab}/sse/healthy/?chunks=3&delay=0.01", "-S", "X-Api-Key: sk-very-secret-value",
        "--json", stdout=out,
    )
    assert "sk-very-secret-value" not in out.getvalue()
    assert "X-Api-Key" in out.getvalue()


@pytest.mark.parametrize(
    "args, message",
    [
        (["ftp://example.invalid/"], "unsupported scheme"),
        (["http://127.0.0.1/", "--concurrency", "51"], "--concurrency must be between 1 and 50"),
        (["http://127.0.0.1/", "-H", "no colon here"], "a header must look like"),
        (["http://127.0.0.1/", "--timeout", "0"], "--timeout must be between"),
        (["http://127.0.0.1/", "--compare", "http://127.0.0.1/", "--concurrency", "2"], "choose one of"),
        (["http://127.0.0.1/", "--repeat", "3", "--concurrency", "2"], "choose one of"),
        (["http://127.0.0.1/", "--repeat", "11"], "repeats must be between 2 and 10"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("probe", *args)
    assert caught.value.returncode == 2


def test_the_readable_summary_draws_a_timeline(lab):
    out = io.StringIO()
    call_command("probe", f"{lab}/sse/healthy/?chunks=10&delay=0.02", stdout=out)
    text = out.getvalue()
    assert "healthy" in text and "0 s |" in text and "first byte" in text


def test_a_stream_longer_than_the_probes_own_time_limit_is_limit_reached_and_exits_3(lab):
    out = io.StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("probe", f"{lab}/sse/healthy/?chunks=400&delay=0.02", "--json", "--timeout", "1", stdout=out)
    result = json.loads(out.getvalue())
    assert stopped.value.returncode == 3
    assert result["outcome"] == "limit-reached" and result["problem_found"] is True
    assert "probe's own" in result["summary"] and result["metrics"]["content_event_count"] > 5
    assert not any(cause["id"] in ("idle-timeout", "request-timeout", "callback-exception") for cause in result["causes"])


def test_repeated_runs_print_where_each_was_cut_and_the_cause_that_follows(lab):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("probe", f"{lab}/sse/hard-cut/?at=1.5&delay=0.05&jitter=0.2&vary=0.3", "--repeat", "2", stdout=out)
    text = out.getvalue()
    assert text.startswith("The same request several times of ")
    assert "where each run was cut:" in text and "  - run 2: cut 1.5 s after the request was sent" in text
    assert "request-timeout" in text

import json

import pytest

from tests.probe.servers import make_record, steady_stream
from troubleshooter.probe.diagnosis import KNOWN_TIMEOUTS, Diagnosis, concurrency_causes, diagnose
from troubleshooter.probe.metrics import analyse_overlap
from troubleshooter.probe.record import Ending, Event
from troubleshooter.vocabulary import OUTCOMES

# The ids every guide page and permalink use.
CAUSE_IDS = {
    "server-buffering", "proxy-buffering", "compression-buffering", "per-chunk-compression", "idle-timeout",
    "request-timeout", "serverless-limits", "content-length-mismatch", "client-disconnect", "multi-worker-routing",
    "retry-duplicate-runs", "blocking-event-loop", "worker-saturation", "event-loop-misuse", "callback-exception",
    "shared-client-race", "state-growth", "version-drift", "token-limit", "upstream-error",
    "stream-not-requested", "lost-callback-context",
}


def top(verdict: Diagnosis) -> str:
    return verdict.causes[0].id


def healthy_record():
    reads, events = steady_stream(40, gap=0.05)
    return make_record(reads=reads, events=[*events, (2.1, "terminal")], ending=("terminal-event", 2.15))


def test_a_steady_stream_with_its_terminal_event_is_healthy_with_no_strong_cause():
    verdict = diagnose(healthy_record())
    assert verdict.outcome == "healthy"
    assert all(cause.confidence < 0.5 for cause in verdict.causes)
    assert "40 content events" in verdict.summary


@pytest.mark.parametrize(
    ("ending", "outcome"),
    [
        (Ending("blocked", 0.0, "10.0.0.1 is a private address"), "blocked"),
        (Ending("connect-error", 0.1, "connection refused"), "connect-error"),
        (Ending("limit", 30.0, "no headers", "time-to-headers"), "connect-error"),
        (Ending("limit", 120.0, "total", "total-time"), "limit-reached"),
        (Ending("reset", 3.0), "cut-off"),
        (Ending("incomplete-read", 3.0), "cut-off"),
        (Ending("cancelled", 3.0), "cut-off"),
    ],
)
def test_the_ending_decides_the_outcome_when_nothing_else_does(ending, outcome):
    reads, events = steady_stream(5, gap=0.1)
    assert diagnose(make_record(reads=reads, events=events, ending=ending)).outcome == outcome


def test_a_non_2xx_status_is_an_http_error():
    record = make_record(status=500, ending=("http-error", 0.2), reads=[(0.2, 50)])
    assert diagnose(record).outcome == "http-error"


def test_a_clean_close_is_healthy_only_for_formats_without_a_terminal_event():
    reads, events = steady_stream(10, gap=0.05)
    assert diagnose(make_record(reads=reads, events=events, ending=("clean-close", 0.7), expects_terminal=False)).outcome == "healthy"
    assert diagnose(make_record(reads=reads, events=events, ending=("clean-close", 0.7), expects_terminal=True)).outcome == "cut-off"


def test_a_json_body_that_came_in_one_piece_after_a_wait_is_server_buffering():
    record = make_record(
        reads=[(4.2, 2048)],
        events=[(4.2, "content"), (4.2, "finish")],
        ending=("clean-close", 4.21),
        headers={"Content-Type": "application/json", "Content-Length": "2048"},
        expects_terminal=False,
    )
    verdict = diagnose(record)
    assert verdict.outcome == "buffered"
    assert top(verdict) == "server-buffering"
    evidence = " | ".join(verdict.causes[0].evidence)
    assert "4.2 s after the request" in evidence
    assert "Content-Length: 2048" in evidence
    assert "application/json" in evidence


ANSWER = " ".join(["Streams", "fail", "in", "quiet", "ways:", "a", "proxy", "holds", "the", "bytes,"] * 4)


def one_piece_record(text: str = ANSWER, at: float = 2.4, headers: dict | None = None, ending=None):
    """An SSE stream whose headers came at once and whose whole text came in one event, late."""
    events = [Event("content", at, text), Event("terminal", at + 0.001)]
    reads = [(at, 120 + len(text)), (at + 0.001, 60)]
    return make_record(reads=reads, events=events, ending=ending or ("terminal-event", at + 0.002),
                       headers=headers, time_to_headers=0.01)


def test_the_whole_answer_in_one_event_after_a_wait_is_a_model_nobody_asked_to_stream():
    verdict = diagnose(one_piece_record())
    assert verdict.outcome == "buffered"
    assert top(verdict) == "stream-not-requested"
    evidence = " | ".join(verdict.causes[0].evidence)
    assert "the whole answer (40 words, 211 characters) arrived in one content event, 2.4 s after the request" in evidence
    assert "the headers came 10 ms after the request" in evidence
    assert "one content event, 2.4 s after the request" in verdict.summary


def test_lost_callbacks_on_old_python_are_named_below_it_with_the_python_version_as_the_tell():
    verdict = diagnose(one_piece_record())
    ranked = [cause.id for cause in verdict.causes]
    assert ranked.index("lost-callback-context") > ranked.index("stream-not-requested")
    evidence = " | ".join(verdict.cause("lost-callback-context").evidence)
    assert "looks the same from outside" in evidence
    assert "3.10 or earlier with LangChain or LangGraph" in evidence


def test_a_server_that_names_python_3_10_makes_lost_callbacks_the_close_second():
    verdict = diagnose(one_piece_record(headers={"Server": "Python/3.10 aiohttp/3.9.5"}))
    assert [cause.id for cause in verdict.causes[:2]] == ["stream-not-requested", "lost-callback-context"]
    assert verdict.cause("lost-callback-context").confidence >= 0.6
    assert any("runs Python 3.10" in line for line in verdict.cause("lost-callback-context").evidence)


def test_a_server_that_names_python_3_12_rules_lost_callbacks_out():
    verdict = diagnose(one_piece_record(headers={"Server": "Werkzeug/3.0.3 Python/3.12.4"}))
    assert top(verdict) == "stream-not-requested"
    assert verdict.cause("lost-callback-context") is None
    assert any("the callback context is carried" in line for line in verdict.causes[0].evidence)


def test_one_event_behind_nginx_is_still_the_app_not_the_proxy():
    verdict = diagnose(one_piece_record(headers={"Server": "nginx"}))
    assert top(verdict) == "stream-not-requested"
    proxy = verdict.cause("proxy-buffering")
    assert proxy is not None and proxy.confidence < verdict.causes[0].confidence
    assert any("does not merge them" in line for line in proxy.evidence)


def test_a_short_one_word_answer_in_one_event_is_not_flagged():
    verdict = diagnose(one_piece_record(text="Yes.", at=0.6))
    assert verdict.outcome == "healthy"
    assert verdict.cause("stream-not-requested") is None
    assert verdict.cause("lost-callback-context") is None


def test_a_whole_answer_that_comes_at_once_with_no_wait_is_not_flagged():
    verdict = diagnose(one_piece_record(at=0.05))
    assert verdict.cause("stream-not-requested") is None


def test_one_long_event_on_a_stream_that_was_cut_is_a_cut_not_an_answer_sent_whole():
    verdict = diagnose(make_record(reads=[(2.4, 400)], events=[Event("content", 2.4, ANSWER)], ending=("reset", 2.5)))
    assert verdict.outcome == "cut-off"
    assert verdict.cause("stream-not-requested") is None


def test_many_tokens_arriving_together_are_not_a_single_piece():
    reads = [(3.0 + i * 0.0001, 40) for i in range(40)]
    events = [Event("content", t, "word ") for t, _ in reads] + [Event("terminal", 3.01)]
    verdict = diagnose(make_record(reads=reads, events=events, ending=("terminal-event", 3.02)))
    assert verdict.outcome == "buffered"
    assert verdict.cause("stream-not-requested") is None


def test_everything_at_once_behind_nginx_is_proxy_buffering_with_the_numbers():
    reads = [(9.8 + i * 0.00001, 100) for i in range(412)]
    events = [(t, "content") for t, _ in reads] + [(9.803, "terminal")]
    record = make_record(reads=reads, events=events, ending=("terminal-event", 9.81), headers={"Server": "nginx"})
    verdict = diagnose(record)
    assert verdict.outcome == "buffered"
    assert top(verdict) == "proxy-buffering"
    evidence = verdict.causes[0].evidence
    assert "all 412 chunks (41200 bytes) arrived within 4 ms, 9.8 s after the request" in evidence
    assert "Server: nginx" in evidence
    assert "no X-Accel-Buffering header" in evidence


def test_bursts_of_4k_and_8k_on_a_stream_are_proxy_buffering():
    reads = [(1.0, 8192), (2.0, 8192), (3.0, 4096), (3.5, 700)]
    events = [(t, "content") for t, _ in reads] + [(3.5, "terminal")]
    record = make_record(reads=reads, events=events, ending=("terminal-event", 3.6), headers={"Via": "1.1 google"})
    verdict = diagnose(record)
    assert verdict.outcome == "buffered"
    assert top(verdict) == "proxy-buffering"
    assert any("4/8/16/32 KiB" in line for line in verdict.causes[0].evidence)


def test_compression_on_an_event_stream_that_arrives_in_bursts_is_compression_buffering():
    reads = [(5.0 + i * 0.0001, 300) for i in range(10)]
    events = [(t, "content") for t, _ in reads] + [(5.001, "terminal")]
    record = make_record(reads=reads, events=events, ending=("terminal-event", 5.01), headers={"Content-Encoding": "gzip"})
    verdict = diagnose(record)
    assert top(verdict) == "compression-buffering"
    assert "Content-Encoding: gzip on text/event-stream" in verdict.causes[0].evidence


def test_several_gzip_members_are_per_chunk_compression_and_a_cut_for_common_clients():
    reads, events = steady_stream(5, gap=0.1)
    record = make_record(reads=reads, events=[*events, (0.6, "terminal")], facts={"gzip_members": 5, "decoded_bytes": 900, "first_gzip_member_bytes": 180})
    verdict = diagnose(record)
    assert verdict.outcome == "cut-off"
    assert top(verdict) == "per-chunk-compression"
    assert "they get 180 of 900 bytes" in verdict.causes[0].evidence[1]


def cut_record(last_read: float, cut_at: float, flowing_from: float = 0.1, kind: str = "reset"):
    count = max(int((last_read - flowing_from) / 0.5), 1) + 1
    times = [flowing_from + (last_read - flowing_from) * i / (count - 1) for i in range(count)] if count > 1 else [last_read]
    return make_record(reads=[(t, 80) for t in times], events=[(t, "content") for t in times], ending=(kind, cut_at))


def test_a_cut_60_s_after_the_last_byte_is_an_idle_timeout():
    verdict = diagnose(cut_record(last_read=15.0, cut_at=75.1))
    assert verdict.outcome == "cut-off"
    assert top(verdict) == "idle-timeout"
    assert any("nginx proxy_read_timeout" in line for line in verdict.causes[0].evidence)
    assert not verdict.cause("request-timeout")


def test_a_cut_at_30_s_while_data_flows_is_a_request_timeout():
    verdict = diagnose(cut_record(last_read=29.95, cut_at=30.05))
    assert top(verdict) == "request-timeout"
    assert any("gunicorn" in line for line in verdict.causes[0].evidence)
    assert not verdict.cause("idle-timeout")


def test_idle_and_hard_timeouts_are_told_apart_by_the_gap_versus_the_total():
    idle = diagnose(cut_record(last_read=40.0, cut_at=100.2))  # silent 60 s, total 100 s
    hard = diagnose(cut_record(last_read=99.9, cut_at=100.2))  # flowing until 100 s
    assert top(idle) == "idle-timeout"
    assert top(hard) == "request-timeout"


def test_a_long_silence_that_matches_no_constant_still_names_an_idle_timeout_first():
    verdict = diagnose(cut_record(last_read=5.0, cut_at=47.0))
    assert top(verdict) == "idle-timeout"
    assert 0.5 < verdict.cause("idle-timeout").confidence < 0.8  # a matching constant would say more


def test_a_silence_that_breaks_the_streams_rhythm_then_a_cut_is_an_idle_timer_of_about_that_length():
    times = [round(0.1 * i, 1) for i in range(1, 10)]  # a chunk every 100 ms until 0.9 s
    record = make_record(reads=[(t, 80) for t in times], events=[(t, "content") for t in times], ending=("reset", 3.7))
    verdict = diagnose(record)
    assert top(verdict) == "idle-timeout"
    evidence = " ".join(verdict.causes[0].evidence)
    assert "closed 2.8 s after the last byte" in evidence and "an idle timer of about 2.8 s" in evidence
    assert "every 100 ms" in evidence
    assert not verdict.cause("callback-exception")


def test_a_short_pause_within_the_streams_rhythm_is_not_an_idle_timeout():
    assert not diagnose(cut_record(last_read=2.0, cut_at=2.3)).cause("idle-timeout")


def test_callers_may_replace_the_table_of_known_timeouts():
    record = cut_record(last_read=2.0, cut_at=9.0)
    assert diagnose(record).cause("idle-timeout").confidence == 0.6
    ours = {"idle": {7.0: "our load balancer's 7 s idle timeout"}, "hard": {}}
    verdict = diagnose(record, timeouts=ours)
    assert top(verdict) == "idle-timeout" and verdict.causes[0].confidence == 0.8
    assert "our load balancer" in " ".join(verdict.causes[0].evidence)
    assert 60.0 in KNOWN_TIMEOUTS["idle"]  # the default table is untouched


@pytest.mark.parametrize(("status", "waited", "expected_confidence"), [(504, 30.0, 0.8), (504, 12.0, 0.5), (502, 12.0, 0.3)])
def test_gateway_statuses_point_at_a_request_timeout(status, waited, expected_confidence):
    record = make_record(status=status, time_to_headers=waited, ending=("http-error", waited + 0.01))
    verdict = diagnose(record)
    assert verdict.outcome == "http-error"
    assert verdict.cause("request-timeout").confidence == expected_confidence


def test_a_524_is_cloudflares_idle_timeout():
    verdict = diagnose(make_record(status=524, time_to_headers=100.0, ending=("http-error", 100.0)))
    assert verdict.cause("idle-timeout")


def test_an_incomplete_read_against_a_declared_length_is_a_content_length_mismatch():
    record = make_record(reads=[(0.1, 13)], events=[(0.1, "content")], headers={"Content-Length": "500"},
                         ending=Ending("incomplete-read", 0.12, "received 13 bytes, expected 500"))
    verdict = diagnose(record)
    assert top(verdict) == "content-length-mismatch"
    assert "expected 500" in verdict.causes[0].evidence[0]


@pytest.mark.parametrize("reason", ["length", "max_tokens", "max_output_tokens"])
def test_a_length_finish_reason_is_the_token_limit(reason):
    reads, events = steady_stream(5, gap=0.1)
    events = [*events, Event(kind="finish", t=0.6, finish_reason=reason), (0.6, "terminal")]
    verdict = diagnose(make_record(reads=reads, events=events))
    assert verdict.outcome == "truncated-by-model"
    assert top(verdict) == "token-limit"


def test_an_error_event_after_content_is_an_upstream_error():
    reads, events = steady_stream(5, gap=0.1)
    events = [*events, Event(kind="error", t=0.6, detail="overloaded_error: Overloaded")]
    verdict = diagnose(make_record(reads=reads, events=events, ending=("clean-close", 0.61)))
    assert verdict.outcome == "upstream-error"
    assert top(verdict) == "upstream-error"
    assert "after 5 content events" in verdict.causes[0].evidence[0]


def test_gaps_that_grow_over_the_run_suggest_state_growth():
    times, t = [], 0.1
    for index in range(15):
        times.append(t)
        t += 0.02 * (1.5**index)
    record = make_record(reads=[(x, 50) for x in times], events=[(x, "content") for x in times], ending=("terminal-event", t))
    assert diagnose(record).cause("state-growth")


def serial_records():
    records = []
    for index in range(4):
        first = 0.1 + index * 1.1
        reads = [(first + step * 0.25, 50) for step in range(5)]
        records.append(make_record(reads=reads, ending=("terminal-event", first + 1.01)))
    return records


def test_first_bytes_in_steps_are_worker_saturation():
    causes = {cause.id: cause for cause in concurrency_causes(analyse_overlap(serial_records()))}
    assert causes["worker-saturation"].confidence >= 0.7
    assert "4 steps" in causes["worker-saturation"].evidence[0]
    assert "one after another" in causes["blocking-event-loop"].evidence[0]


def test_gaps_that_grow_with_concurrency_point_at_a_blocked_event_loop():
    baseline = make_record(reads=[(0.1 + i * 0.02, 50) for i in range(10)], ending=("terminal-event", 0.4))
    slowed = [make_record(reads=[(0.1 + i * 0.2, 50) for i in range(10)], ending=("terminal-event", 2.1)) for _ in range(5)]
    causes = {cause.id: cause for cause in concurrency_causes(analyse_overlap(slowed, baseline))}
    assert "blocking-event-loop" in causes
    assert "grew from 20 ms for one stream alone to 200 ms" in causes["blocking-event-loop"].evidence[0]
    assert "worker-saturation" not in causes


def test_diagnose_merges_concurrency_causes_when_given():
    verdict = diagnose(healthy_record(), concurrency=analyse_overlap(serial_records()))
    assert top(verdict) == "worker-saturation"


def test_a_diagnosis_is_json_and_speaks_only_the_shared_vocabulary():
    records = [healthy_record(), cut_record(15.0, 75.1), serial_records()[0]]
    for record in records:
        verdict = diagnose(record)
        data = json.loads(json.dumps(verdict.to_dict()))
        assert data["outcome"] in OUTCOMES
        assert {cause["id"] for cause in data["causes"]} <= CAUSE_IDS
        assert all(0 <= cause["confidence"] <= 1 and cause["evidence"] for cause in data["causes"])


def test_a_cause_outside_the_vocabulary_cannot_be_named():
    import pytest

    from troubleshooter.probe.diagnosis import Cause

    with pytest.raises(ValueError, match="not a cause id"):
        Cause("proxy-bufering", 0.5, [])


# --- causes read from words: event-loop misuse and version drift ---------------------------


def error_record(body: str, status: int = 500, content_type: str = "application/json"):
    """A non-2xx answer: a JSON body leaves only the engine's snippet, a text body its content."""
    if content_type == "application/json":
        return make_record(status=status, reads=[(0.2, len(body))], events=[(0.2, "meta")],
                           ending=("http-error", 0.21), headers={"Content-Type": content_type},
                           facts={"error_body": body}, expects_terminal=False)
    events = [Event(kind="content", t=0.2, text=body[:40]), Event(kind="content", t=0.2, text=body[40:])]
    return make_record(status=status, reads=[(0.2, len(body))], events=events, ending=("http-error", 0.21),
                       headers={"Content-Type": content_type}, expects_terminal=False)


def text_stream(texts, gap=0.05, start=0.1, pauses=None, ending=("clean-close", None), expects_terminal=False):
    """A 2xx stream whose content events carry `texts`; `pauses` adds silence before given indexes."""
    events, t = [], start
    for index, text in enumerate(texts):
        t += (pauses or {}).get(index, 0.0)
        events.append(Event(kind="content", t=round(t, 4), text=text))
        t += gap
    kind, end = ending
    return make_record(reads=[(e.t, 40) for e in events], events=events, ending=(kind, end or t),
                       expects_terminal=expects_terminal)


def test_a_500_whose_body_says_the_event_loop_is_closed_is_event_loop_misuse():
    verdict = diagnose(error_record('{"detail": "RuntimeError: Event loop is closed"}'))
    assert verdict.outcome == "http-error"
    assert top(verdict) == "event-loop-misuse"
    cause = verdict.causes[0]
    assert cause.confidence == 0.95
    assert cause.evidence[0] == 'the HTTP 500 body says "{"detail": "RuntimeError: Event loop is closed"}"'


@pytest.mark.parametrize(
    "message",
    [
        "RuntimeError: This event loop is already running",
        "RuntimeError: Task <Task pending> got Future <Future pending> attached to a different loop",
        "RuntimeError: You cannot use AsyncToSync in the same thread as an async event loop - just await it.",
        "asyncio.run() cannot be called from a running event loop (raised inside the handler)",
    ],
)
def test_every_asyncio_loop_message_in_an_error_page_names_event_loop_misuse(message):
    body = f"Traceback (most recent call last):\n  File \"app.py\", line 3, in chat\n{message}\n"
    verdict = diagnose(error_record(body, content_type="text/plain"))
    assert top(verdict) == "event-loop-misuse"
    assert message[:40] in verdict.causes[0].evidence[0]


def test_the_same_words_inside_a_successful_stream_are_only_a_weak_sign():
    record = text_stream(["Sorry, ", "something failed: ", "Error: Event loop is closed"], ending=("clean-close", None))
    verdict = diagnose(record)
    assert verdict.outcome == "healthy"
    cause = verdict.cause("event-loop-misuse")
    assert cause.confidence == 0.5
    assert 'content event 3 (at 200 ms) says "Error: Event loop is closed"' == cause.evidence[0]
    assert "the model's words" in cause.evidence[2]


def test_a_500_with_another_message_is_not_event_loop_misuse():
    verdict = diagnose(error_record('{"detail": "KeyError: \'messages\'"}'))
    assert not verdict.cause("event-loop-misuse")
    assert not verdict.cause("version-drift")


@pytest.mark.parametrize(
    ("chunk", "quoted"),
    [
        ("content='Hello' additional_kwargs={} response_metadata={} id='run-1'", "content='Hello' additional_kwargs="),
        ("AIMessageChunk(content=' there', additional_kwargs={})", "AIMessageChunk("),
        ("<async_generator object StreamingAgentChatResponse.async_response_gen at 0x7f3a>", "<async_generator object"),
        ("ChatCompletionChunk(id='chatcmpl-1', choices=[Choice(delta=ChoiceDelta(content='Hi'))])", "ChatCompletionChunk("),
    ],
)
def test_printed_library_objects_in_the_stream_are_version_drift(chunk, quoted):
    verdict = diagnose(text_stream(["Hi", chunk, chunk]))
    cause = verdict.cause("version-drift")
    assert cause.confidence == 0.6
    assert cause.evidence[0].startswith("content event 2 (at 150 ms) holds a printed Python object instead of text")
    assert quoted in cause.evidence[0]


def test_a_model_writing_about_additional_kwargs_token_by_token_is_not_version_drift():
    tokens = ["The", " field", " content", "='", "Hello", "'", " additional", "_kwargs", "={}", " holds", " extras."]
    assert not diagnose(text_stream(tokens)).cause("version-drift")


@pytest.mark.parametrize(
    "message",
    [
        "AttributeError: 'StreamingAgentChatResponse' object has no attribute 'async_response_gen'",
        "TypeError: Completions.create() got an unexpected keyword argument 'stream_options'",
        "ValueError: Disallowed create args: {'stream'}",
        "TypeError: 'ChatCompletionChunk' object is not subscriptable",
        "TypeError: 'async_generator' object is not iterable",
    ],
)
def test_an_error_about_a_missing_streaming_name_is_version_drift(message):
    verdict = diagnose(error_record(json.dumps({"detail": message})))
    cause = verdict.cause("version-drift")
    assert cause.confidence == 0.75
    assert message.split(": ", 1)[1][:30] in cause.evidence[0]


def test_an_attribute_error_on_an_unrelated_name_is_not_version_drift():
    verdict = diagnose(error_record("{\"detail\": \"AttributeError: 'User' object has no attribute 'team_id'\"}"))
    assert not verdict.cause("version-drift")


# --- a second run in one stream -------------------------------------------------------------

OPENING = ["Streams ", "fail ", "in ", "quiet ", "ways: ", "a ", "proxy ", "holds ", "the ", "bytes. "]


def test_two_completion_ids_one_after_the_other_are_a_retried_run():
    record = text_stream(OPENING[:5] + OPENING, pauses={5: 2.0}, ending=("terminal-event", None))
    record.facts.update({"completion_ids": {"chatcmpl-a": 6, "chatcmpl-b": 12}, "completion_id_changes": 1})
    cause = diagnose(record).cause("retry-duplicate-runs")
    assert cause.confidence == 0.9
    assert cause.evidence[0] == "the chunks carried 2 different completion ids: chatcmpl-a (6 chunks), chatcmpl-b (12 chunks)"
    assert "a second run followed the first" in cause.evidence[1]
    assert cause.evidence[2] == (
        "the text started over at content event 6 (2.4 s): all 28 characters sent before it came again, "
        "after a silence of 2.1 s"
    )


def test_completion_ids_that_alternate_are_interleaved_runs():
    record = text_stream([word for word in OPENING for _ in ("first run", "second run")])
    record.facts.update({"completion_ids": {"chatcmpl-a": 7, "chatcmpl-b": 7}, "completion_id_changes": 11})
    cause = diagnose(record).cause("retry-duplicate-runs")
    assert cause.confidence == 0.8
    assert cause.evidence[1] == "the id switched 11 times: the runs' chunks were interleaved"


def test_a_server_that_gives_every_chunk_its_own_id_is_not_a_retry():
    record = text_stream(OPENING)
    record.facts.update({"completion_ids": {f"id-{i}": 1 for i in range(8)}, "completion_id_changes": 9})
    assert not diagnose(record).cause("retry-duplicate-runs")


def test_two_message_start_events_are_two_anthropic_runs():
    events = [Event(kind="meta", t=0.1, name="message_start"), Event(kind="content", t=0.2, text="Hi"),
              Event(kind="meta", t=0.3, name="message_start"), Event(kind="content", t=0.4, text="Hi"),
              Event(kind="terminal", t=0.5, name="message_stop")]
    cause = diagnose(make_record(reads=[(0.1, 50), (0.3, 50)], events=events)).cause("retry-duplicate-runs")
    assert cause.confidence == 0.8
    assert cause.evidence[0] == "2 message_start events arrived; one response has one"


def test_the_assistant_role_announced_again_is_a_new_run():
    record = text_stream(OPENING)
    record.facts["role_restarts"] = 1
    cause = diagnose(record).cause("retry-duplicate-runs")
    assert cause.confidence == 0.7
    assert "announced again 1 time after content had begun" in cause.evidence[0]


def test_text_that_starts_over_after_a_pause_is_a_retried_run_even_without_ids():
    cause = diagnose(text_stream(OPENING[:6] + OPENING, pauses={6: 1.5})).cause("retry-duplicate-runs")
    assert cause.confidence == 0.5
    assert cause.evidence[0].endswith("all 30 characters sent before it came again, after a silence of 1.5 s")


def test_text_that_repeats_without_a_pause_or_a_marker_is_not_called_a_retry():
    assert not diagnose(text_stream(OPENING + OPENING[:6])).cause("retry-duplicate-runs")


def test_a_model_looping_on_its_opening_again_and_again_is_not_a_retry():
    assert not diagnose(text_stream(OPENING * 4, pauses={10: 1.0})).cause("retry-duplicate-runs")


# --- serverless platforms -------------------------------------------------------------------


def test_a_504_that_vercel_names_a_function_timeout_is_serverless_limits():
    record = make_record(status=504, time_to_headers=10.0, ending=("http-error", 10.01),
                         headers={"X-Vercel-Error": "FUNCTION_INVOCATION_TIMEOUT", "X-Vercel-Id": "iad1::abc-1"})
    verdict = diagnose(record)
    assert top(verdict) == "serverless-limits"
    assert verdict.causes[0].evidence == [
        "X-Vercel-Error: FUNCTION_INVOCATION_TIMEOUT",
        "X-Vercel-Id: iad1::abc-1",
        "Vercel Functions stopped the function because it ran longer than its maximum duration",
    ]


def test_api_gateways_timeout_message_in_the_body_is_serverless_limits():
    record = error_record('{"message": "Endpoint request timed out"}', status=504)
    record.headers["X-Amzn-RequestId"] = "6f1c-44"
    cause = diagnose(record).cause("serverless-limits")
    assert cause.confidence == 0.9
    assert cause.evidence[0] == 'the HTTP 504 body says "{"message": "Endpoint request timed out"}"'
    assert "AWS (Lambda or API Gateway)" in cause.evidence[-1]


def test_a_vercel_stream_cut_at_300_s_while_flowing_is_its_max_duration():
    record = cut_record(last_read=299.9, cut_at=300.1)
    record.headers["Server"] = "Vercel"
    verdict = diagnose(record)
    assert top(verdict) == "serverless-limits"
    evidence = verdict.causes[0].evidence
    assert evidence[0] == "the response came from Vercel Functions: Server: Vercel"
    assert "that matches Vercel's default maxDuration with Fluid compute (300 s)" in evidence
    assert verdict.cause("request-timeout")  # the same cut, named less precisely


def test_a_platform_cut_at_a_timeout_the_user_declared_is_serverless_limits():
    record = cut_record(last_read=7.9, cut_at=8.0)
    record.headers["X-Nf-Request-Id"] = "01HX"
    ours = {"idle": {}, "hard": {8.0: "the 8 s timeout you said your infrastructure uses"}}
    assert top(diagnose(record, timeouts=ours)) == "serverless-limits"


def test_a_platform_cut_that_matches_no_limit_is_only_a_weak_pointer():
    record = cut_record(last_read=40.0, cut_at=47.0)
    record.headers["X-Amzn-RequestId"] = "6f1c-44"
    assert diagnose(record).cause("serverless-limits").confidence == 0.3


def test_the_same_cut_without_platform_headers_is_not_serverless_limits():
    assert not diagnose(cut_record(last_read=299.9, cut_at=300.1)).cause("serverless-limits")


def test_a_healthy_stream_from_a_platform_has_no_serverless_cause():
    record = healthy_record()
    record.headers["X-Vercel-Id"] = "iad1::abc-1"
    assert not diagnose(record).cause("serverless-limits")


def test_throughput_that_drops_to_2_mb_per_s_after_6_mb_on_lambda_is_serverless_limits():
    mib = 1024 * 1024
    fast = [(0.1 + i * 0.01, mib // 8) for i in range(48)]  # 6 MiB in 0.47 s
    slow = [(0.57 + i * 0.5, mib) for i in range(1, 5)]  # then 1 MiB every 0.5 s
    record = make_record(reads=fast + slow, ending=("terminal-event", 2.6), headers={"X-Amzn-RequestId": "6f1c-44"})
    cause = diagnose(record).cause("serverless-limits")
    assert cause.confidence == 0.7
    assert cause.evidence[0] == "the stream ran at 12.8 MB/s until its first 6 MB, then at 2.0 MB/s"
    headless = make_record(reads=fast + slow, ending=("terminal-event", 2.6))
    assert diagnose(headless).cause("serverless-limits").confidence == 0.35


# --- pointers for a healthy run -------------------------------------------------------------


def test_a_healthy_run_points_at_the_client_and_at_other_replicas_without_naming_a_cause():
    verdict = diagnose(healthy_record())
    assert not any(cause.id == "client-disconnect" for cause in verdict.causes)
    assert [hint.id for hint in verdict.hints] == ["client-disconnect", "multi-worker-routing"]
    assert verdict.hints[0].text.startswith("The endpoint streamed 40 content events to its terminal event")
    assert json.loads(json.dumps(verdict.to_dict()))["hints"][0]["id"] == "client-disconnect"


def test_a_run_with_a_problem_or_a_strong_cause_gets_no_pointers():
    assert diagnose(cut_record(15.0, 75.1)).hints == []
    record = text_stream(OPENING)
    record.facts["role_restarts"] = 1
    verdict = diagnose(record)
    assert verdict.outcome == "content-error" and verdict.hints == []


def test_a_pointer_outside_the_vocabulary_cannot_be_named():
    from troubleshooter.probe.diagnosis import Hint

    with pytest.raises(ValueError, match="not a cause id"):
        Hint("client-disconnected", "")


def test_an_aws_load_balancer_in_the_server_header_is_not_a_serverless_platform():
    record = cut_record(last_read=2.9, cut_at=3.0)
    record.headers["Server"] = "awselb/2.0"
    assert not diagnose(record).cause("serverless-limits")


def flowing_until(cut_at: float, server: str | None = None):
    times = [round(0.1 * i, 2) for i in range(1, int(cut_at * 10))]
    record = make_record(reads=[(t, 80) for t in times], events=[(t, "content") for t in times],
                         ending=("incomplete-read", cut_at))
    if server:
        record.headers["Server"] = server
    return record


def test_a_cut_while_data_flows_at_a_whole_number_of_seconds_is_a_time_limit_before_a_crash():
    verdict = diagnose(flowing_until(3.01))
    assert top(verdict) == "request-timeout"
    assert verdict.cause("request-timeout").confidence > verdict.cause("callback-exception").confidence
    evidence = " ".join(verdict.causes[0].evidence)
    assert "at 3 s almost exactly" in evidence and "--repeat" in evidence


def test_a_cut_while_data_flows_at_an_odd_moment_leaves_a_crash_first():
    verdict = diagnose(flowing_until(3.37))
    assert top(verdict) == "callback-exception"


def test_a_gunicorn_server_cut_mid_stream_is_its_worker_timeout():
    verdict = diagnose(flowing_until(3.37, server="gunicorn"))
    assert top(verdict) == "request-timeout"
    assert any("gunicorn kills a sync worker" in line for line in verdict.causes[0].evidence)


def test_a_serverless_function_cut_while_streaming_at_no_documented_limit_is_still_the_platforms_cap():
    record = flowing_until(3.01, server="Vercel")
    verdict = diagnose(record)
    assert top(verdict) == "serverless-limits"
    assert verdict.cause("serverless-limits").confidence > verdict.cause("request-timeout").confidence

"""The troubleshooter asks what separates the causes real incidents confuse: compression or a
buffering proxy, a slow first token behind an idle timer or a limit on total time, a provider's
error frame or the app's own exception. Every question says how to find its answer, and "not
sure" never loses what the other answers would name first."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from troubleshooter.guides.content import get_library
from troubleshooter.guides.tree import walk

# What a question's help may point at: a command or the browser's developer tools.
HOW_TO_FIND_OUT = ("curl", "network tab", "grep", "--version", "pip ", "OPENAI_LOG")


def real_walk(query: str):
    return walk(get_library().tree, parse_qs(query, keep_blank_values=True))


def ranked(query: str) -> list[str]:
    current = real_walk(query)
    assert current.leaf is not None, f"{query} stops at {current.question.id if current.question else '?'}"
    return [item.cause_id for item in current.leaf.causes]


def first_cause(leaf_id: str) -> str:
    return get_library().tree.leaves[leaf_id].causes[0].cause_id


# --- every question -----------------------------------------------------------------------


def test_every_question_says_how_to_find_the_answer_with_a_command_or_the_browser():
    for question in get_library().tree.questions.values():
        assert any(way in question.help_html for way in HOW_TO_FIND_OUT), question.id


def test_not_sure_never_drops_what_the_other_answers_name_first_out_of_the_top_three():
    tree = get_library().tree
    checked = 0
    for question in tree.questions.values():
        unsure = question.answer("not-sure")
        if unsure is None or unsure.next not in tree.leaves:
            continue  # a "not sure" that asks another question keeps every cause open
        top_three = [item.cause_id for item in tree.leaves[unsure.next].causes[:3]]
        for answer in question.answers:
            if answer is not unsure and answer.next in tree.leaves:
                assert first_cause(answer.next) in top_three, (question.id, answer.id, top_three)
        checked += 1
    assert checked >= 8


# --- compression or a proxy ----------------------------------------------------------------

PROXIED = "framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=many-at-once&buffer-where=direct-streams"


def test_the_bypass_test_asks_for_compression_the_way_a_browser_does():
    assert "--compressed" in get_library().tree.questions["buffer-where"].help_html


def test_the_content_encoding_question_gives_the_command_and_says_plain_curl_hides_compression():
    help_html = get_library().tree.questions["public-encoding"].help_html
    assert "Accept-Encoding: gzip, br" in help_html
    assert "sends no" in help_html and "Accept-Encoding" in help_html


def test_a_content_encoding_on_the_public_response_names_compression_before_the_proxy():
    assert ranked(f"{PROXIED}&public-encoding=yes")[:2] == ["compression-buffering", "proxy-buffering"]


def test_no_content_encoding_goes_on_to_ask_what_sits_in_front():
    assert real_walk(f"{PROXIED}&public-encoding=no").question.id == "proxy-kind"


@pytest.mark.parametrize(("answer", "first"), [("yes", "compression-buffering"), ("no", "proxy-buffering")])
def test_bursts_are_compression_with_a_content_encoding_and_a_proxy_without(answer, first):
    assert ranked(f"framework=other&symptom=slow-or-stalls&stall-when=bursts&burst-encoding={answer}")[0] == first


def test_two_proxies_in_a_row_explain_why_x_accel_buffering_seems_ignored():
    leaf = real_walk(f"{PROXIED}&public-encoding=no&proxy-kind=two-proxies").leaf
    assert leaf.causes[0].cause_id == "proxy-buffering"
    assert "proxy_pass_header X-Accel-Buffering" in leaf.causes[0].why_html


UNBYPASSED = "framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=not-sure"


def test_without_a_bypass_the_browsers_content_encoding_still_tells_compression_from_a_proxy():
    assert real_walk(UNBYPASSED).question.id == "encoding-without-bypass"
    assert ranked(f"{UNBYPASSED}&encoding-without-bypass=yes")[0] == "compression-buffering"
    uncompressed = ranked(f"{UNBYPASSED}&encoding-without-bypass=no")
    assert uncompressed[0] == "proxy-buffering" and "compression-buffering" not in uncompressed
    assert "compression-buffering" in ranked(f"{UNBYPASSED}&encoding-without-bypass=not-sure")[:3]


def test_a_proxy_that_cannot_be_bypassed_can_still_be_named():
    assert real_walk("framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=cannot-bypass").question.id == "proxy-kind"


# --- nothing arrives, then it fails -------------------------------------------------------

DROP = "framework=other&symptom=nothing-then-drop"


@pytest.mark.parametrize(
    ("platform", "first"),
    [
        ("nginx", "idle-timeout"),
        ("alb", "idle-timeout"),
        ("gunicorn", "request-timeout"),
        ("api-gateway", "request-timeout"),
        ("heroku", "request-timeout"),
        ("vercel", "serverless-limits"),
        ("cloud-run", "request-timeout"),
        ("cloudflare", "idle-timeout"),
        ("busy", "worker-saturation"),
        # Before any text, a client that gives up is its own timer running out (a client
        # timeout is a limit on total time); someone leaving comes second.
        ("client", "request-timeout"),
    ],
)
def test_a_request_that_fails_before_any_text_is_named_by_the_box_that_gave_up(platform, first):
    assert ranked(f"{DROP}&drop-where={platform}")[0] == first


def test_a_slow_first_token_behind_a_60_second_idle_timer_keeps_the_handler_in_view():
    causes = ranked(f"{DROP}&drop-where=alb")
    assert causes[:2] == ["idle-timeout", "server-buffering"]


def test_the_platform_named_on_the_way_brings_its_own_fix():
    from troubleshooter.guides.tree import platform_fix

    library = get_library()
    fix = platform_fix(real_walk(f"{DROP}&drop-where=alb"), library.causes)
    assert fix is not None and {snippet.platform_id for snippet in fix.snippets} == {"aws-alb"}


def test_a_gateway_error_page_asks_the_same_question_as_a_silent_drop():
    assert real_walk("framework=other&symptom=error-page&error-kind=gateway-5xx").question.id == "drop-where"


def test_not_knowing_what_sits_in_front_asks_how_long_it_took():
    assert real_walk(f"{DROP}&drop-where=not-sure").question.id == "drop-when"
    assert ranked(f"{DROP}&drop-where=not-sure&drop-when=s55-60")[0] == "idle-timeout"
    assert ranked(f"{DROP}&drop-where=not-sure&drop-when=s29-30")[0] == "request-timeout"


def test_a_response_that_ends_empty_at_once_points_at_a_declared_length_before_any_timer():
    causes = ranked(f"{DROP}&drop-where=not-sure&drop-when=at-once")
    assert causes[0] == "content-length-mismatch"
    assert not {"idle-timeout", "request-timeout"} & set(causes)


def test_not_knowing_when_it_fails_asks_whether_it_fails_on_your_own_machine():
    unsure = f"{DROP}&drop-where=not-sure&drop-when=not-sure"
    assert real_walk(unsure).question.id == "drop-local"
    only_deployed = ranked(f"{unsure}&drop-local=works-locally")
    assert only_deployed[0] == "idle-timeout" and "serverless-limits" in only_deployed[:3]
    assert ranked(f"{unsure}&drop-local=one-instance-works")[0] == "multi-worker-routing"
    everywhere = ranked(f"{unsure}&drop-local=fails-locally")
    assert everywhere[0] == "server-buffering"
    assert not {"idle-timeout", "serverless-limits", "multi-worker-routing"} & set(everywhere)


# --- a stream that just ends --------------------------------------------------------------


def test_a_provider_error_frame_seen_in_the_logs_reaches_upstream_error():
    causes = ranked("framework=other&symptom=stops-early&cut-when=random&random-cut-source=provider-error")
    assert causes[0] == "upstream-error"


def test_a_traceback_at_the_cut_is_the_apps_own_exception_first():
    causes = ranked("framework=autogen&symptom=stops-early&cut-when=random&random-cut-source=traceback")
    assert causes[:2] == ["callback-exception", "upstream-error"]


def test_a_stream_that_just_ends_keeps_a_dropped_provider_error_in_the_top_three():
    causes = ranked("framework=other&symptom=stops-early&cut-when=long-answers&end-signal=nothing")
    assert "upstream-error" in causes[:3]


RANDOM_UNLOGGED = "framework=other&symptom=stops-early&cut-when=random&random-cut-source=not-sure"


def test_cuts_at_random_points_with_nothing_in_the_logs_put_a_provider_failure_before_an_exception():
    # An exception in per-chunk code is set off by content, so it stops the same prompt at the
    # same place; cuts that land anywhere look like a provider failing or a client leaving.
    causes = ranked(f"{RANDOM_UNLOGGED}&cut-with-user-action=not-sure")
    assert causes == ["upstream-error", "client-disconnect", "callback-exception"]


def test_cuts_with_nothing_in_the_logs_ask_whether_the_user_did_something_at_that_moment():
    assert real_walk(RANDOM_UNLOGGED).question.id == "cut-with-user-action"
    # A tab switch or a page change that cancels the request is the client leaving.
    assert ranked(f"{RANDOM_UNLOGGED}&cut-with-user-action=yes")[0] == "client-disconnect"
    watched = ranked(f"{RANDOM_UNLOGGED}&cut-with-user-action=no")
    assert watched[:2] == ["upstream-error", "callback-exception"]


LONG = "framework=other&symptom=stops-early&cut-when=long-answers&end-signal=not-sure"


def test_long_answers_cut_with_the_end_unseen_ask_where_the_code_runs():
    assert real_walk(LONG).question.id == "long-answer-host"


def test_long_answers_cut_in_a_serverless_function_name_its_maximum_duration_first():
    assert ranked(f"{LONG}&long-answer-host=function")[0] == "serverless-limits"


def test_long_answers_cut_on_a_server_also_name_a_cap_on_total_time():
    causes = ranked(f"{LONG}&long-answer-host=server")
    assert causes[0] == "token-limit" and "request-timeout" in causes


def test_not_knowing_where_it_runs_keeps_both_the_token_budget_and_the_function_limit_first():
    assert ranked(f"{LONG}&long-answer-host=not-sure")[:2] == ["token-limit", "serverless-limits"]


# --- a cut at one minute ------------------------------------------------------------------

MINUTE = "framework=other&symptom=stops-early&cut-when=same-time&hard-limit-when=s55-60"


def test_a_cut_at_one_minute_asks_whether_text_was_still_arriving():
    assert real_walk(MINUTE).question.id == "flow-before-minute-cut"


def test_a_minute_cut_while_text_flows_is_a_cap_on_the_whole_request():
    assert ranked(f"{MINUTE}&flow-before-minute-cut=flowing")[0] == "request-timeout"


def test_a_minute_cut_after_a_quiet_minute_asks_which_idle_timer_sits_in_front():
    assert real_walk(f"{MINUTE}&flow-before-minute-cut=quiet").question.id == "idle-where"
    assert ranked(f"{MINUTE}&flow-before-minute-cut=quiet&idle-where=alb")[0] == "idle-timeout"


def test_a_cut_after_a_pause_behind_an_unlisted_or_unknown_hop_still_reaches_a_leaf():
    pause = "framework=other&symptom=stops-early&cut-when=after-pause"
    other = ranked(f"{pause}&idle-where=other")
    assert other[0] == "idle-timeout" and "request-timeout" in other[:3]
    assert ranked(f"{pause}&idle-where=not-sure")[:3] == ["idle-timeout", "client-disconnect", "serverless-limits"]


# --- one piece from LangChain -------------------------------------------------------------

ONE_PIECE = "framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=one-event"


def test_not_knowing_the_token_reader_nor_python_puts_the_missing_stream_switch_first():
    causes = ranked(f"{ONE_PIECE}&langchain-tokens=not-sure&python-version-reader-unknown=not-sure")
    assert causes[:2] == ["stream-not-requested", "lost-callback-context"]


def test_token_events_on_an_unknown_python_name_the_switch_that_holds_on_every_python_first():
    # Lost callbacks need Python 3.10 or older, past its end of life; the switch does not.
    causes = ranked(f"{ONE_PIECE}&langchain-tokens=events&python-version=not-sure")
    assert causes[:2] == ["stream-not-requested", "lost-callback-context"]


def test_both_python_questions_ask_the_same_thing_the_same_way():
    questions = get_library().tree.questions
    twin, original = questions["python-version-reader-unknown"], questions["python-version"]
    assert (twin.text, twin.help_html) == (original.text, original.help_html)
    assert [(a.id, a.label) for a in twin.answers] == [(a.id, a.label) for a in original.answers]


# --- a stream that used to work -----------------------------------------------------------

ALL_AT_ONCE = "framework=llamaindex&symptom=all-at-once"


def test_an_answer_that_comes_whole_asks_whether_it_ever_streamed():
    assert real_walk(ALL_AT_ONCE).question.id == "streamed-before"


def test_whole_answers_since_a_library_upgrade_name_the_release_change_first():
    assert ranked(f"{ALL_AT_ONCE}&streamed-before=library-upgrade")[:2] == ["version-drift", "stream-not-requested"]


def test_whole_answers_since_a_deploy_go_straight_to_the_bypass_test():
    assert real_walk(f"{ALL_AT_ONCE}&streamed-before=deployed").question.id == "buffer-where"


def test_not_knowing_the_history_asks_where_the_answer_is_watched_then_what_the_raw_response_holds():
    assert real_walk(f"{ALL_AT_ONCE}&streamed-before=never-or-unknown").question.id == "where-seen"
    assert real_walk(f"{ALL_AT_ONCE}&streamed-before=never-or-unknown&where-seen=web").question.id == "event-count"
    assert real_walk(f"{ALL_AT_ONCE}&streamed-before=never-or-unknown&where-seen=not-sure").question.id == "event-count"


@pytest.mark.parametrize(
    ("framework", "question"),
    [
        ("langchain", "langchain-tokens"),
        ("langgraph", "langgraph-mode"),
        ("llamaindex", "llamaindex-streaming"),
        ("autogen", "autogen-streaming"),
        ("other", "provider-stream"),
    ],
)
def test_an_answer_watched_in_a_script_skips_the_proxy_questions_for_the_frameworks_own_switch(framework, question):
    # No server, proxy or compressor sits between a script and its terminal.
    query = f"framework={framework}&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=script"
    assert real_walk(query).question.id == question


def test_a_script_on_a_current_python_keeps_an_older_release_than_the_docs_in_the_top_three():
    query = "framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=script&langchain-tokens=events"
    assert ranked(f"{query}&python-version=py311-or-newer")[:3] == ["stream-not-requested", "server-buffering", "version-drift"]


def test_langchain_js_skips_lost_python_callbacks_and_names_the_installed_release():
    query = "framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=script&langgraph-mode=messages"
    causes = ranked(f"{query}&python-version=javascript")
    assert causes[:2] == ["stream-not-requested", "version-drift"]
    assert "lost-callback-context" not in causes


# --- random pauses ------------------------------------------------------------------------

RANDOM_PAUSES = "framework=other&symptom=slow-or-stalls&stall-when=neither"


def test_random_pauses_ask_whether_events_still_arrive_and_say_where_to_look():
    question = real_walk(RANDOM_PAUSES).question
    assert question.id == "stall-wire"
    assert "EventStream" in question.help_html and "curl -N" in question.help_html


def test_events_that_arrive_without_text_point_at_the_reader_not_the_path():
    assert ranked(f"{RANDOM_PAUSES}&stall-wire=events-flow")[0] == "version-drift"
    nothing_arrives = ranked(f"{RANDOM_PAUSES}&stall-wire=nothing")
    assert nothing_arrives[0] == "blocking-event-loop" and "version-drift" not in nothing_arrives


# --- errors and types the questions once had no answer for --------------------------------

ERROR = "framework=other&symptom=error-page&error-kind="


def test_a_provider_that_refuses_a_request_not_streamed_names_the_missing_switch_first():
    assert ranked(f"{ERROR}provider-rejects") == ["stream-not-requested", "version-drift", "token-limit"]


def test_an_error_no_answer_lists_is_placed_by_whose_code_raised_it():
    assert real_walk(f"{ERROR}other").question.id == "error-source"
    assert ranked(f"{ERROR}other&error-source=callback")[0] == "callback-exception"
    assert ranked(f"{ERROR}other&error-source=library")[0] == "version-drift"
    assert ranked(f"{ERROR}other&error-source=timer")[:2] == ["idle-timeout", "request-timeout"]
    unsure = real_walk(f"{ERROR}other&error-source=not-sure").leaf
    assert unsure is not None and "log" in unsure.title


def test_a_buffered_answer_nobody_could_inspect_suspects_the_frameworks_switch_first_only_in_a_framework():
    unsure = "symptom=all-at-once&streamed-before=deployed&buffer-where=not-sure&encoding-without-bypass=not-sure"
    assert ranked(f"framework=llamaindex&{unsure}")[:2] == ["stream-not-requested", "proxy-buffering"]
    assert ranked(f"framework=other&{unsure}")[:2] == ["proxy-buffering", "stream-not-requested"]


def test_events_sent_as_plain_text_point_at_the_boxes_that_choose_by_type():
    walked = "framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web"
    assert ranked(f"{walked}&event-count=events-as-plain-text")[:2] == ["compression-buffering", "proxy-buffering"]


def test_someone_who_cannot_tell_when_text_doubles_still_gets_both_usual_causes():
    causes = ranked("framework=other&symptom=duplicated&dup-when=not-sure")
    assert causes[:2] == ["retry-duplicate-runs", "shared-client-race"]


def test_a_request_that_fails_on_the_developers_machine_too_points_at_the_code_and_its_libraries():
    causes = ranked("framework=other&symptom=nothing-then-drop&drop-where=not-sure&drop-when=not-sure"
                    "&drop-local=fails-locally")
    assert causes[:2] == ["server-buffering", "version-drift"]


def test_a_cut_after_the_first_chunk_puts_the_seen_cause_first_and_names_a_tiny_token_budget():
    causes = ranked("framework=other&symptom=stops-early&cut-when=first-chunk&first-chunk-headers=not-sure")
    assert causes[0] == "content-length-mismatch" and "token-limit" in causes


def test_stalls_that_grow_with_the_conversation_name_the_idle_timer_its_silences_meet():
    assert "idle-timeout" in ranked("framework=other&symptom=slow-or-stalls&stall-when=longer-conversations")[:3]


def test_an_attribute_error_in_streaming_code_also_names_a_stream_never_asked_for():
    assert ranked(f"{ERROR}attribute-error") == ["version-drift", "stream-not-requested", "callback-exception"]


def test_a_plain_body_held_to_the_end_may_be_held_on_the_way_as_well():
    walked = "framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web"
    assert ranked(f"{walked}&event-count=json") == ["server-buffering", "proxy-buffering", "compression-buffering"]

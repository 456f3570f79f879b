"""Where the framework matters, the same answer leads to that framework's own question: one
event holding the whole answer asks a LangGraph user for the stream mode, an AutoGen user for
model_client_stream, and a LangChain or LangGraph user reading tokens through callbacks for
the Python version."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.core.checks import run_checks

from tests.guides.test_content import replace_in
from troubleshooter.guides.content import Answer, Leaf, Question, RankedCause, Tree, get_library
from troubleshooter.guides.tree import most_questions_from, walk

ROUTED = Tree(
    start="framework",
    questions={
        "framework": Question(
            id="framework", text="Which framework?", help_html="", asks_framework=True,
            answers=(Answer("langgraph", "LangGraph", "seen"), Answer("other", "Other", "seen")),
        ),
        "seen": Question(
            id="seen", text="What do you see?", help_html="", asks_framework=False,
            answers=(
                Answer("one", "One piece", "generic-leaf", next_by_framework=(("langgraph", "mode"),)),
                Answer("many", "Many", "generic-leaf"),
            ),
        ),
        "mode": Question(
            id="mode", text="Which mode?", help_html="", asks_framework=False,
            answers=(Answer("updates", "updates", "mode-leaf"), Answer("messages", "messages", "mode-leaf")),
        ),
    },
    leaves={
        name: Leaf(id=name, title=name, causes=(RankedCause("stream-not-requested", "why"),))
        for name in ("generic-leaf", "mode-leaf")
    },
)


def params(query: str) -> dict[str, list[str]]:
    return parse_qs(query, keep_blank_values=True)


def real_walk(query: str):
    return walk(get_library().tree, params(query))


def ranked(query: str) -> list[str]:
    current = real_walk(query)
    assert current.leaf is not None, f"{query} stops at {current.question.id if current.question else '?'}"
    return [item.cause_id for item in current.leaf.causes]


# --- the walk -----------------------------------------------------------------------------


def test_an_answer_with_a_route_for_the_chosen_framework_leads_to_that_frameworks_question():
    result = walk(ROUTED, params("framework=langgraph&seen=one"))
    assert result.question.id == "mode"


def test_other_frameworks_take_the_answers_ordinary_next():
    result = walk(ROUTED, params("framework=other&seen=one"))
    assert result.leaf.id == "generic-leaf"


def test_the_longest_walk_counts_the_frameworks_own_questions_only_when_they_can_come():
    assert most_questions_from(ROUTED, "seen", "langgraph") == 2
    assert most_questions_from(ROUTED, "seen", "other") == 1
    assert most_questions_from(ROUTED, "framework") == 3  # before the framework is known, any route


def test_a_framework_route_to_nowhere_fails_the_guides_check(guides_copy):
    replace_in(guides_copy / "tree.yaml", "langgraph: langgraph-mode", "langgraph: nowhere-at-all")
    messages = [m.msg for m in run_checks(tags=["guides"])]
    assert any("next_by_framework.langgraph" in m and "'nowhere-at-all'" in m for m in messages), messages


def test_a_framework_route_for_an_unknown_framework_fails_the_guides_check(guides_copy):
    replace_in(guides_copy / "tree.yaml", "langgraph: langgraph-mode", "haystack: langgraph-mode")
    messages = [m.msg for m in run_checks(tags=["guides"])]
    assert any("'haystack' is not a framework id" in m for m in messages), messages


# --- the real tree: one event that holds the whole answer -----------------------------------

ONE_EVENT = "symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=one-event"


@pytest.mark.parametrize(
    ("framework", "question"),
    [("langchain", "langchain-tokens"), ("langgraph", "langgraph-mode"), ("llamaindex", "llamaindex-streaming"),
     ("autogen", "autogen-streaming"), ("other", "provider-stream")],
)
def test_one_event_with_the_whole_answer_asks_for_the_frameworks_own_streaming_switch(framework, question):
    assert real_walk(f"framework={framework}&{ONE_EVENT}").question.id == question


def test_a_langgraph_graph_streamed_with_updates_was_never_asked_to_stream_tokens():
    assert ranked(f"framework=langgraph&{ONE_EVENT}&langgraph-mode=updates-or-values")[0] == "stream-not-requested"


def test_messages_mode_on_python_3_10_points_at_lost_callbacks_first():
    causes = ranked(f"framework=langgraph&{ONE_EVENT}&langgraph-mode=messages&python-version=py310-or-older")
    assert causes[:2] == ["lost-callback-context", "stream-not-requested"]


def test_messages_mode_on_python_3_11_rules_lost_callbacks_out():
    causes = ranked(f"framework=langgraph&{ONE_EVENT}&langgraph-mode=messages&python-version=py311-or-newer")
    assert causes[0] == "stream-not-requested" and "lost-callback-context" not in causes


def test_langchain_tokens_read_from_events_ask_for_the_python_version():
    assert real_walk(f"framework=langchain&{ONE_EVENT}&langchain-tokens=events").question.id == "python-version"


@pytest.mark.parametrize(
    ("framework", "question"),
    [("llamaindex", "llamaindex-streaming"), ("autogen", "autogen-streaming"), ("other", "provider-stream")],
)
def test_a_streaming_switch_left_off_names_stream_not_requested_first(framework, question):
    assert ranked(f"framework={framework}&{ONE_EVENT}&{question}=no")[0] == "stream-not-requested"


@pytest.mark.parametrize(
    "walk_query",
    [
        f"framework=langgraph&{ONE_EVENT}&langgraph-mode=not-sure&python-version=not-sure",
        f"framework=langchain&{ONE_EVENT}&langchain-tokens=not-sure&python-version-reader-unknown=not-sure",
    ],
)
def test_not_sure_about_the_code_or_the_python_keeps_both_new_causes_in_the_top_three(walk_query):
    assert {"lost-callback-context", "stream-not-requested"} <= set(ranked(walk_query)[:3])


@pytest.mark.parametrize(
    "question", ["llamaindex-streaming", "autogen-streaming", "provider-stream"]
)
def test_not_sure_about_the_switch_keeps_what_either_answer_would_name_in_the_top_three(question):
    framework = {"llamaindex-streaming": "llamaindex", "autogen-streaming": "autogen"}.get(question, "other")
    unsure = set(ranked(f"framework={framework}&{ONE_EVENT}&{question}=not-sure")[:3])
    for answer in ("yes", "no"):
        assert ranked(f"framework={framework}&{ONE_EVENT}&{question}={answer}")[0] in unsure


def test_a_json_body_instead_of_an_event_stream_is_the_handler_holding_the_answer():
    assert ranked("framework=other&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=json")[0] == "server-buffering"

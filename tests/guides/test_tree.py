"""Walking the decision tree: the query string is the whole state of a walk."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from troubleshooter.guides.content import Answer, Leaf, Question, RankedCause, Tree
from troubleshooter.guides.tree import BadWalk, walk

TREE = Tree(
    start="framework",
    questions={
        "framework": Question(
            id="framework", text="Which framework?", help_html="", asks_framework=True,
            answers=(Answer("langchain", "LangChain", "symptom"), Answer("other", "Other", "symptom")),
        ),
        "symptom": Question(
            id="symptom", text="What do you see?", help_html="", asks_framework=False,
            answers=(Answer("all-at-once", "All at once", "where"), Answer("cut", "Cut off", "cut-leaf")),
        ),
        "where": Question(
            id="where", text="Where?", help_html="", asks_framework=False,
            answers=(Answer("proxy", "Behind a proxy", "proxy-leaf"), Answer("app", "In the app", "app-leaf")),
        ),
    },
    leaves={
        name: Leaf(id=name, title=name, causes=(RankedCause("token-limit", "why"),))
        for name in ("cut-leaf", "proxy-leaf", "app-leaf")
    },
)


def params(query: str) -> dict[str, list[str]]:
    return parse_qs(query, keep_blank_values=True)


def test_an_empty_query_asks_the_first_question():
    result = walk(TREE, {})
    assert result.question.id == "framework"
    assert result.steps == () and result.leaf is None


def test_answers_are_replayed_from_the_start_to_the_next_question():
    result = walk(TREE, params("framework=langchain&symptom=all-at-once"))
    assert [s.answer.id for s in result.steps] == ["langchain", "all-at-once"]
    assert result.question.id == "where"
    assert result.framework_id == "langchain"


def test_a_full_walk_ends_on_a_leaf():
    result = walk(TREE, params("framework=other&symptom=all-at-once&where=proxy"))
    assert result.leaf.id == "proxy-leaf" and result.question is None
    assert result.framework_id is None  # "other" is not a framework with code


def test_the_order_of_parameters_does_not_matter():
    a = walk(TREE, params("where=app&symptom=all-at-once&framework=langchain"))
    assert a.leaf.id == "app-leaf"


def test_answers_left_over_from_another_branch_are_ignored():
    result = walk(TREE, params("framework=langchain&symptom=cut&where=proxy"))
    assert result.leaf.id == "cut-leaf"
    assert [s.question.id for s in result.steps] == ["framework", "symptom"]


def test_the_link_for_an_answer_adds_it_to_the_walk_so_far():
    result = walk(TREE, params("framework=langchain"))
    answer = result.question.answer("cut")
    assert params(result.query_with(answer)) == {"framework": ["langchain"], "symptom": ["cut"]}


def test_changing_an_earlier_answer_drops_the_later_ones_but_keeps_the_framework():
    result = walk(TREE, params("framework=langchain&symptom=all-at-once&where=proxy"))
    assert params(result.query_to_change(1)) == {"framework": ["langchain"], "earlier": ["all-at-once"]}
    assert params(result.query_to_change(0)) == {"earlier": ["langchain"]}
    assert params(result.query_to_change(2)) == {
        "framework": ["langchain"], "symptom": ["all-at-once"], "earlier": ["proxy"]
    }


@pytest.mark.parametrize(
    "query, message",
    [
        ("nonsense=1", "'nonsense' is not a question"),
        ("framework=cobol", "'cobol' is not one of the answers"),
        ("framework=langchain&framework=other", "answered more than once"),
        ("framework=", "'' is not one of the answers"),
        ("symptom=%00%ff", "is not one of the answers"),
    ],
)
def test_a_tampered_query_string_is_refused_with_a_clear_reason(query, message):
    with pytest.raises(BadWalk, match=message):
        walk(TREE, params(query))

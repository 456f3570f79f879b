"""The casebook of real incidents is well-formed data: the replay can trust every field.

The figures it yields (tree and search ranks) are printed by bench/casebook/replay.py, not
asserted here.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench.casebook.casebook import (
    COMING_CAUSES,
    FRAMEWORKS,
    REQUIRED,
    Incident,
    echo_problems,
    lab_problems,
    load,
    schema_problems,
    tree_problems,
)
from troubleshooter.guides.content import get_library
from troubleshooter.vocabulary import CAUSE_IDS

CAUSES = set(CAUSE_IDS) | set(COMING_CAUSES)


@pytest.fixture(scope="module")
def incidents() -> list[Incident]:
    return load()


def test_the_casebook_loads_with_at_least_25_incidents(incidents):
    assert len(incidents) >= 25


def test_every_entry_has_the_required_fields(incidents):
    for incident in incidents:
        assert set(REQUIRED) <= set(incident.raw), incident.id
    assert schema_problems(incidents, CAUSES) == []


def test_sources_look_like_owner_repo_number_and_are_unique(incidents):
    sources = Counter(incident.source.lower() for incident in incidents)
    assert [source for source, count in sources.items() if count > 1] == []
    assert all("/" in i.source and "#" in i.source for i in incidents)


def test_every_cause_id_is_in_the_vocabulary(incidents):
    named = {cause for incident in incidents for cause in incident.accepted}
    assert named <= CAUSES, named - CAUSES


def test_every_tree_answer_exists_in_the_tree(incidents):
    tree = get_library().tree
    questions = {q.id: [a.id for a in q.answers] for q in tree.questions.values()}
    assert tree_problems(incidents, questions) == []


def test_lab_reproductions_name_a_demo_or_a_lab_endpoint(incidents):
    assert lab_problems(incidents) == []


def test_the_casebook_covers_all_four_frameworks(incidents):
    frameworks = {incident.framework for incident in incidents}
    assert set(FRAMEWORKS) - {"none"} <= frameworks


def test_the_schema_check_catches_a_repeated_source_and_an_unknown_cause():
    raw = {name: "x" for name in REQUIRED} | {"tree_answers": {"framework": "other"}}
    first = Incident(id="one", source="a/b#1", framework="none", platform="nginx", symptom="s", error="",
                     cause="proxy-buffering", tree_answers={"framework": "other"}, search_phrase="p", raw=raw)
    second = Incident(id="two", source="A/B#1", framework="none", platform="nginx", symptom="s", error="",
                      cause="gremlins", tree_answers={"framework": "other"}, search_phrase="p", raw=raw)
    problems = schema_problems([first, second], CAUSES)
    assert any("used twice" in p for p in problems)
    assert any("'gremlins' is not a cause id" in p for p in problems)


def test_the_tree_check_catches_an_answer_the_question_does_not_offer():
    incident = Incident(id="one", source="a/b#1", framework="none", platform="none", symptom="s", error="",
                        cause="proxy-buffering", tree_answers={"framework": "other", "symptom": "sideways"},
                        search_phrase="p")
    problems = tree_problems([incident], {"framework": ["other"], "symptom": ["all-at-once"]})
    assert problems == ["one: 'sideways' is not an answer to 'symptom'"]


def cause_phrases() -> dict[str, list[str]]:
    return {cause.id: [*cause.search_terms, *cause.symptoms] for cause in get_library().causes.values()}


# Echoes that are not copies: the guide phrase is older than the incident, which was gathered
# blind by someone who had not read the guides; both simply use the common words.
COINCIDENCES = ("openoats-sidecast-low-token-default: token-limit says 'answer cut off mid sentence'",)


def test_no_guide_phrase_repeats_a_casebook_search_phrase(incidents):
    echoes = echo_problems(incidents, cause_phrases())
    assert [echo for echo in echoes if not echo.startswith(COINCIDENCES)] == []


def test_the_echo_check_catches_a_search_term_copied_from_an_incident(incidents):
    incident = next(i for i in incidents if i.search_phrase)
    copied = {"proxy-buffering": [incident.search_phrase.upper() + "!"]}
    assert len(echo_problems([incident], copied)) == 1
    assert echo_problems([incident], {"proxy-buffering": ["a phrase about something else entirely"]}) == []

"""A cause page opened from the troubleshooter keeps the walk: a way back to the answers,
"Measure it", and after "No, not yet" the walk's next likely causes."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from troubleshooter.guides.content import get_library
from troubleshooter.guides.tree import walk

pytestmark = pytest.mark.django_db

LEAF_WALK = "framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=nginx"


def leaf_causes() -> list[str]:
    leaf = walk(get_library().tree, parse_qs(LEAF_WALK)).leaf
    assert leaf is not None
    return [item.cause_id for item in leaf.causes]


def test_a_leafs_links_to_cause_pages_carry_the_walk(client):
    body = html.unescape(client.get(f"/troubleshoot/?{LEAF_WALK}").content.decode())
    first = leaf_causes()[0]
    link = re.search(rf'href="(/causes/{first}/\?[^"#]+)', body).group(1)
    query = parse_qs(urlsplit(link).query)
    assert query["framework"] == ["langchain"] and query["walk"] == [LEAF_WALK]


def test_a_cause_page_from_a_walk_links_back_to_the_answers_and_to_measuring(client):
    cause = leaf_causes()[0]
    body = html.unescape(client.get(f"/causes/{cause}/", {"framework": "langchain", "walk": LEAF_WALK}).content.decode())
    assert f'href="/troubleshoot/?{LEAF_WALK}">← Back to your answers' in body
    measure = re.search(r'href="(/runs/new/\?[^"]+)">Measure it on your endpoint', body).group(1)
    assert parse_qs(urlsplit(measure).query)["walk"] == [LEAF_WALK]


def test_a_walk_that_leads_nowhere_is_ignored(client):
    body = client.get("/causes/idle-timeout/", {"walk": "symptom=made-up"}).content.decode()
    assert "Back to your answers" not in body and "Measure it on your endpoint" in body


def test_no_not_yet_offers_the_walks_next_causes_the_experiment_and_search(client):
    first, *others = leaf_causes()
    response = client.post(f"/causes/{first}/feedback/", {"solved": "no", "framework": "langchain",
                                                          "walk": LEAF_WALK}, HTTP_HX_REQUEST="true")
    body = html.unescape(response.content.decode())
    assert "The next likely causes from your answers" in body
    for other in others[:3]:
        assert f'href="/causes/{other}/?framework=langchain&walk=' in body
    assert f'href="/causes/{first}/?' not in body
    assert "Measure your endpoint to tell them apart" in body and 'href="/search/"' in body


def test_no_not_yet_without_a_walk_offers_look_alike_causes(client):
    related = get_library().causes["proxy-buffering"].related
    body = client.post("/causes/proxy-buffering/feedback/", {"solved": "no"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Causes that look like this one" in body and f"/causes/{related[0]}/" in body


def test_yes_it_did_only_says_thanks(client):
    body = client.post("/causes/proxy-buffering/feedback/", {"solved": "yes"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Thank you" in body and "What to try next" not in body

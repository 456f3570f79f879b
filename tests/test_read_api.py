"""The read API under /api/v1/: the guides as JSON, with ETags, described by OpenAPI 3."""

from __future__ import annotations

import pytest

from troubleshooter.guides.content import get_library

pytestmark = pytest.mark.django_db


def test_it_lists_every_cause_with_its_page(client):
    body = client.get("/api/v1/causes").json()
    assert [c["id"] for c in body] == list(get_library().causes)
    assert body[0]["url"] == f"/causes/{body[0]['id']}/"


def test_a_cause_has_its_sections_settings_and_code_pairs(client):
    cause = client.get("/api/v1/causes/proxy-buffering").json()
    assert cause["title"] == "A reverse proxy holds the stream in its buffers"
    assert [s["title"] for s in cause["sections"]][:2] == ["What happens", "How to confirm it"]
    assert any(s["name"] == "proxy_buffering" for s in cause["platform_settings"])
    pairs = client.get("/api/v1/causes/proxy-buffering/pairs").json()
    assert {p["framework_id"] for p in pairs} == set(cause["frameworks_with_code"])
    assert all(p["broken"]["text"] != p["fixed"]["text"] for p in pairs)


def test_frameworks_platforms_and_the_tree_are_there(client):
    frameworks = client.get("/api/v1/frameworks").json()
    assert {f["id"] for f in frameworks} == set(get_library().frameworks)
    assert client.get("/api/v1/frameworks/langgraph/pairs").json()[0]["framework_id"] == "langgraph"
    assert any(p["id"] == "nginx" for p in client.get("/api/v1/platforms").json())
    tree = client.get("/api/v1/tree").json()
    assert tree["start"] in {q["id"] for q in tree["questions"]}
    targets = {a["next"] for q in tree["questions"] for a in q["answers"]}
    assert targets <= {q["id"] for q in tree["questions"]} | {leaf["id"] for leaf in tree["leaves"]}


def test_search_answers_with_ranked_hits(client):
    body = client.get("/api/v1/search", {"q": "nginx buffering"}).json()
    assert body["hits"] and body["hits"][0]["url"].startswith("/")
    assert client.get("/api/v1/search").json()["hits"] == []


def test_search_hits_say_why_they_rank_a_quoted_error_or_a_named_platform(client):
    quoted = client.get("/api/v1/search", {"q": "FUNCTION_INVOCATION_TIMEOUT"}).json()["hits"][0]
    assert quoted["error_match"] == "FUNCTION_INVOCATION_TIMEOUT"
    hits = client.get("/api/v1/search", {"q": "the reply ends before it is done on vercel"}).json()["hits"]
    lifted = {hit["url"]: hit["platforms"] for hit in hits if hit["platforms"]}
    assert lifted.get("/causes/serverless-limits/") == ["Vercel Functions"]


def test_unknown_things_are_404_with_a_message(client):
    for url, name in (("/api/v1/causes/nope", "nope"), ("/api/v1/causes/nope/pairs", "nope"),
                      ("/api/v1/frameworks/cobol", "cobol")):
        response = client.get(url)
        assert response.status_code == 404 and name in response.json()["detail"]


def test_an_unchanged_answer_is_not_sent_again(client):
    first = client.get("/api/v1/platforms")
    tag = first["ETag"]
    assert tag.startswith('"') and first["Cache-Control"] == "no-cache"
    again = client.get("/api/v1/platforms", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again["ETag"] == tag and again.content == b""
    assert client.get("/api/v1/platforms", headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_openapi_document_describes_every_resource(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/causes", "/api/v1/causes/{cause_id}", "/api/v1/causes/{cause_id}/pairs", "/api/v1/frameworks",
            "/api/v1/platforms", "/api/v1/tree", "/api/v1/search"} <= set(document["paths"])
    assert "CauseOut" in document["components"]["schemas"]


def test_the_tree_names_each_answers_route_for_a_chosen_framework(client):
    """Without the routes a framework takes, a client of the API replaying a LangGraph walk
    would ask LangGraph users the generic question and end at the wrong leaf."""
    tree = client.get("/api/v1/tree").json()
    answers = {(q["id"], a["id"]): a for q in tree["questions"] for a in q["answers"]}
    script = answers[("where-seen", "script")]
    assert script["next"] == "provider-stream"
    assert script["next_by_framework"]["langgraph"] == "langgraph-mode"
    assert answers[("symptom", "all-at-once")]["next_by_framework"] == {}

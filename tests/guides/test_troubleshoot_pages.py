"""The guided troubleshooter pages: full pages, htmx partials and bad links."""

from __future__ import annotations

import pytest

HTMX_STEP = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "step"}


def test_the_first_step_asks_which_framework(client):
    response = client.get("/troubleshoot/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Which framework streams your answers?" in html
    assert 'href="/troubleshoot/?framework=langgraph"' in html
    assert "<html" in html  # a whole page


def test_a_step_opened_directly_renders_the_whole_page_with_its_answers_so_far(client):
    response = client.get("/troubleshoot/?framework=langchain&symptom=stops-early")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "When does it stop?" in html
    assert "LangChain" in html  # the breadcrumb of answers
    assert 'href="/troubleshoot/?framework=langchain&amp;earlier=stops-early"' in html  # change the symptom answer


def test_htmx_gets_only_the_step_panel(client):
    response = client.get("/troubleshoot/?framework=langchain", **HTMX_STEP)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<header" not in html
    assert "What do your users see?" in html
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(client):
    response = client.get(
        "/troubleshoot/?framework=langchain", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX_STEP
    )
    assert "<html" in response.content.decode()


def test_a_leaf_ranks_causes_with_why_and_shows_the_fix_for_the_chosen_framework(client):
    response = client.get(
        "/troubleshoot/?framework=llamaindex&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-buffers"
        "&handler-shape=returns-json"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/causes/server-buffering/?framework=llamaindex&amp;walk=' in html  # the walk goes along
    assert "The fix for LlamaIndex" in html
    assert 'class="file-head broken"' in html and 'class="file-head fixed"' in html


def test_a_leaf_reached_with_another_framework_links_causes_without_a_framework(client):
    response = client.get(
        "/troubleshoot/?framework=other&symptom=error-page&error-kind=cloudflare-524"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/causes/idle-timeout/?walk=framework%3Dother' in html  # no framework, but the walk
    assert "The fix for" not in html


@pytest.mark.parametrize(
    "query",
    [
        "?nonsense=1",
        "?framework=fortran",
        "?framework=langchain&symptom=explodes",
        "?framework=langchain&framework=autogen",
        "?framework=%ff%fe",
        "?framework=" + "x" * 5000,
    ],
)
def test_a_tampered_link_gives_a_clear_400_page_not_a_crash(client, query):
    response = client.get("/troubleshoot/" + query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "That link does not lead anywhere" in html
    assert 'href="/troubleshoot/"' in html  # a way to start again

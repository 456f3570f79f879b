"""Cause pages: the explanation, code tabs per framework, infrastructure and settings."""

from __future__ import annotations

import re

import pytest

from troubleshooter.guides.content import load_library
from troubleshooter.vocabulary import CAUSE_IDS

HTMX_TAB = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "code-panel"}


@pytest.mark.parametrize("cause_id", CAUSE_IDS)
def test_every_cause_has_a_page_with_its_sections_and_a_fix(client, cause_id):
    response = client.get(f"/causes/{cause_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("What happens", "How to confirm it", "The fix", "Prevention"):
        assert f">{heading}</h2>" in html
    assert 'id="fix"' in html or 'id="infra"' in html
    assert "Did this solve it?" in html


def test_the_cause_list_groups_every_cause(client):
    html = client.get("/causes/").content.decode()
    for cause_id in CAUSE_IDS:
        assert f'href="/causes/{cause_id}/"' in html


def test_the_code_panel_shows_broken_and_fixed_code_with_changed_lines_marked(client):
    html = client.get("/causes/server-buffering/?framework=langchain").content.decode()
    assert 'aria-current="true" class="tab current">LangChain<' in html
    assert re.search(r'<span class="ln del">\d+ −</span><del class="src', html)
    assert re.search(r'<span class="ln add">\d+ \+</span><ins class="src', html)
    for framework in ("langgraph", "llamaindex", "autogen"):
        assert f'href="?framework={framework}#fix"' in html


def test_without_a_framework_the_first_framework_tab_is_chosen(client):
    html = client.get("/causes/token-limit/").content.decode()
    assert 'aria-current="true" class="tab current">LangChain<' in html


def test_htmx_switching_tabs_gets_only_the_code_panel(client):
    response = client.get("/causes/token-limit/?framework=autogen", **HTMX_TAB)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "What happens" not in html
    assert 'aria-current="true" class="tab current">AutoGen<' in html
    assert "autogen_agentchat" in html or "autogen_ext" in html


def test_a_cause_fixed_only_in_infrastructure_shows_its_snippets_and_platform_settings(client):
    html = client.get("/causes/request-timeout/").content.decode()
    assert 'id="infra"' in html
    assert 'id="settings"' in html
    assert 'id="code-panel"' not in html


def test_the_platform_settings_table_lists_the_nginx_buffering_default(client):
    html = client.get("/causes/proxy-buffering/").content.decode()
    assert "proxy_buffering" in html


def test_an_unknown_cause_is_a_404_page(client):
    response = client.get("/causes/gremlins/")
    assert response.status_code == 404
    assert "There is no cause called" in response.content.decode()


def test_an_unknown_framework_is_a_400_page(client):
    response = client.get("/causes/token-limit/?framework=cobol")
    assert response.status_code == 400
    assert "&#x27;cobol&#x27; is not a framework" in response.content.decode()


def test_code_is_highlighted_on_the_server(client):
    html = client.get("/causes/blocking-event-loop/?framework=langgraph").content.decode()
    assert '<span class="kn">import</span>' in html or '<span class="kn">from</span>' in html


def test_a_cause_page_lists_the_real_incidents_that_confirmed_it_linking_each_thread(client):
    html = client.get("/causes/stream-not-requested/").content.decode()
    assert 'id="incidents-heading">Seen in real incidents<' in html
    assert 'href="https://github.com/langchain-ai/langchain/issues/26971"' in html
    assert "microsoft/autogen#1166" in html


def test_the_chosen_frameworks_incidents_come_first(client):
    html = client.get("/causes/stream-not-requested/", {"framework": "autogen"}).content.decode()
    section = html[html.index('id="incidents"'):]
    first = section.index("<li>")
    assert "microsoft/autogen#" in section[first : section.index("</li>", first)]


def test_an_incident_with_an_unknown_cause_or_a_malformed_thread_is_reported(guides_copy):
    path = guides_copy / "incidents.yaml"
    text = path.read_text()
    text = text.replace("source: infiniflow/ragflow#857", "source: ragflow 857", 1)
    text = text.replace("cause: proxy-buffering", "cause: gremlins", 1)
    path.write_text(text)
    _library, problems = load_library(guides_copy)
    messages = [str(problem) for problem in problems]
    assert any("'ragflow 857' is not owner/repo#number" in m for m in messages)
    assert any("unknown cause id 'gremlins'" in m for m in messages)

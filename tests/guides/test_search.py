"""Search over all guide text, answering as the user types."""

from __future__ import annotations

from troubleshooter.guides.content import get_library
from troubleshooter.guides.search import index_for, snippet


def top_urls(query: str, count: int = 3) -> list[str]:
    return [hit.document.url for hit in index_for(get_library()).search(query)[:count]]


def test_a_pasted_error_message_finds_its_cause():
    assert "/causes/content-length-mismatch/" in top_urls("Response content shorter than Content-Length")


def test_an_event_loop_error_finds_event_loop_misuse():
    assert top_urls("asyncio.run() cannot be called from a running event loop")[0] == "/causes/event-loop-misuse/"


def test_a_setting_name_finds_the_platform_defaults():
    assert any(url.startswith("/platforms/#nginx") for url in top_urls("proxy_read_timeout", 6))


def test_the_last_word_may_be_unfinished_while_typing():
    assert "/causes/proxy-buffering/" in top_urls("proxy buff", 5)


def test_every_word_must_match_somewhere():
    assert index_for(get_library()).search("nginx zzzyzzy") == []


def test_an_empty_or_punctuation_only_query_finds_nothing():
    assert index_for(get_library()).search("   ") == []
    assert index_for(get_library()).search("!!! ???") == []


def test_snippets_escape_html_and_mark_the_query_words():
    html = snippet("the <script>alert(1)</script> proxy buffers", ["proxy"])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>proxy</mark>" in html


def test_marking_a_word_that_looks_like_the_mark_tag_keeps_the_html_well_formed():
    assert snippet("mark my words", ["mark", "mar"]) == "<mark>mark</mark> my words"


def test_the_search_page_renders_results(client):
    html = client.get("/search/?q=524").content.decode()
    assert "/causes/idle-timeout/" in html


def test_htmx_gets_only_the_results(client):
    response = client.get("/search/?q=gunicorn", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert "<html" not in html and "result" in html


def test_a_very_long_query_is_answered_not_refused(client):
    response = client.get("/search/?q=" + "timeout " * 2000)
    assert response.status_code == 200


def test_snippets_begin_and_end_on_whole_words():
    text = "alpha " * 40 + "needle " + "omega " * 40
    html = snippet(text, ["needle"])
    assert html.startswith("… alpha") and html.endswith("omega …")
    assert "<mark>needle</mark>" in html

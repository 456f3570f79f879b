"""Search over all guide text: symptoms in plain words and pasted errors find their cause."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings

from troubleshooter.guides.content import Library, get_library, load_library
from troubleshooter.guides.search import MAX_QUERY_LENGTH, SearchIndex, build_index, index_for, snippet, tokens


@cache
def guides() -> tuple[Library, SearchIndex]:
    """The real guides and their index, built once for this module (the app builds it once per load)."""
    library, problems = load_library(Path(settings.GUIDES_DIR))
    assert not problems
    return library, build_index(library)


def search(query: str):
    return guides()[1].search(query)


def top_urls(query: str, count: int = 3) -> list[str]:
    return [hit.document.url for hit in search(query)[:count]]


def cause_page(cause_id: str) -> str:
    return f"/causes/{cause_id}/"


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


# --- words ------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    return [token.term for token in tokens(text)]


def test_stemming_makes_buffered_and_buffering_one_word():
    assert terms("buffered") == terms("buffering") == terms("buffers")


def test_buffered_finds_the_pages_that_say_buffering():
    assert cause_page("proxy-buffering") in top_urls("buffered")


def test_stop_words_are_left_out_of_what_is_matched():
    assert terms("the stream is buffered by the proxy") == terms("stream buffered proxy")


def test_stop_words_never_empty_a_result():
    assert top_urls("the tokens are buffered by the proxy", 1) == top_urls("tokens buffered proxy", 1)
    assert top_urls("the tokens are buffered by the proxy", 1) == [cause_page("proxy-buffering")]


def test_minutes_and_seconds_are_one_measure():
    assert terms("5 minutes") == terms("300 s") == terms("300s")
    assert terms("a minute") == terms("60 seconds")


def test_timed_out_and_timeout_are_one_word():
    assert terms("the request timed out") == terms("request timeout")


def test_a_name_and_its_parts_find_each_other():
    assert top_urls("client disconnect", 1) == [cause_page("client-disconnect")]
    assert top_urls("ClientDisconnect", 1) == [cause_page("client-disconnect")]
    assert cause_page("idle-timeout") in top_urls("proxy_read_timeout")


def test_a_misspelt_word_finds_the_word_the_guides_use():
    assert cause_page("proxy-buffering") in top_urls("bufering")


def test_the_last_word_may_be_unfinished_while_typing():
    assert cause_page("proxy-buffering") in top_urls("proxy buff", 5)


# --- symptoms in plain words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "causes"),
    [
        ("all at once", {"proxy-buffering", "server-buffering", "compression-buffering"}),
        ("arrives in one chunk", {"proxy-buffering", "server-buffering", "compression-buffering"}),
        ("hangs", {"blocking-event-loop", "worker-saturation"}),
        ("stutters", {"proxy-buffering", "blocking-event-loop"}),
        ("bursts", {"proxy-buffering", "blocking-event-loop"}),
        ("answer cut off mid sentence", {"token-limit"}),
    ],
)
def test_a_symptom_in_plain_words_finds_its_causes(query, causes):
    assert {cause_page(cause) for cause in causes} & set(top_urls(query))


def test_stops_after_60_seconds_names_the_idle_timeout_first():
    assert top_urls("stops after 60 seconds", 1) == [cause_page("idle-timeout")]
    assert top_urls("the stream is cut after a minute", 1) == [cause_page("idle-timeout")]


def test_one_word_the_guides_never_use_does_not_empty_the_result():
    hits = search("nginx zzzyzzy")
    assert hits and all("zzzyzzy" not in hit.snippet_html for hit in hits)
    assert not hits[0].matched_all


def test_an_empty_or_punctuation_only_query_finds_nothing():
    assert search("   ") == []
    assert search("!!! ???") == []


# --- pasted errors ----------------------------------------------------------------------


def causes_listing(text: str) -> set[str]:
    """The pages of causes with a listed error that holds this text."""
    return {
        cause_page(cause.id)
        for cause in guides()[0].causes.values()
        if any(text.lower() in error.lower() for error in cause.errors)
    }


def test_every_listed_error_pasted_as_is_puts_a_cause_that_lists_it_first():
    for cause in guides()[0].causes.values():
        for error in cause.errors:
            first = search(error)[0]
            assert first.document.url in causes_listing(error), (error, first.document.url)
            assert first.error_match


@pytest.mark.parametrize(
    ("pasted", "cause"),
    [
        ("Truncated response body", "request-timeout"),
        ("FUNCTION_INVOCATION_TIMEOUT", "serverless-limits"),
        ("Too little data for declared Content-Length", "content-length-mismatch"),
        ("Response content shorter than Content-Length", "content-length-mismatch"),
        ("RuntimeError: Event loop is closed", "event-loop-misuse"),
        ("asyncio.run() cannot be called from a running event loop", "event-loop-misuse"),
        ("httpx.RemoteProtocolError: peer closed connection without sending complete message body "
         "(received 1024 bytes, expected 4096)", "content-length-mismatch"),
        ("ALB 460", "client-disconnect"),
        ("ALB 502", "request-timeout"),
        ("ALB 504", "idle-timeout"),
        ("Cloudflare 520", "request-timeout"),
        ("Cloudflare 524", "idle-timeout"),
    ],
)
def test_a_pasted_error_names_its_cause_first(pasted, cause):
    assert top_urls(pasted, 1) == [cause_page(cause)]


@pytest.mark.parametrize(
    ("pasted", "listed"),
    [
        ("[2024-05-01 10:00:00 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:4242)", "[CRITICAL] WORKER TIMEOUT (pid:12345)"),
        ('2024/05/01 10:00:00 [error] 31#31: *7 upstream timed out (110: Connection timed out) while reading '
         'upstream, client: 10.0.0.1, server: _, request: "POST /chat HTTP/1.1"',
         "upstream timed out (110: Connection timed out) while reading upstream"),
        ("upstream timed out (110", "upstream timed out (110: Connection timed out) while reading upstream"),
        ("incomplete chunked read", "incomplete chunked read"),
        ("Endpoint request timed out", "Endpoint request timed out"),
    ],
)
def test_a_pasted_log_line_puts_a_cause_whose_error_list_holds_it_first(pasted, listed):
    first = search(pasted)[0]
    assert first.document.url in causes_listing(listed)
    assert first.error_match


def test_a_pasted_error_ranks_above_pages_that_only_share_its_words():
    hits = search("Endpoint request timed out")
    listing = [hit for hit in hits if hit.error_match]
    assert hits[: len(listing)] == listing


# --- one document per cause -------------------------------------------------------------


def test_the_cause_page_is_the_result_not_a_fix_on_a_framework_tab():
    pair = next(iter(guides()[0].causes["proxy-buffering"].pairs.values()))
    assert top_urls(pair.title, 1) == [cause_page("proxy-buffering")]
    for query in ("proxy buffering", "astream_events", pair.title, "LangGraph stream_mode messages"):
        assert not any("framework=" in url or "#" in url for url in top_urls(query, 20) if url.startswith("/causes/"))


def test_a_setting_name_finds_the_platform_defaults():
    assert any(url.startswith("/platforms/#nginx") for url in top_urls("proxy_read_timeout", 6))


def test_the_index_is_built_once_per_loaded_library():
    assert index_for(get_library()) is index_for(get_library())


# --- snippets ---------------------------------------------------------------------------


def test_the_snippet_marks_the_pasted_phrase_as_one_piece():
    pasted = "httpx.RemoteProtocolError: peer closed connection without sending complete message body (incomplete chunked read)"
    marked = marks(search(pasted)[0].snippet_html)
    assert len(marked) == 1 and "peer closed connection without sending complete message body" in marked[0]


def test_the_snippet_marks_a_phrase_not_the_same_words_scattered():
    html = snippet("The proxy was up, the buffer was full, and proxy buffering stayed on.", "proxy buffering")
    assert marks(html) == ["proxy buffering"]


def test_a_pasted_error_is_not_marked_word_by_word_inside_a_different_error():
    hits = search("Response content shorter than Content-Length")
    assert marks(hits[0].snippet_html) == ["Response content shorter than Content-Length"]
    for hit in hits[1:]:  # a phrase of two words or more ("Content-Length" is two), never one word
        assert all(len(re.findall(r"[A-Za-z0-9]+", mark)) > 1 for mark in marks(hit.snippet_html))


def test_snippets_escape_html_and_mark_the_query_words():
    html = snippet("the <script>alert(1)</script> proxy buffers", "proxy")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>proxy</mark>" in html


def test_marking_a_word_that_looks_like_the_mark_tag_keeps_the_html_well_formed():
    assert snippet("mark my words", "mark") == "<mark>mark</mark> my words"


def test_snippets_begin_and_end_on_whole_words():
    text = "alpha " * 40 + "needle " + "omega " * 40
    html = snippet(text, "needle")
    assert html.startswith("… alpha") and html.endswith("omega …")
    assert "<mark>needle</mark>" in html


# --- the page ---------------------------------------------------------------------------


def test_the_search_page_renders_results(client):
    html = client.get("/search/?q=524").content.decode()
    assert "/causes/idle-timeout/" in html


def test_htmx_gets_only_the_results(client):
    response = client.get("/search/?q=gunicorn", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert "<html" not in html and "result" in html


def test_a_cause_that_lists_the_pasted_error_says_so(client):
    html = client.get("/search/", {"q": "FUNCTION_INVOCATION_TIMEOUT"}).content.decode()
    assert "lists this error" in html


def test_ordinary_words_that_match_only_in_part_show_the_closest_pages_and_the_tree(client):
    html = client.get("/search/", {"q": "my chatbot answer arrives garbled zzzyzzy"}).content.decode()
    assert "closest matches" in html
    assert '<ol class="results">' in html and 'href="/troubleshoot/"' in html


def test_words_the_guides_never_use_lead_to_the_tree_and_the_list_of_causes(client):
    html = client.get("/search/", {"q": "zzzyzzy qqqxqqq"}).content.decode()
    assert "use none of the words" in html
    assert 'href="/troubleshoot/"' in html and 'href="/causes/"' in html


def test_a_word_that_starts_with_a_word_of_the_guides_finds_that_word():
    assert search("chatbots")


def test_a_query_of_common_words_only_says_there_is_nothing_to_search_for(client):
    html = client.get("/search/", {"q": "the by"}).content.decode()
    assert "has no words to search for" in html and 'href="/troubleshoot/"' in html


@pytest.mark.parametrize(
    "raw_query",
    [
        "q=%00",  # a NUL
        "q=nginx%00buffering",
        "q=%ff%fe%fd",  # not UTF-8
        "q=%c3%28",  # a broken two-byte sequence
        "q=" + "%21%3F" * 50,  # punctuation only
        "q=" + "timeout%20" * 2000,  # far longer than a query may be
        "q=" + "a" * 20000,  # one very long word
        "q=proxy&q=buffering",  # the parameter twice
    ],
)
def test_odd_input_gets_a_clear_page_not_an_error(client, raw_query):
    response = client.get("/search/?" + raw_query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "\x00" not in html
    assert "result" in html or "no words to search for" in html or "use none of the words" in html


def test_a_very_long_query_is_cut_to_the_longest_a_query_may_be(client):
    html = client.get("/search/", {"q": "timeout " * 2000}).content.decode()
    assert "timeout " * (MAX_QUERY_LENGTH // len("timeout ") + 1) not in html


def rank_of(query: str, url: str) -> int:
    urls = [hit.document.url for hit in search(query)]
    return urls.index(url) + 1 if url in urls else len(urls) + 1


def test_naming_the_platform_lifts_the_causes_its_settings_are_involved_in():
    symptom = "the reply ends before it is done"
    alone = rank_of(symptom, "/causes/serverless-limits/")
    on_vercel = rank_of(symptom + " on vercel", "/causes/serverless-limits/")
    assert on_vercel < alone and on_vercel <= 3


def test_a_platform_named_in_two_words_is_recognised_and_a_part_of_it_is_not():
    symptom = "stream ends after a few minutes"
    assert rank_of(symptom + " on cloud run", "/causes/request-timeout/") < rank_of(
        symptom + " on a run of the cloud", "/causes/request-timeout/"
    )


def test_a_stack_name_people_use_for_nginx_finds_the_proxy_page():
    assert "/causes/proxy-buffering/" in top_urls("streaming output does not work on lemp")


def test_tools_bound_to_a_model_lead_to_the_missing_stream_switch():
    assert top_urls("the model stops streaming tokens after bind_tools")[0] == "/causes/stream-not-requested/"


# --- the content behind it --------------------------------------------------------------


def test_platform_aliases_must_be_a_list_of_strings(guides_copy):
    path = guides_copy / "platforms.yaml"
    path.write_text(path.read_text().replace("aliases: [vercel]", "aliases: vercel", 1))
    _library, problems = load_library(guides_copy)
    assert any("aliases" in str(problem) and "list of non-empty strings" in str(problem) for problem in problems)



def test_search_terms_must_be_a_list_of_strings(guides_copy):
    path = guides_copy / "causes" / "proxy-buffering.md"
    text = path.read_text()
    path.write_text(re.sub(r"search_terms:\n(  - .*\n)+", "search_terms: all at once\n", text, count=1))
    _library, problems = load_library(guides_copy)
    assert "guides/causes/proxy-buffering.md [search_terms]: must be a list of non-empty strings" in map(str, problems)


def test_a_result_lifted_by_a_named_platform_says_which_platform_setting_concerns_it(client):
    html = client.get("/search/", {"q": "the reply ends before it is done on vercel"}).content.decode()
    assert "A Vercel Functions setting is involved" in html
    plain = client.get("/search/", {"q": "the reply ends before it is done"}).content.decode()
    assert "setting is involved" not in plain


def test_a_real_incident_is_searched_with_its_cause_in_its_reporters_words():
    library, _index = guides()
    incident = next(i for i in library.incidents if i.id == "chatollama-bind-tools-no-stream")
    assert top_urls(incident.search_phrase)[0] == f"/causes/{incident.cause_id}/"


def test_an_index_built_without_an_incident_holds_none_of_its_words():
    library, _index = guides()
    incident = library.incidents[0]
    without = build_index(library, leave_out=incident.id)
    texts = [field.text for document in without.documents for field in document.fields]
    assert incident.symptom not in texts and incident.search_phrase not in texts
    assert incident.symptom in [field.text for d in build_index(library).documents for field in d.fields]

"""The /embed/ pages: framed only by the portals allowed, without the site's chrome, links
that leave the frame, the theme and section chosen by parameters, oEmbed and the panel."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.probe.servers import openai_stream
from tests.runs.test_pages import recorded_run
from troubleshooter import embedding

pytestmark = pytest.mark.django_db

PORTAL = "https://docs.example.com"


@pytest.fixture(autouse=True)
def a_portal_is_allowed(settings) -> None:
    settings.EMBED_ALLOWED_ORIGINS = [PORTAL]


def links(html: str) -> list[str]:
    return re.findall(r"<a [^>]*>", html)


def href_of(tag: str) -> str:
    found = re.search(r'href="([^"]*)"', tag)
    assert found, tag
    return found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("path", [
    "/embed/troubleshoot/", "/embed/causes/proxy-buffering/", "/embed/guides/langgraph/", "/embed/platforms/",
])
def test_embed_pages_may_be_framed_by_the_allowed_portals_only(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "frame-ancestors 'self' https://docs.example.com" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


@pytest.mark.parametrize("path", ["/", "/troubleshoot/", "/causes/proxy-buffering/", "/guides/langgraph/",
                                  "/platforms/", "/search/?q=nginx", "/runs/new/"])
def test_every_other_page_refuses_to_be_framed(client, path):
    response = client.get(path)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_an_embed_page_has_no_site_chrome_but_a_link_to_open_it_on_the_site(client):
    html = client.get("/embed/causes/proxy-buffering/").content.decode()
    assert '<header class="site">' not in html and '<footer class="site">' not in html
    assert 'class="site-search"' not in html and "Embed this" not in html
    opener = next(tag for tag in links(html) if "data-leave-frame" in tag)
    assert href_of(opener) == "http://testserver/causes/proxy-buffering/"
    assert 'target="_top"' in opener
    assert "static/embed/child.js" in html


def test_links_leave_the_frame_in_the_top_window_or_a_new_tab_as_asked(client):
    top = client.get("/embed/guides/langgraph/").content.decode()
    to_causes = [tag for tag in links(top) if "/causes/" in tag]
    assert to_causes and all('target="_top"' in tag and href_of(tag).startswith("http://testserver/causes/")
                             for tag in to_causes)
    new = client.get("/embed/guides/langgraph/?links=new").content.decode()
    to_causes = [tag for tag in links(new) if "/causes/" in tag]
    assert all('target="_blank"' in tag and 'rel="noopener"' in tag for tag in to_causes)


def test_the_tree_walks_inside_the_frame_and_keeps_its_options(client):
    html = client.get("/embed/troubleshoot/?theme=dark").content.decode()
    assert "Which framework streams your answers?" in html
    answers = [tag for tag in links(html) if 'class="answer' in tag]
    assert answers
    for tag in answers:
        assert href_of(tag).startswith("/embed/troubleshoot/?") and "theme=dark" in href_of(tag)
        assert 'hx-get="/embed/troubleshoot/?' in tag and ' target="' not in tag
    step = client.get(href_of(answers[0]), headers={"HX-Request": "true", "HX-Target": "step"})
    part = step.content.decode()
    assert step.status_code == 200 and "<html" not in part and part.lstrip().startswith("<title>")
    assert 'href="/embed/troubleshoot/?' in part


def test_a_leaf_in_the_frame_sends_its_cause_links_out(client):
    html = client.get("/embed/troubleshoot/?framework=langgraph&symptom=all-at-once").content.decode()
    walked = html
    for _ in range(8):
        if 'class="ranked' in walked:
            break
        answer = next(tag for tag in links(walked) if 'class="answer' in tag)
        walked = client.get(href_of(answer)).content.decode()
    assert 'class="ranked' in walked
    causes = [tag for tag in links(walked) if "/causes/" in tag]
    assert causes and all('target="_top"' in tag and "/embed/" not in href_of(tag) for tag in causes)


def test_a_broken_walk_is_explained_inside_the_frame(client):
    response = client.get("/embed/troubleshoot/?framework=cobol")
    assert response.status_code == 400
    html = response.content.decode()
    assert '<header class="site">' not in html and "That link does not lead anywhere" in html


def test_the_framework_tab_and_a_section_are_chosen_by_parameters(client):
    html = client.get("/embed/causes/proxy-buffering/?framework=langgraph&section=fix").content.decode()
    assert 'aria-current="true" class="tab current">LangGraph' in html
    assert 'id="fix-heading"' in html
    assert 'id="symptoms-heading"' not in html and 'id="settings-heading"' not in html
    tabs = [tag for tag in links(html) if 'class="tab' in tag]
    assert all(href_of(tag).startswith("/embed/causes/proxy-buffering/?framework=") and "section=fix" in href_of(tag)
               for tag in tabs)
    switched = client.get("/embed/causes/proxy-buffering/?framework=autogen&section=fix",
                          headers={"HX-Request": "true", "HX-Target": "code-panel"}).content.decode()
    assert "<html" not in switched and 'aria-current="true" class="tab current">AutoGen' in switched


def test_an_unknown_section_or_framework_is_a_clear_error(client):
    section = client.get("/embed/causes/proxy-buffering/?section=nowhere")
    assert section.status_code == 400 and "is not a part of this page" in section.content.decode()
    assert client.get("/embed/causes/proxy-buffering/?framework=cobol").status_code == 400
    assert client.get("/embed/causes/no-such-cause/").status_code == 404
    assert client.get("/embed/guides/no-such-framework/").status_code == 404


def test_the_theme_parameter_fixes_the_colours(client):
    dark = client.get("/embed/platforms/?theme=dark").content.decode()
    assert 'data-theme="dark"' in dark and 'href="/embed/style-dark.css"' in dark
    css = client.get("/embed/style-dark.css").content.decode()
    assert "prefers-color-scheme" not in css and "color-scheme: dark" in css
    light = client.get("/embed/style-light.css").content.decode()
    assert "@media not all" in light and "color-scheme: light" in light
    assert client.get("/embed/style-auto.css").content.decode().count("prefers-color-scheme: dark") >= 2
    assert client.get("/embed/style-sepia.css").status_code == 404
    assert 'data-theme="auto"' in client.get("/embed/platforms/?theme=sepia").content.decode()


def test_oembed_describes_an_embeddable_page_as_a_rich_frame(client):
    answer = client.get("/oembed", {"url": "http://testserver/causes/proxy-buffering/?framework=autogen",
                                    "format": "json", "maxwidth": "500"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["type"] == "rich" and body["version"] == "1.0" and body["width"] == 500
    assert body["title"] == "A reverse proxy holds the stream in its buffers"
    assert 'src="http://testserver/embed/causes/proxy-buffering/?framework=autogen"' in body["html"]
    assert "static/embed/host.js" in body["html"]


@pytest.mark.parametrize("url, status", [
    ("http://elsewhere.example/causes/proxy-buffering/", 404),
    ("http://testserver/search/", 404),
    ("http://testserver/causes/no-such-cause/", 404),
    ("javascript:alert(1)", 404),
])
def test_oembed_refuses_pages_it_cannot_embed(client, url, status):
    assert client.get("/oembed", {"url": url, "format": "json"}).status_code == status


def test_oembed_offers_json_only(client):
    assert client.get("/oembed", {"url": "http://testserver/platforms/", "format": "xml"}).status_code == 501


def test_embeddable_pages_carry_the_oembed_link_and_the_embed_panel(client):
    html = client.get("/causes/proxy-buffering/?framework=langgraph").content.decode()
    assert 'type="application/json+oembed"' in html
    assert 'href="/oembed?url=http%3A%2F%2Ftestserver%2Fcauses%2Fproxy-buffering%2F%3Fframework%3Dlanggraph' in html
    panel = html[html.index('id="embed-this"'):]
    assert "http://testserver/embed/causes/proxy-buffering/?framework=langgraph" in panel
    assert "extra_javascript:" in panel and "style={{width: &#x27;100%&#x27;, border: 0}}" in panel
    assert '<iframe class="embed-preview" src="http://testserver/embed/causes/proxy-buffering/?framework=langgraph"' in panel
    for page in ("/troubleshoot/", "/guides/autogen/", "/platforms/"):
        assert 'id="embed-this"' in client.get(page).content.decode(), page


def test_pages_that_cannot_be_embedded_have_neither(client):
    for page in ("/", "/causes/", "/search/?q=nginx", "/causes/no-such-cause/"):
        html = client.get(page).content.decode()
        assert "json+oembed" not in html and 'id="embed-this"' not in html, page


def test_the_snippets_name_the_frame_and_the_host_script():
    snippets = embedding.snippets("https://t.example/embed/platforms/", "https://t.example", 'Say "hi"')
    assert '<iframe src="https://t.example/embed/platforms/" title="Say &quot;hi&quot;"' in snippets["iframe"]
    assert '<script src="https://t.example/static/embed/host.js" defer></script>' in snippets["iframe"]
    assert "  - https://t.example/static/embed/host.js" in snippets["mkdocs"]
    assert f"title={json.dumps(chr(83) + 'ay ' + chr(34) + 'hi' + chr(34))}" in snippets["docusaurus"]


@pytest.fixture
def a_run(settings):
    settings.REQUIRE_LOGIN_FOR_RUNS = True
    run = recorded_run(openai_stream(["Hello", " there"], gap=0.02), framework="langchain")
    run.owner = User.objects.create_user("alice", password="pw")
    run.save()
    return run


def test_a_runs_verdict_is_embedded_for_those_who_may_see_it(client, a_run):
    stranger = client.get(f"/embed/runs/{a_run.pk}/")
    assert stranger.status_code == 404 and "login" not in stranger.get("Location", "")
    owner = Client()
    owner.force_login(User.objects.get(username="alice"))
    seen = owner.get(f"/embed/runs/{a_run.pk}/")
    html = seen.content.decode()
    assert seen.status_code == 200 and 'id="verdict-heading"' in html
    assert "frame-ancestors 'self' https://docs.example.com" in seen["Content-Security-Policy"]
    assert 'name="csrfmiddlewaretoken"' not in html and "Cancel" not in html


def test_a_shared_runs_verdict_is_embedded_by_its_token_for_anyone(client, a_run):
    assert client.get("/embed/runs/shared/not-a-token/").status_code == 404
    a_run.share()
    response = client.get(f"/embed/runs/shared/{a_run.share_token}/")
    assert response.status_code == 200 and 'id="verdict-heading"' in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    owner = Client()
    owner.force_login(User.objects.get(username="alice"))
    panel = owner.get(f"/runs/{a_run.pk}/").content.decode()
    assert f"/embed/runs/shared/{a_run.share_token}/" in panel[panel.index('id="embed-this"'):]

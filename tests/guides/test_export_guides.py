"""manage.py exportguides: every cause page and framework guide as a fragment with one
scoped stylesheet, links pointing at the base URL, readable straight from a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from troubleshooter.guides.content import get_library

BASE = "https://troubleshooter.example.com"


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    call_command("exportguides", str(tmp_path / "out"), "--base-url", BASE + "/")
    return tmp_path / "out"


def test_it_writes_a_fragment_for_every_cause_and_framework_and_one_stylesheet(exported):
    library = get_library()
    assert sorted(p.stem for p in (exported / "causes").glob("*.html")) == sorted(library.causes)
    assert sorted(p.stem for p in (exported / "guides").glob("*.html")) == sorted(library.frameworks)
    assert [p.name for p in exported.glob("*.css")] == ["streaming-troubleshooter.css"]


def test_a_fragment_has_no_script_no_chrome_and_every_framework_fix(exported):
    html = (exported / "causes" / "proxy-buffering.html").read_text()
    assert "<script" not in html and "<html" not in html and 'class="site' not in html
    assert html.startswith('<link rel="stylesheet" href="../streaming-troubleshooter.css">')
    for name in ("LangChain", "LangGraph", "LlamaIndex", "AutoGen"):
        assert f"<h3>{name}: " in html
    assert "hx-get" not in html


def test_links_point_at_the_base_url(exported):
    html = (exported / "guides" / "langgraph.html").read_text()
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', html)
    assert hrefs
    assert all(href.startswith(BASE + "/") or href.startswith("#") for href in hrefs), hrefs
    assert f'href="{BASE}/causes/proxy-buffering/?framework=langgraph"' in html.replace("&amp;", "&")


def test_the_stylesheet_styles_only_the_fragment(exported):
    css = (exported / "streaming-troubleshooter.css").read_text()
    assert ":root" not in css and "\nbody {" not in css
    assert css.count(".streaming-troubleshooter {") == 1
    assert "@keyframes pulse" in css.split(".streaming-troubleshooter {")[0]


def test_a_base_url_that_is_not_an_address_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--base-url must be an http"):
        call_command("exportguides", str(tmp_path), "--base-url", "troubleshooter.example.com")


@pytest.mark.browser
def test_an_exported_page_opens_in_chromium_from_a_file_styled(exported, page):
    fragment = exported / "causes" / "proxy-buffering.html"
    page.goto(fragment.as_uri())
    root = page.locator(".streaming-troubleshooter")
    assert page.locator("h1").inner_text() == "A reverse proxy holds the stream in its buffers"
    # The scoped stylesheet applies: its palette on the root, its diff layout in the code.
    assert root.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(247, 248, 250)"
    assert page.locator(".diff-split").first.evaluate("e => getComputedStyle(e).display") == "block"
    assert page.locator(".diff-unified").first.evaluate("e => getComputedStyle(e).display") == "none"
    link = page.get_by_role("link", name="Open in the troubleshooter")
    assert link.get_attribute("href") == BASE + "/causes/proxy-buffering/"

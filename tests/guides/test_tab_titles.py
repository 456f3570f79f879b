"""Every step and leaf of the troubleshooter has its own tab title, also when htmx swaps it in,
so the browser's history lists where each entry was."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

SUFFIX = " · Streaming troubleshooter"
HTMX_STEP = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "step"}
LEAF = "/troubleshoot/?framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-buffers&handler-shape=returns-json"


def titles(html: str) -> list[str]:
    return re.findall(r"<title>(.*?)</title>", html, re.DOTALL)


@pytest.mark.parametrize(
    "query, title",
    [
        ("", "Which framework streams your answers?"),
        ("?framework=langchain", "What do your users see?"),
        (LEAF.partition("?")[1] + LEAF.partition("?")[2], "Likely cause: Your handler waits for the full answer, then sends it"),
    ],
)
def test_a_step_swapped_in_by_htmx_carries_the_same_title_as_the_whole_page(client, query, title):
    page = client.get("/troubleshoot/" + query).content.decode()
    swapped = client.get("/troubleshoot/" + query, **HTMX_STEP).content.decode()
    assert [t.strip() for t in titles(page)] == [title + SUFFIX]
    assert [t.strip() for t in titles(swapped)] == [title + SUFFIX]
    assert swapped.lstrip().startswith("<title>")  # at the top level, where htmx looks for it


def test_a_history_restore_gets_one_title_in_the_head(client):
    html = client.get("/troubleshoot/?framework=langchain", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX_STEP)
    assert len(titles(html.content.decode())) == 1


@pytest.mark.browser
def test_the_tab_title_follows_each_step_and_back_and_forward(live_app, page):
    page.goto(live_app + "/troubleshoot/")
    expect(page).to_have_title("Which framework streams your answers?" + SUFFIX)
    seen = [page.title()]
    page.get_by_role("link", name="LangChain", exact=True).click()
    expect(page).to_have_title("What do your users see?" + SUFFIX)
    seen.append(page.title())
    page.get_by_role("link", name=re.compile("whole answer at once")).click()
    expect(page).to_have_title("Did this route ever stream token by token? What changed since?" + SUFFIX)
    seen.append(page.title())
    page.get_by_role("link", name=re.compile("never has")).click()
    expect(page).to_have_title("Where do you watch the answer arrive?" + SUFFIX)
    seen.append(page.title())
    page.get_by_role("link", name=re.compile("web app")).click()
    expect(page).to_have_title("Look at the raw response: what does the answer come in?" + SUFFIX)
    seen.append(page.title())
    page.get_by_role("link", name=re.compile("can't see the raw response")).click()
    expect(page).to_have_title(re.compile(r"^Call the app directly"))
    seen.append(page.title())
    page.get_by_role("link", name=re.compile("arrives all at once even then")).click()
    expect(page).to_have_title("How does your handler send the answer?" + SUFFIX)
    page.get_by_role("link", name=re.compile("returns JSON")).click()
    expect(page).to_have_title("Likely cause: Your handler waits for the full answer, then sends it" + SUFFIX)
    seen.append(page.title())
    assert len(set(seen)) == len(seen)

    page.go_back()
    expect(page).to_have_title("How does your handler send the answer?" + SUFFIX)
    page.go_back()
    expect(page).to_have_title(seen[5])
    page.go_forward()
    expect(page).to_have_title("How does your handler send the answer?" + SUFFIX)
    assert page.locator("body title").count() == 0  # the title went to the head, not into the page

"""The guided troubleshooter in headless Chromium, clicked through as a person would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_person_walks_the_tree_to_a_cause_switches_tabs_goes_back_and_changes_an_answer(
    live_app, page, artifacts
):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(live_app + "/")
    page.get_by_role("link", name="LangChain", exact=True).first.click()
    expect(page.get_by_role("heading", name="What do your users see?")).to_be_visible()

    # From here on htmx swaps only the step panel; the URL follows every answer.
    page.get_by_role("link", name=re.compile("whole answer", re.I)).click()
    expect(page).to_have_url(re.compile(r"symptom=all-at-once"))
    heading = page.locator("#step-heading")
    expect(heading).to_be_focused()  # focus lands on the new question after the swap
    page.get_by_role("link", name=re.compile("never has")).click()
    expect(page).to_have_url(re.compile(r"streamed-before=never-or-unknown"))
    page.get_by_role("link", name=re.compile("web app")).click()
    expect(page).to_have_url(re.compile(r"where-seen=web"))
    page.locator("#step a.answer").first.click()  # one JSON body, not an event stream
    expect(page).to_have_url(re.compile(r"event-count=json"))
    expect(page.locator(".ranked-cause").first).to_contain_text("server-buffering")
    expect(page.locator(".leaf-fix")).to_contain_text("The fix for LangChain")
    leaf_url = page.url

    # The back button returns to the previous question, forward to the leaf again.
    page.go_back()
    expect(page.get_by_role("heading", name="Look at the raw response: what does the answer come in?")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(leaf_url)
    expect(page.locator(".ranked-cause").first).to_be_visible()

    # Change the first symptom answer from the breadcrumb: the framework is kept.
    page.get_by_role("link", name="Change your answer to: What do your users see?").click()
    expect(page.get_by_role("heading", name="What do your users see?")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?framework=langchain&earlier=all-at-once$"))
    page.get_by_role("link", name=re.compile("stops before", re.I)).click()
    expect(page.get_by_role("heading", name="When does it stop?")).to_be_visible()

    # Open a cause page and switch framework tabs.
    page.goto(live_app + "/causes/idle-timeout/?framework=langchain")
    panel = page.locator("#code-panel")
    expect(panel.locator(".tab.current")).to_have_text("LangChain")
    panel.get_by_role("link", name="LlamaIndex").click()
    expect(page).to_have_url(re.compile(r"framework=llamaindex"))
    expect(panel.locator(".tab.current")).to_have_text("LlamaIndex")
    expect(panel.locator("h3")).to_be_focused()
    expect(panel.locator(".diff-split")).to_contain_text("llama_index")
    assert panel.locator(".diff-split ins").count() > 0
    page.go_back()
    expect(panel.locator(".tab.current")).to_have_text("LangChain")

    page.screenshot(path=str(artifacts / "cause-page.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "cause-page-phone.png"), full_page=False)
    assert errors == []


def test_the_pages_work_with_javascript_turned_off(live_app, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_app + "/troubleshoot/")
    page.get_by_role("link", name="AutoGen").click()
    expect(page.get_by_role("heading", name="What do your users see?")).to_be_visible()
    page.goto(live_app + "/causes/token-limit/?framework=langchain")
    page.locator("#code-panel").get_by_role("link", name="AutoGen").click()
    expect(page.locator("#code-panel .tab.current")).to_have_text("AutoGen")
    page.get_by_role("button", name="Yes, it did").click()
    expect(page.get_by_text("Thank you: your answer was recorded.")).to_be_visible()
    context.close()


def test_search_answers_as_you_type(live_app, page):
    page.goto(live_app + "/search/")
    page.get_by_label("Search, or paste an error message").press_sequentially("Error 52", delay=30)
    expect(page.locator("#results")).to_contain_text("idle", timeout=5000)
    expect(page).to_have_url(re.compile(r"q=Error"))


def test_copy_buttons_work_after_back_and_forward_and_none_is_left_reading_copied(live_app, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app)
    page = context.new_page()
    try:
        page.goto(live_app + "/causes/idle-timeout/?framework=langchain")
        panel = page.locator("#code-panel")
        copy = panel.locator("button.copy").first
        copy.click()
        expect(copy).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.strip() and "\n" in copied

        # An htmx tab swap, then back: htmx restores the page from its history snapshot,
        # taken while the button still read "Copied".
        panel.get_by_role("link", name="LlamaIndex").click()
        expect(panel.locator(".tab.current")).to_have_text("LlamaIndex")
        page.go_back()
        expect(panel.locator(".tab.current")).to_have_text("LangChain")
        expect(page.locator("button.copy", has_text="Copied")).to_have_count(0)
        page.evaluate("navigator.clipboard.writeText('nothing yet')")
        copy = panel.locator("button.copy").first
        expect(copy).to_be_visible()
        copy.click()
        expect(copy).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == copied
    finally:
        context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_curl_command_in_a_question_has_a_copy_button_that_copies_it_whole(live_app, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app)
    page = context.new_page()
    try:
        page.goto(live_app + "/troubleshoot/?framework=langchain&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web")
        command = page.locator(".help .command").first
        expect(command.locator("code")).to_contain_text("curl -N")
        command.locator("button.copy").click()
        expect(command.locator("button.copy")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == command.locator("code").text_content()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0  # the long command wraps instead of widening the page
    finally:
        context.close()

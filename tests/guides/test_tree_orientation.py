"""Knowing where you are in the troubleshooter: "Change" marks the answer given before, each
question says how many at most are left, focus rings show for keyboard users only, and Enter
on a home-page framework card lands on the next page's heading."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from django.core.checks import run_checks
from playwright.sync_api import expect

from tests.guides.test_tree import TREE, params
from troubleshooter.guides.tree import BadWalk, walk

HTMX_STEP = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "step"}


# --- "question N of at most M" -------------------------------------------------------------


def test_each_question_counts_itself_and_the_longest_walk_that_could_follow():
    first = walk(TREE, {})
    assert (first.question_number, first.most_questions) == (1, 3)
    cut_short = walk(TREE, params("framework=langchain"))
    assert (cut_short.question_number, cut_short.most_questions) == (2, 3)
    last = walk(TREE, params("framework=langchain&symptom=all-at-once"))
    assert (last.question_number, last.most_questions) == (3, 3)


def test_the_real_tree_says_question_1_of_at_most_8_then_narrows_down_as_answers_come(client):
    assert "Question 1 of at most 8" in client.get("/troubleshoot/").content.decode()
    html = client.get("/troubleshoot/?framework=langchain&symptom=stops-early", **HTMX_STEP).content.decode()
    # A cut at one minute asks two more questions (was text flowing, what sits in front).
    assert "Question 3 of at most 6" in html
    html = client.get("/troubleshoot/?framework=langchain&symptom=stops-early&cut-when=random").content.decode()
    # Random cuts ask what the logs say, then, if they say nothing, what the user was doing.
    assert "Question 4 of at most 5" in html


# --- "Change" marks the answer given before ----------------------------------------------


def test_the_link_to_change_an_answer_carries_that_answer_along():
    result = walk(TREE, params("framework=langchain&symptom=all-at-once&where=proxy"))
    assert params(result.query_to_change(1)) == {"framework": ["langchain"], "earlier": ["all-at-once"]}
    assert params(result.query_to_change(0)) == {"earlier": ["langchain"]}


def test_a_walk_back_to_a_question_knows_the_answer_being_changed():
    result = walk(TREE, params("framework=langchain&earlier=cut"))
    assert result.question.id == "symptom" and result.earlier.id == "cut"
    assert result.query() == "framework=langchain"  # answering goes on from the real answers only
    assert "earlier" not in result.query_with(result.question.answer("all-at-once"))


@pytest.mark.parametrize(
    "query", ["framework=langchain&earlier=nonsense", "framework=langchain&earlier=cut&earlier=cut",
              "framework=langchain&symptom=cut&earlier=cut"]
)
def test_an_earlier_answer_that_the_question_does_not_offer_is_refused(query):
    with pytest.raises(BadWalk):
        walk(TREE, params(query))


def test_changing_an_answer_shows_the_question_with_the_earlier_answer_marked(client):
    leaf = client.get("/troubleshoot/?framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams&public-encoding=no&proxy-kind=ingress")
    change = re.search(r'href="/troubleshoot/\?([^"]*)"[^>]*aria-label="Change your answer to: What do your users see\?"',
                       leaf.content.decode())
    assert parse_qs(change.group(1).replace("&amp;", "&")) == {"framework": ["langgraph"], "earlier": ["all-at-once"]}
    html = client.get("/troubleshoot/?" + change.group(1).replace("&amp;", "&"), **HTMX_STEP).content.decode()
    marked = re.findall(r'<a class="answer earlier"[^>]*>(.*?)</a>', html, re.DOTALL)
    assert len(marked) == 1
    assert "Nothing for a while, then the whole answer at once" in marked[0]
    assert "your earlier answer" in marked[0]


def test_the_guides_check_refuses_a_question_named_like_the_earlier_parameter(guides_copy):
    tree = guides_copy / "tree.yaml"
    tree.write_text(tree.read_text().replace("\n  dup-when:\n", "\n  earlier:\n").replace("next: dup-when", "next: earlier"))
    assert any("questions.earlier" in m.msg and "reserved" in m.msg for m in run_checks(tags=["guides"]))


# --- in the browser ------------------------------------------------------------------------

OUTLINE = "el => getComputedStyle(el).outlineStyle"


@pytest.mark.browser
def test_a_mouse_click_moves_focus_to_the_new_question_without_a_ring_and_the_keyboard_shows_one(live_app, page):
    page.goto(live_app + "/troubleshoot/?framework=langchain")
    page.get_by_role("link", name=re.compile("whole answer at once")).click()
    heading = page.locator("#step-heading")
    expect(heading).to_contain_text("Did this route ever stream")
    expect(heading).to_be_focused()
    assert heading.evaluate(OUTLINE) == "none"
    page.get_by_role("link", name=re.compile("never has")).click()
    expect(heading).to_contain_text("Where do you watch the answer arrive?")
    page.get_by_role("link", name=re.compile("web app")).click()
    expect(heading).to_contain_text("Look at the raw response")

    page.get_by_role("link", name=re.compile("all arriving together")).focus()
    page.keyboard.press("Enter")
    expect(heading).to_contain_text("Call the app directly")
    expect(heading).to_be_focused()
    assert heading.evaluate(OUTLINE) == "solid"


@pytest.mark.browser
@pytest.mark.parametrize(
    "card, heading",
    [
        (".start a.answer:has-text('LangGraph')", "What do your users see?"),
        (".tiles a.tile:has-text('LangGraph')", "Streaming with LangGraph: what cuts it off, and the fixes"),
    ],
)
def test_enter_on_a_home_page_framework_card_lands_on_the_next_pages_heading(live_app, page, card, heading):
    page.goto(live_app + "/")
    page.locator(card).focus()
    page.keyboard.press("Enter")
    target = page.get_by_role("heading", name=heading)
    expect(target).to_be_focused()
    assert target.evaluate(OUTLINE) == "solid"  # a keyboard user sees where they are
    page.keyboard.press("Tab")  # and goes on from there, not from the top of the page
    assert page.evaluate("document.activeElement.closest('header') === null")


@pytest.mark.browser
def test_a_mouse_click_on_a_home_page_card_leaves_focus_alone(live_app, page):
    page.goto(live_app + "/")
    page.locator(".tiles a.tile:has-text('LangGraph')").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("LangGraph")
    assert page.evaluate("document.activeElement === document.body")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
def test_change_brings_back_the_question_with_the_earlier_choice_marked(live_app, browser, artifacts, width):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto(live_app + "/troubleshoot/?framework=langgraph&symptom=all-at-once&streamed-before=never-or-unknown&where-seen=web&event-count=not-sure&buffer-where=direct-streams")
            expect(page.locator(".progress")).to_have_text("Question 7 of at most 8")
            page.get_by_role("link", name="Change your answer to: What do your users see?").click()
            expect(page.locator("#step-heading")).to_have_text("What do your users see?")
            expect(page.locator(".progress")).to_have_text("Question 2 of at most 8")
            earlier = page.locator("a.answer.earlier")
            expect(earlier).to_have_count(1)
            expect(earlier).to_contain_text("Nothing for a while, then the whole answer at once")
            expect(earlier.locator(".earlier-note")).to_be_visible()
            assert earlier.evaluate("el => getComputedStyle(el).borderLeftColor") != page.locator(
                "a.answer:not(.earlier)").first.evaluate("el => getComputedStyle(el).borderLeftColor")
            page.screenshot(path=str(artifacts / f"tree-change-{width}-{scheme}.png"), full_page=True)
        finally:
            context.close()


"""Every question and every cause page fits a 390 px phone: long commands and names in the
help text and the guides wrap instead of widening the page."""

from __future__ import annotations

from collections import deque
from urllib.parse import urlencode

import pytest

from troubleshooter.guides.content import get_library

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def a_walk_to_every_question() -> dict[str, str]:
    """question id -> a query string that reaches it, found breadth first from the start."""
    tree = get_library().tree
    walks = {tree.start: ""}
    seen = {(tree.start, "")}
    queue: deque[tuple[str, dict[str, str], str]] = deque([(tree.start, {}, "")])
    while queue:
        question_id, answers, framework = queue.popleft()
        for answer in tree.questions[question_id].answers:
            chosen = answer.id if question_id == "framework" else framework
            following = answer.next_for(chosen)
            # A question can lie behind one framework's answer only, so each (question,
            # framework) pair is explored once.
            if following in tree.questions and (following, chosen) not in seen:
                seen.add((following, chosen))
                given = {**answers, question_id: answer.id}
                walks.setdefault(following, urlencode(given))
                queue.append((following, given, chosen))
    return walks


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_every_question_is_reached_by_some_walk():
    assert set(a_walk_to_every_question()) == set(get_library().tree.questions)


def test_every_question_fits_a_phone(live_app, browser):
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    try:
        wide = {}
        for question_id, query in a_walk_to_every_question().items():
            page.goto(f"{live_app}/troubleshoot/?{query}")
            assert page.locator("h2, h1").filter(has_text=get_library().tree.questions[question_id].text).count()
            if overflow(page) > 0:
                wide[question_id] = overflow(page)
        assert wide == {}
    finally:
        context.close()


def test_every_cause_page_and_the_platform_table_fit_a_phone(live_app, browser):
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    try:
        wide = {}
        for path in [*(f"/causes/{cause_id}/" for cause_id in get_library().causes), "/platforms/"]:
            page.goto(live_app + path)
            if overflow(page) > 0:
                wide[path] = overflow(page)
        assert wide == {}
    finally:
        context.close()
